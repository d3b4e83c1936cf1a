"""Where huggingtweets keeps its files: ``$HUGGINGTWEETS_HOME``, else ``~/.huggingtweets``.

Computed on each call (never at import time) so that tests and users can point it elsewhere.
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

_CACHE: ContextVar[Path | None] = ContextVar("huggingtweets_cache", default=None)


def home() -> Path:
    env = os.environ.get("HUGGINGTWEETS_HOME")
    return Path(env).expanduser() if env else Path.home() / ".huggingtweets"


def store_path() -> Path:
    return home() / "posts.sqlite"


def bots_dir() -> Path:
    return home() / "bots"


def datasets_dir() -> Path:
    return home() / "datasets"


def cache_dir() -> Path:
    """``$HUGGINGTWEETS_HOME/cache``, or the folder ``using_cache`` set for this thread or task."""
    return _CACHE.get() or home() / "cache"


@contextlib.contextmanager
def using_cache(folder: Path) -> Iterator[Path]:
    """Inside the block, in this thread or task only, ``cache_dir()`` is ``folder``: the web app gives
    each visitor's preparation a cache of its own, so that two visitors never write one avatar file."""
    token = _CACHE.set(folder)
    try:
        yield folder
    finally:
        _CACHE.reset(token)


def app_sessions_dir() -> Path:
    """The web app's folders, one per visitor (``app.sessions``); each holds its own ``bots/`` and
    ``datasets/``."""
    return home() / "app" / "sessions"


def free_name(path: Path) -> Path:
    """``path`` when nothing is there (or only an empty folder), else the first free ``path-2``,
    ``path-3``, ... beside it: what ``prepare`` and ``train`` write to instead of replacing a folder."""
    path = Path(path)
    n = 1
    candidate = path
    while candidate.exists() and not (candidate.is_dir() and not any(candidate.iterdir())):
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (links counted as links, never followed)."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
