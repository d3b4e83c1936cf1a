"""``list``, ``info`` and ``delete``: what is here, what one bot is, and removing what is not wanted."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .. import manage, paths
from ..manage import human_size
from .data import format_table

KIND_WORDS = ["bots", "datasets", "accounts", "bot", "dataset", "account"]


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _table(rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    """Rows as aligned columns, two spaces apart; columns in ``right`` are aligned right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
                             ).rstrip() for r in rows]


def _handles(handles: list[str]) -> str:
    return ", ".join(f"@{h}" for h in handles) or "?"


def _bot_lines(bots: list[manage.BotEntry]) -> list[str]:
    total = human_size(sum(b.bytes for b in bots))
    if not bots:
        return ["Bots: none yet (make one with `huggingtweets run SOURCE`)"]
    rows = []
    for b in bots:
        notes = ([] if b.trained else ["unfinished"]) + (["web app"] if b.web_app else []) + \
                ([f"published: {b.hub_repo}"] if b.hub_repo else [])
        rows.append([b.name, _handles(b.accounts), human_size(b.bytes), str(b.path)
                     + (f"  ({', '.join(notes)})" if notes else "")])
    return [f"Bots ({len(bots)}, {total}):"] + _table(rows, {2})


def _dataset_lines(datasets: list[manage.DatasetEntry]) -> list[str]:
    if not datasets:
        return ["Datasets: none yet (make one with `huggingtweets prepare SOURCE`)"]
    rows = [[d.name, _handles(d.accounts), f"{d.train_rows:,} training rows", f"{d.valid_posts:,} validation",
             human_size(d.bytes), str(d.path)] for d in datasets]
    return [f"Datasets ({len(datasets)}, {human_size(sum(d.bytes for d in datasets))}):"] + _table(rows, {2, 3, 4})


def _account_lines(accounts: list[manage.AccountEntry]) -> list[str]:
    if not accounts:
        return ["Stored accounts: none yet (fetch posts with `huggingtweets fetch SOURCE`)"]
    rows = [[a.spec, f"{a.posts:,} posts", human_size(a.bytes)] for a in accounts]
    return [f"Stored accounts ({len(accounts)}, {human_size(sum(a.bytes for a in accounts))}):"] + \
        _table(rows, {1, 2})


@click.command("list")
@click.argument("what", required=False, type=click.Choice(KIND_WORDS), metavar="[bots|datasets|accounts]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (sizes in bytes).")
def list_(what: str | None, as_json: bool) -> None:
    """List bots (web app's too), datasets and stored accounts, with their sizes on disk."""
    kinds = [manage.kind_of(what)] if what else list(manage.KINDS)
    found = {"bot": manage.list_bots, "dataset": manage.list_datasets, "account": manage.list_accounts}
    results = {k: found[k]() for k in kinds}
    if as_json:
        _echo_json({k + "s": [e.to_dict() for e in v] for k, v in results.items()})
        return
    lines = {"bot": _bot_lines, "dataset": _dataset_lines, "account": _account_lines}
    blocks = ["\n".join(lines[k](v)) for k, v in results.items()]
    click.echo("\n\n".join(blocks))


def _metrics_line(info: manage.BotInfo) -> str:
    m = info.metrics
    if m is None:
        return "none recorded"
    parts = []
    if m.eval_bits_per_char is not None:
        parts.append(f"validation {m.eval_bits_per_char:.4f} bits/char"
                     + (f" (loss {m.eval_loss:.4f})" if m.eval_loss is not None else ""))
    else:
        parts.append("no validation split")
    if m.steps is not None:
        parts.append(f"{m.steps:,} steps")
    if m.wall_seconds is not None:
        parts.append(f"{m.wall_seconds:.0f} s")
    return ", ".join(parts)


@click.command()
@click.argument("bot")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (all settings, sizes in bytes).")
def info(bot: str, as_json: bool) -> None:
    """Show a bot: its data, training settings, metrics, versions, where it is published, its size."""
    i = manage.bot_info(bot)
    if as_json:
        _echo_json(i.to_dict())
        return
    where = " (made in the web app)" if i.web_app else ""
    fields = [("Bot", i.name), ("Folder", f"{i.path}{where}, {human_size(i.bytes)}"),
              ("Sources", ", ".join(i.sources) or "not recorded")]
    click.echo("\n".join(f"{k + ':':<12}{v}" for k, v in fields))
    click.echo("\n" + format_table(i.accounts) + "\n")
    ref = i.name if paths.bots_dir() / i.name == i.path else i.path  # a name works only under bots/
    published = i.hub_url or f"not published (`huggingtweets publish {ref}`)"
    fields = [("Settings", i.settings or "not recorded"), ("Dataset", i.dataset or "not recorded"),
              ("Metrics", _metrics_line(i)),
              ("Evaluation", i.evaluation or f"none yet (`huggingtweets evaluate {ref}`)"),
              ("Versions", ", ".join(f"{k} {v}" for k, v in i.versions.items()) or "not recorded"),
              ("Published", published)]
    click.echo("\n".join(f"{k + ':':<12}{v}" for k, v in fields))
    if i.history:
        click.echo("\nHistory:\n" + "\n".join(f"  {_version_line(v)}" for v in i.history))
    for r in i.rollbacks:
        click.echo(f"Rolled back on {str(r.get('date'))[:10]}: v{r.get('discarded')} discarded, "
                   f"v{r.get('restored')} put back")


def _version_line(v: dict) -> str:
    """``v2  2025-01-02  +120 posts (100 replayed), 1.8020 bits/char on its 108 validation posts
    (previous 86: 1.7584 -> 1.7441; new 22: 2.5444 -> 2.2617)``: one version of ``history.json``. A
    version's own figure is over all of its validation posts, the new ones too, so it is not comparable
    with its parent's; the figures before and after on the same posts are."""
    date = str(v.get("date") or "")[:10]
    new = v.get("new_posts") if isinstance(v.get("new_posts"), dict) else None
    what = (f"+{sum(int(n or 0) for n in new.values())} posts ({v.get('replay_posts', 0)} replayed)"
            if new else "as trained")
    metrics = v.get("metrics") or {}
    bpc = metrics.get("eval_bits_per_char")
    forced = ", kept with --force" if v.get("forced") else ""
    n = (metrics.get("all_valid") or {}).get("posts")
    bits = f", {bpc:.4f} bits/char" + (f" on its {n} validation posts" if n else "") if isinstance(bpc, float) else ""
    pairs = []
    for key, label in (("old_valid", "previous"), ("new_valid", "new")):
        s = metrics.get(key) or {}
        if isinstance(s.get("before"), float) and isinstance(s.get("after"), float):
            pairs.append(f"{label} {s.get('posts')}: {s['before']:.4f} -> {s['after']:.4f}")
    return f"v{v.get('version')}  {date}  {what}{bits}{forced}" + (f" ({'; '.join(pairs)})" if pairs else "")


def _confirm(question: str, yes: bool) -> bool:
    """``yes``, or the answer typed (all on stderr and stdin: stdout keeps only the result)."""
    if yes:
        return True
    click.echo(f"{question} [y/N] ", nl=False, err=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


@click.command()
@click.argument("kind", type=click.Choice(KIND_WORDS), metavar="bot|dataset|account")
@click.argument("names", nargs=-1, required=True, metavar="NAME...")
@click.option("-y", "--yes", is_flag=True,
              help="Do not ask (for accounts: also delete the bots and datasets made from them, unless "
                   "--keep-built).")
@click.option("--keep-built", is_flag=True, help="Accounts: keep the bots and datasets made from their posts.")
@click.option("--json", "as_json", is_flag=True, help="Print what was deleted as JSON (sizes in bytes).")
def delete(kind: str, names: tuple[str, ...], yes: bool, keep_built: bool, as_json: bool) -> None:
    """Delete bots, datasets or stored accounts (NETWORK:HANDLE, e.g. x:jane), after asking.

    \b
    huggingtweets delete bot jane          the folder and its offline W&B runs
    huggingtweets delete dataset jane-2
    huggingtweets delete account x:jane    its posts, raw records, profile and fetch state;
                                           then offers to delete the bots and datasets made from them
    """
    from ..errors import ConfirmationNeededError

    plan = manage.plan_delete(kind, names)  # every name is checked before anything is asked
    if not yes and not sys.stdin.isatty():
        raise ConfirmationNeededError()
    click.echo("To delete:\n" + "\n".join(f"  {t.describe()}" for t in plan.items()), err=True)
    if not _confirm("Delete?", yes):
        click.echo("Nothing was deleted.", err=True)
        sys.exit(1)  # not click's Exit: under standalone_mode=False it would end with 0
    built = False
    if plan.built and not keep_built:
        click.echo("Made from these posts:\n" + "\n".join(f"  {t.describe()}" for t in plan.built + plan.built_runs),
                   err=True)
        built = _confirm("Delete these too?", yes)
    deleted = manage.execute(plan, built=built)
    freed = sum(t.bytes for t in deleted)
    if as_json:
        _echo_json({"deleted": [t.to_dict() for t in deleted], "bytes": freed})
        return
    for t in deleted:
        click.echo(f"Deleted {t.describe()}")
    click.echo(f"Freed about {human_size(freed)}.")


def register(group: click.Group) -> None:
    group.add_command(list_)
    group.add_command(info)
    group.add_command(delete)
