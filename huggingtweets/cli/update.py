"""``update``: a bot that keeps up with its account (``huggingtweets.update``)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..evaluation import TRAIN_POSTS


def _progress(as_json: bool):
    """Progress as lines on stderr: each stage, and training's steps (the first, every tenth of the run,
    the last)."""
    names = {"preparing": "Fetching and preparing the new posts...",
             "training": "Training from the bot's weights...",
             "measuring": "Scoring the previous and the new weights...", "evaluating": "Evaluating...",
             "card": "Writing the card...", "saving": "Saving the new version...",
             "publishing": "Publishing..."}

    def on_progress(record: dict[str, Any]) -> None:
        stage = record.get("stage")
        if stage == "prepared":
            ds = record["dataset"]
            kept = sum(u.kept for u in ds.stats.users)
            click.echo(f"Prepared the posts: {kept:,} kept", err=True)
        elif stage in names:
            click.echo(names[stage], err=True)
        elif "loss" in record and "step" in record:
            step, total = int(record["step"]), int(record.get("total_steps") or 0)
            every = max(1, total // 10)
            if step == 1 or step == total or step % every == 0:
                click.echo(f"  step {step}/{total}, loss {record['loss']:.4f}", err=True)
        elif "eval_loss" in record:
            bpc = record.get("eval_bits_per_char")
            click.echo(f"  validation {bpc:.4f} bits/char" if isinstance(bpc, float) else "  validation done",
                       err=True)
        sys.stderr.flush()

    return on_progress


def _result_dict(result) -> dict[str, Any]:
    return {"bot": result.folder.name, "folder": str(result.folder), "changed": result.changed,
            "version": result.version, "previous": result.previous, "new_train": result.new_train,
            "new_valid": result.new_valid, "replay": result.replay,
            "dataset": str(result.dataset) if result.dataset else None, "scores": result.scores,
            "tolerance": result.tolerance, "forced": result.forced, "reason": result.reason,
            "published": result.published}


def _one(bot: str, sources: tuple[str, ...], kw: dict[str, Any], as_json: bool,
         results: list[dict[str, Any]] | None = None) -> int:
    """Update one bot; print its outcome (with ``results``, add it there instead, as JSON for ``--all``).
    Returns the exit code: 0 updated or nothing new, 1 refused."""
    from ..update import update_bot

    result = update_bot(bot, list(sources) or None, on_progress=_progress(as_json), **kw)
    if results is not None:
        results.append(_result_dict(result))
    elif as_json:
        click.echo(json.dumps(_result_dict(result), indent=2))
    elif result.changed:
        click.echo(f"Updated: {result.summary()}")
        if result.published:
            click.echo(f"Published version {result.version} to {result.published}")
    else:
        click.echo(f"Not updated: {result.summary().split(': not updated, ', 1)[-1]}")
    return 1 if not result.changed and result.new_train else 0


def _all(kw: dict[str, Any], as_json: bool) -> int:
    """Every bot whose sources are all live; a failure is one line and the others go on."""
    from ..errors import HuggingTweetsError
    from ..update import live_bots

    bots = live_bots()
    results: list[dict[str, Any]] | None = [] if as_json else None
    if not bots:
        click.echo("No bot with only live sources (x:, mastodon:, bsky:) to update.", err=True)
    failed = 0
    for path, _specs in bots:
        click.echo(f"== {path.name}", err=True)
        try:
            failed += _one(str(path), (), kw, as_json, results)
        except HuggingTweetsError as e:
            named = str(e).startswith(path.name)  # most messages start with the bot's name
            click.echo(f"Error: {'' if named else path.name + ': '}{e}", err=True)
            if results is not None:
                results.append({"bot": path.name, "folder": str(path), "changed": False, "error": str(e)})
            failed += 1
    if failed:
        click.echo(f"{failed} of {len(bots)} bots not updated.", err=True)
    if results is not None:  # one JSON document: every bot's outcome, a failure with its "error"
        click.echo(json.dumps({"bots": results, "failed": failed}, indent=2))
    return 1 if failed else 0


@click.command()
@click.argument("bot", required=False)
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--force", is_flag=True, help="Keep the new version even if it is worse on the previous "
                                            "validation posts.")
@click.option("--tolerance", type=float, default=None, show_default=False,
              help="The most the previous validation posts' bits/char may rise, relative [default: 0.01, "
                   "i.e. 1%].")
@click.option("--rollback", "do_rollback", is_flag=True, help="Put back the previous version, byte for byte.")
@click.option("--allow-other-account", is_flag=True, help="Accept a SOURCE of another account than the bot's: it "
              "replaces the source of a one-account bot, and is added to a bot of several accounts.")
@click.option("--publish", "publish", default=None, is_flag=False, flag_value="", metavar="[REPO]",
              help="Push the new version to the Hub as one commit: to REPO (NAMESPACE/NAME), or alone, to the "
                   "repository the bot was published to.")
@click.option("--all", "all_bots", is_flag=True, help="Update every bot in the home whose sources are all live "
                                                      "(x:, mastodon:, bsky:).")
@click.option("--tracker", type=click.Choice(["auto", "wandb", "none"]), default="auto", show_default=True,
              help="Track the update's training run with Weights & Biases.")
@click.option("--eval-posts", type=click.IntRange(0, 1000), default=TRAIN_POSTS, show_default=True,
              help="Measure the new version on this many generated posts, as `train` does (0: no evaluation).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON (with --all: one document, "
                                                      "{\"bots\": [...], \"failed\": N}).")
def update(bot: str | None, sources: tuple[str, ...], force: bool, tolerance: float | None, do_rollback: bool,
           allow_other_account: bool, publish: str | None, all_bots: bool, tracker: str, eval_posts: int,
           as_json: bool) -> None:
    """Update a bot with its account's new posts, keeping the new version only if it is not worse.

    BOT is a bot's name or folder; SOURCE replaces the recorded source of the same account, e.g. a
    newer archive; without one, the bot's recorded sources are read again (live ones fetch only what
    is new).

    \b
    huggingtweets update jane archive:twitter-2025.zip

    Training continues from the bot's weights on the new posts plus as many older ones (at least 100),
    with the bot's own recipe at half its learning rate and the lowest two-thirds of the blocks fixed;
    the split is stable, so old validation posts stay held out. The new version
    is kept only if the previous validation posts' bits/char rose by at most --tolerance; the previous
    one is kept under the bot's versions/ folder (`--rollback` puts it back) and history.json records
    every version. An update interrupted at any point leaves the previous version whole.

    \b
    For a cron job: huggingtweets update --all
    """
    from ..errors import UsageError
    from ..update import DEFAULT_TOLERANCE, rollback

    if all_bots and (bot or do_rollback):
        raise UsageError("--all updates every bot with live sources: pass it without BOT, SOURCE or --rollback")
    if not all_bots and not bot:
        raise UsageError("pass the bot to update (its name or folder), or --all")
    if do_rollback:
        if sources or force or publish is not None:
            raise UsageError("--rollback takes only BOT")
        done = rollback(bot)
        click.echo(f"Rolled {done.folder.name} back to version {done.version} (version {done.discarded} "
                   f"discarded)")
        return
    kw = {"force": force, "tolerance": DEFAULT_TOLERANCE if tolerance is None else tolerance,
          "allow_other_account": allow_other_account, "tracker": tracker, "eval_posts": eval_posts or None,
          "publish": (publish or True) if publish is not None else None}
    code = _all(kw, as_json) if all_bots else _one(bot, sources, kw, as_json)
    if code:
        raise click.exceptions.Exit(code)


def register(group: click.Group) -> None:
    group.add_command(update)
