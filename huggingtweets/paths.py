"""Where huggingtweets keeps its files: ``$HUGGINGTWEETS_HOME``, else ``~/.huggingtweets``.

Computed on each call (never at import time) so that tests and users can point it elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path


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
    return home() / "cache"


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
