"""``fetch`` and ``prepare``: from sources to the store, and from the store to a dataset folder."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import click

from ..api import DataWarning, prepare as api_prepare, fetch as api_fetch
from ..dataset.build import SplitSettings
from ..dataset.clean import CleanOptions
from ..dataset.counts import counts_table
from ..dataset.folder import AccountStats
from ..sources import SourceOptions


def progress_factory(quiet: bool = False) -> Callable[[str], Any] | None:
    """tqdm bars on stderr, one per account, counting posts as pages arrive."""
    if quiet:
        return None
    from tqdm import tqdm

    return lambda desc: tqdm(desc=desc, unit=" posts", file=sys.stderr, leave=False,
                             disable=None, dynamic_ncols=True)


def source_options(f: Callable) -> Callable:
    """Options that say how to read the sources (shared by fetch, prepare, train and run)."""
    opts = [
        click.option("--handle", help="Whose posts these are, for a file that does not say."),
        click.option("--text-column", help="Column or key holding the text in a CSV/JSON file."),
        click.option("--no-fetch-retweets", is_flag=True,
                     help="Live sources: ask the service to leave retweets out (saves a paid quota; "
                          "then the counts cannot say how many there were)."),
        click.option("--skip-content-warnings", is_flag=True,
                     help="Mastodon: drop posts behind a content warning."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bars."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def build_source_options(kw: dict) -> SourceOptions:
    return SourceOptions(handle=kw.pop("handle"), text_column=kw.pop("text_column"),
                         fetch_retweets=not kw.pop("no_fetch_retweets"),
                         content_warnings=not kw.pop("skip_content_warnings"))


def dataset_options(f: Callable) -> Callable:
    """Cleaning and split options (shared by prepare, train and run)."""
    opts = [
        click.option("--no-replies", is_flag=True, help="Drop replies to other accounts."),
        click.option("--mentions", type=click.Choice(["keep", "strip", "placeholder"]),
                     default="keep", show_default=True,
                     help="What to do with @mentions (placeholder writes @user)."),
        click.option("--keep-newlines", is_flag=True,
                     help="Keep line breaks inside posts (the original made them spaces)."),
        click.option("--min-words", type=click.IntRange(0), default=3, show_default=True,
                     help="Drop posts with fewer words that contain none of http, @, #."),
        click.option("--keep-duplicates", is_flag=True, help="Keep exact duplicate posts."),
        click.option("--valid-fraction", type=click.FloatRange(0, 0.5), default=0.1,
                     show_default=True, help="Share of posts held out for validation."),
        click.option("--seed", type=int, default=42, show_default=True,
                     help="Seed of the train/validation split."),
        click.option("--no-balance", is_flag=True,
                     help="With several accounts, do not repeat the smaller ones' posts."),
        click.option("--min-chars", type=click.IntRange(0), default=None,
                     help="Minimum characters of kept text per account [default: 6000]."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def build_dataset_options(kw: dict) -> tuple[CleanOptions, SplitSettings, int | None]:
    clean = CleanOptions(replies=not kw.pop("no_replies"), mentions=kw.pop("mentions"),
                         newlines=kw.pop("keep_newlines"), min_words=kw.pop("min_words"),
                         dedupe=not kw.pop("keep_duplicates"))
    split = SplitSettings(valid_fraction=kw.pop("valid_fraction"), seed=kw.pop("seed"),
                          balance=not kw.pop("no_balance"))
    return clean, split, kw.pop("min_chars")


def renamed(kept: Path, written: Path) -> str:
    """What ``prepare``, ``train`` and ``run`` say when the default folder is taken."""
    return f"{kept} exists: writing {written} (pass --overwrite to replace it)"


def format_table(users: list[AccountStats]) -> str:
    """The seed card's table: one column per account, the rows of ``dataset.counts``."""
    header = ["Data"] + [f"@{u.handle}" for u in users]
    body = [[label] + ["unknown" if v is None else f"{v:,}" for v in values]
            for label, _, values in counts_table(users)]
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body])


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@source_options
def fetch(sources: tuple[str, ...], quiet: bool, **kw: Any) -> None:
    """Download posts into the local store; print how many were new per account."""
    results = api_fetch(sources, build_source_options(kw), progress=progress_factory(quiet))
    for r in results:
        click.echo(f"@{r.profile.handle} ({r.network}): {r.new:,} new, {r.total:,} stored")
        for note in r.profile.extra.get("notes", []):
            click.echo(f"Note: {note}", err=True)


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("-o", "--output", type=click.Path(file_okay=False),
              help="Dataset folder [default: ~/.huggingtweets/datasets/BOT_NAME, or BOT_NAME-2, ... when "
                   "taken].")
@click.option("--overwrite", is_flag=True, help="Replace the dataset already in the folder.")
@source_options
@dataset_options
def prepare(sources: tuple[str, ...], output: str | None, overwrite: bool, quiet: bool, **kw: Any) -> None:
    """Fetch, clean and write a dataset folder (train.jsonl, valid.jsonl, stats.json)."""
    opts = build_source_options(kw)
    clean, split, min_chars = build_dataset_options(kw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        ds = api_prepare(sources, output, clean=clean, split=split, source_options=opts,
                         min_chars=min_chars, progress=progress_factory(quiet), overwrite=overwrite)
    if ds.instead_of is not None:
        click.echo(renamed(ds.instead_of, ds.path), err=True)
    for w in caught:
        click.echo(f"Warning: {w.message}", err=True)
    for u in ds.stats.users:
        for note in u.notes:
            click.echo(f"Note: {note}", err=True)
    click.echo(format_table(ds.stats.users))
    n_train = sum(u.train_rows for u in ds.stats.users)
    n_valid = sum(u.valid_posts for u in ds.stats.users)
    click.echo(f"\nDataset {ds.name}: {n_train:,} training rows, {n_valid:,} validation posts, {ds.hash[:19]}")
    click.echo(f"Already in {ds.path} (the same posts, nothing written)" if ds.reused else f"Written to {ds.path}")


def register(group: click.Group) -> None:
    group.add_command(fetch)
    group.add_command(prepare)
