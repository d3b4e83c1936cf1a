"""``evaluate``: measure a bot (validation bits per character, and posts it writes against real ones).

torch and transformers are imported inside the command, so ``--help`` stays fast.
"""

from __future__ import annotations

import json
import sys
import click

from ..evaluation import DEFAULT_POSTS, DEFAULT_SEED, Evaluation, ProgressFactory


def progress_bars(quiet: bool = False) -> ProgressFactory | None:
    """tqdm bars on stderr (only on a terminal), one per stage: scoring, then generating."""
    if quiet:
        return None
    from tqdm import tqdm

    return lambda desc, total: tqdm(desc=desc, total=total, unit=" posts", file=sys.stderr, leave=False,
                                    disable=None, dynamic_ncols=True)


def _share(count: int | None, total: int) -> str:
    if count is None or not total:
        return "n/a"
    return f"{count} ({count / total:.0%})"


def _num(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def _words(v: float | None) -> str:
    return "n/a" if v is None else f"{v:g}"


def _columns(rows: list[list[str]]) -> list[str]:
    """Rows of cells as aligned text: the first column left, the others right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in rows]


def format_evaluation(ev: Evaluation) -> str:
    """The readable table that ``huggingtweets evaluate`` prints."""
    lines = [f"Evaluation of the bot {ev.bot}", f"Model:   {ev.model}"]
    trained = {True: " (the dataset it was trained on)",
               False: " (not the dataset it was trained on: it may have trained on these validation posts)",
               None: ""}[ev.trained_on_dataset]
    lines += [f"Dataset: {ev.dataset}{trained}", ""]

    if ev.validation is None:
        lines += ["Validation: the dataset has no validation posts (prepare it with --valid-fraction above 0)"]
    else:
        rows = [[f"Validation ({ev.validation.posts} held-out posts)", "bits/char", "loss/token"],
                ["  all accounts" if len(ev.accounts) > 1 else "  all posts",
                 _num(ev.validation.bits_per_char, 4), _num(ev.validation.loss, 4)]]
        if len(ev.accounts) > 1:
            for a in ev.accounts:
                s = a.validation
                rows.append([f"  @{a.handle} ({s.posts if s else 0} posts)", _num(s.bits_per_char if s else None, 4),
                             _num(s.loss if s else None, 4)])
        lines += _columns(rows)
        lines.append("  (bits per character of the account's posts held out from training: lower is better)")

    if ev.generated is not None:
        g, r = ev.generated, ev.real
        prompt = f"prompt {ev.prompt!r}" if ev.prompt else "empty prompt"
        seed = f", seed {ev.seed}" if ev.seed is not None else ""
        real = r.posts if r else 0
        rows = [
            [f"Generated posts ({ev.n}, {prompt}{seed})", "bot", f"real posts ({real})"],
            ["  copies of a training post", _share(ev.copies, ev.n), "-"],
            ["  distinct-1 (distinct words / words)", _num(g.distinct_1), _num(r.distinct_1 if r else None)],
            ["  distinct-2 (distinct word pairs / pairs)", _num(g.distinct_2), _num(r.distinct_2 if r else None)],
            ["  exact repeats of another post", _share(g.repeats, g.posts), _share(r.repeats, r.posts) if r else "n/a"],
            ["  median words per post", _words(ev.median_words), _words(ev.real_median_words)],
            ["  degenerate posts", _share(g.degenerate_posts, g.posts),
             _share(r.degenerate_posts, r.posts) if r else "n/a"],
        ]
        lines += [""] + _columns(rows)
        reasons = ", ".join(f"{n} {k}" for k, n in g.degenerate.items() if n)
        if reasons:
            lines.append(f"  degenerate: {reasons}")
        index = "the model folder's copy index" if ev.copy_index == "model folder" else "the dataset's posts"
        lines.append(f"  (real posts: {real} drawn from the dataset; median words over all {ev.real_posts})")
        lines.append(f"  (copies checked against {index})")
    return "\n".join(lines)


@click.command()
@click.argument("bot", metavar="BOT")
@click.option("--dataset", type=click.Path(file_okay=False),
              help="Dataset folder to measure on [default: the one the bot was trained on].")
@click.option("-n", "count", type=click.IntRange(0, 1000), default=DEFAULT_POSTS, show_default=True,
              help="Posts to generate (0: validation only).")
@click.option("--prompt", default="", help="What every generated post starts with [default: empty].")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True,
              help="Seed of the generated posts and of the real posts drawn beside them.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with the generated posts).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def evaluate(bot: str, dataset: str | None, count: int, prompt: str, seed: int, as_json: bool,
             quiet: bool) -> None:
    """Measure a bot: validation bits/char, and copies, variety, length of the posts it writes."""
    from ..evaluation import evaluate as run_evaluation

    ev = run_evaluation(bot, dataset, count, prompt=prompt, seed=seed, progress=progress_bars(quiet))
    if as_json:
        click.echo(json.dumps(ev.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_evaluation(ev))


def register(group: click.Group) -> None:
    group.add_command(evaluate)
