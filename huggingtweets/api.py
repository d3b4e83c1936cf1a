"""The small Python API that the CLI wraps: fetch posts into the store, prepare a dataset folder.

    import huggingtweets as ht
    ht.fetch(["archive:twitter-archive.zip"])
    ds = ht.prepare(["archive:twitter-archive.zip"], "data/jane")
    print(ds.stats.users[0].kept)
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from . import paths
from .dataset.build import MIN_CHARS, WARN_CHARS, AccountData, SplitSettings, write_dataset
from .dataset.folder import DatasetFolder
from .dataset.clean import CleanOptions, clean_posts
from .bot_folder import TRACKING_FILE
from .errors import (DatasetError, FolderExistsError, HomeWarning, HuggingTweetsError, NotEnoughDataError,
                     StoreWriteError, UsageError)
from .sources import SourceOptions, absolute_spec, bot_name, check_handle, open_source
from .sources.base import Post, Profile, gc_paused
from .store import Store


class DataWarning(UserWarning):
    """Enough data to train, but less than the original recommended."""


@dataclass
class FetchResult:
    spec: str
    network: str
    account: str
    profile: Profile
    new: int
    total: int


Dataset = DatasetFolder
"""A prepared dataset folder (``path``, typed ``stats``, ``warnings``); see ``dataset.folder``."""


def account_key(profile: Profile) -> str:
    """The store's account key: the network's stable id when known, else the handle."""
    return (profile.account_id or profile.handle).lower()


ProgressFactory = Callable[[str], Any]  # desc -> object with update(n) and close()


def fetch(specs: Iterable[str], options: SourceOptions | None = None, store: Store | None = None,
          progress: ProgressFactory | None = None, *, stored_ok: bool = False) -> list[FetchResult]:
    """Fetch each source's posts into the store, page by page; return per source how many were new.

    Args:
        specs: sources as the user types them (``"archive:x.zip"``, ``"file:posts.csv"``).
        options: source settings (``handle`` for files that do not say whose posts they are).
        store: the store to write to (default: the user's, under ``$HUGGINGTWEETS_HOME``).
        progress: optional factory of progress bars (the CLI passes tqdm).
        stored_ok: when the store cannot be written (``Store.read_only``: a read-only home), return
            the posts already stored, with a ``HomeWarning``, instead of failing (``prepare`` does).
    Raises:
        StoreWriteError: the store cannot be written (and ``stored_ok`` is off, or nothing is stored).
        HuggingTweetsError subclasses with a message that says what to do.
    """
    options = options or SourceOptions()
    sources = [open_source(spec, options) for spec in specs]  # check every spec before fetching
    with gc_paused():
        return _fetch(sources, store, progress, stored_ok)


def _fetch(sources: list, store: Store | None, progress: ProgressFactory | None,
           stored_ok: bool) -> list[FetchResult]:
    own = store is None
    store = store or Store()
    results = []
    try:
        if store.read_only and not stored_ok:
            raise StoreWriteError(str(store.path), "its folder cannot be written (read-only)", page=False)
        for src in sources:
            profile = src.profile()
            profile.handle = check_handle(profile.handle)
            key = account_key(profile)
            if not profile.account_id:
                # A source without the account's stable id (a bare tweets.js, a file) joins the one
                # account stored under an id with this handle, instead of making a second one.
                known = [k for k in store.accounts_with_handle(src.network, profile.handle) if k != key]
                if len(known) == 1:
                    key = known[0]
            if store.read_only:
                results.append(_stored_only(store, src, key, profile))
                continue
            state = store.fetch_state(src.network, key)
            bar = progress(f"@{profile.handle}") if progress else None
            new, saved_profile = 0, False
            try:
                for page in src.pages(state):
                    # The profile goes with the first page, in its transaction: once the source has shown
                    # it can be read, and never as an account row without posts if that page fails.
                    new += store.save_page(src.network, key, page, state,
                                           profile=None if saved_profile else profile)
                    saved_profile = True
                    if bar is not None:
                        bar.update(len(page))
            finally:
                if bar is not None:
                    bar.close()
            if not saved_profile:
                store.save_profile(src.network, key, profile)
            results.append(FetchResult(src.spec, src.network, key, profile, new,
                                       store.count(src.network, key)))
    finally:
        if own:
            store.close()
    return results


def _stored_only(store: Store, src, key: str, profile: Profile) -> FetchResult:
    """On a store that cannot be written (``Store.read_only``): the account's posts already stored, with a
    ``HomeWarning`` that the source's new posts were not imported, or ``StoreWriteError`` when none are."""
    stored = store.count(src.network, key)
    if not stored:
        raise StoreWriteError(str(store.path), f"its folder cannot be written, and it holds no posts of "
                                               f"@{profile.handle} to prepare from {src.spec}", page=False)
    warnings.warn(f"the post store {store.path} cannot be written (read-only): using the {stored:,} posts of "
                  f"@{profile.handle} already stored; posts of {src.spec} not stored yet are left out",
                  HomeWarning, stacklevel=4)
    return FetchResult(src.spec, src.network, key, store.profile(src.network, key) or profile, 0, stored)


def drop_superseded(posts: list[Post]) -> list[Post]:
    """Keep only the newest stored version of each edited post."""
    if not any(p.versions for p in posts):
        return posts
    present = {p.id for p in posts}
    older: set[str] = set()
    for p in posts:
        stored = [i for i in p.versions if i in present]
        if len(stored) > 1:
            newest = max(stored, key=lambda i: (len(i), i))  # X ids grow with time
            older.update(i for i in stored if i != newest)
    return [p for p in posts if p.id not in older] if older else posts


def _clean_account(store: Store, r: FetchResult, clean: CleanOptions) -> AccountData:
    posts = drop_superseded(list(store.posts(r.network, r.account, raw=False)))
    cleaned = clean_posts(posts, clean, r.network)
    return AccountData(r.profile.handle, r.profile.name, r.network, r.spec, cleaned.texts,
                       cleaned.counts.to_dict(), r.profile.to_dict(), r.account,
                       # "replies" is a count only when replies are dropped (--no-replies)
                       [k for k in r.profile.unknown if k != "replies" or not clean.replies])


def prepare(specs: Iterable[str], out: str | Path | None = None, *,
            clean: CleanOptions | None = None, split: SplitSettings | None = None,
            source_options: SourceOptions | None = None, min_chars: int | None = None,
            store: Store | None = None, progress: ProgressFactory | None = None,
            overwrite: bool = False) -> Dataset:
    """Fetch (if needed), clean and write a dataset folder; return it with its stats.

    Args:
        specs: one source per account; several accounts make a "cyborg".
        out: the dataset folder (default: ``$HUGGINGTWEETS_HOME/datasets/<bot name>``, or when that is
            taken and ``overwrite`` is off, the first free ``<bot name>-2``, ``-3``, ...: the returned
            folder's ``instead_of`` then names the one kept).
        overwrite: replace the dataset already in ``out`` (or in the default folder).
        clean: cleaning options (default: the original's rules).
        split: validation share, seed and balancing.
        min_chars: the minimum of kept text per account (default 6,000, the original's).
    Raises:
        NotEnoughDataError: an account has too little text; nothing is written.
        FolderExistsError: ``out`` holds a dataset and ``overwrite`` is off (checked before fetching).
    Warns:
        DataWarning: an account has under 40,000 characters (the original's advice).
    """
    specs = list(specs)
    if not specs:
        raise UsageError("no source given: pass at least one, e.g. archive:twitter-archive.zip")
    if out:
        check_dataset_output(Path(out), overwrite)
    clean = clean or CleanOptions()
    split = split or SplitSettings()
    minimum = MIN_CHARS if min_chars is None else min_chars
    own = store is None
    store = store or Store()
    try:
        fetched = fetch(specs, source_options, store, progress, stored_ok=True)
        with gc_paused():
            accounts = [_clean_account(store, r, clean) for r in fetched]
    finally:
        if own:
            store.close()


    # One account is one (network, stable id): handles change, and two accounts can show one name.
    ids = [(a.network, a.account) for a in accounts]
    if len(set(ids)) != len(ids):
        twice = next(a for a in accounts if ids.count((a.network, a.account)) > 1)
        raise UsageError(f"@{twice.handle} ({twice.network}) is given twice; list each account once")
    notes = []
    for acc in accounts:
        if not clean.replies and "replies" in acc.unknown and not acc.counts.get("replies"):
            msg = (f"@{acc.handle}: {acc.source} does not say which posts are replies, so --no-replies "
                   f"could not drop any; the replies count is unknown")
            notes.append(msg)
            warnings.warn(msg, DataWarning, stacklevel=2)
        if acc.chars < minimum or not acc.texts:  # an empty dataset is an error at any minimum
            raise NotEnoughDataError(acc.handle, acc.chars, minimum, acc.counts)
        if acc.chars < WARN_CHARS:
            more = "more posts, or keep replies" if acc.counts.get("replies") else "more posts"
            msg = (f"@{acc.handle}: {acc.chars:,} characters of text after cleaning; the bot will be "
                   f"better with at least {WARN_CHARS:,} ({more})")
            notes.append(msg)
            warnings.warn(msg, DataWarning, stacklevel=2)

    default = paths.datasets_dir() / bot_name([a.handle for a in accounts])
    instead_of = None
    if not out:
        out = default if overwrite else paths.free_name(default)
        instead_of = default if out != default else None
    out = Path(out)
    if overwrite:
        check_dataset_output(out, overwrite)
        # The old dataset's preprocess run is not this one's: the train run must not carry it.
        (out / TRACKING_FILE).unlink(missing_ok=True)
    settings = {"clean": clean.to_dict(), "min_chars": minimum, "sources": [absolute_spec(s) for s in specs]}
    stats = write_dataset(out, accounts, settings, split)
    if instead_of is not None and _same_content(instead_of, stats.hash):
        # The same posts, split the same way (`run SOURCE --resume`, or prepare run twice): nothing
        # would be replaced, so the folder already there is the dataset, and no copy is left behind.
        shutil.rmtree(out)
        return Dataset(instead_of, DatasetFolder.open(instead_of).stats, notes, reused=True)
    return Dataset(out, stats, notes, instead_of)


def _same_content(folder: Path, content_hash: str) -> bool:
    try:
        return DatasetFolder.open(folder).hash == content_hash
    except HuggingTweetsError:
        return False


def check_dataset_output(out: Path, overwrite: bool) -> None:
    """A dataset folder to write is new, empty, or (with ``overwrite``) a dataset folder.

    Raises:
        FolderExistsError: it holds a dataset and ``overwrite`` is off.
        UsageError: it holds something else (never replaced, even with ``overwrite``).
    """
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        DatasetFolder.open(out)
    except DatasetError:
        raise UsageError(f"{out} exists and is not a dataset folder written by huggingtweets; pass a new or "
                         f"empty folder with -o") from None
    if not overwrite:
        raise FolderExistsError(str(out), "dataset")
