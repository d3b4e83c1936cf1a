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
