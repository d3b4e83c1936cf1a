"""The dataset folder's contract: ``train.jsonl``, ``valid.jsonl`` and ``stats.json``, typed.

``prepare`` writes the folder (``dataset.build.write_dataset``); training, evaluation, tracking, the card,
the CLI and the web app read it through ``DatasetFolder.open`` and the typed ``DatasetStats`` instead of
reading ``stats.json`` by hand. The JSON keeps the flat layout it has always had (``users[].kept``), so
folders written by earlier versions open unchanged:

    ds = DatasetFolder.open("datasets/jane")
    print(ds.stats.bot, [u.kept for u in ds.stats.users])
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from ..errors import DatasetError
from .clean import Counts
from ..sources import bare_path_error, suggest_spec

TRAIN_FILE = "train.jsonl"
VALID_FILE = "valid.jsonl"
STATS_FILE = "stats.json"
FORMAT_VERSION = 1

COUNT_KEYS = tuple(f.name for f in fields(Counts))
"""The per-account counts (``dataset.clean.Counts``): downloaded = the sum of the other five."""


@dataclass
class AccountStats:
    """One account of a dataset, as ``stats.json``'s ``users[]`` holds it."""

    handle: str
    name: str = ""
    network: str = ""
    account: str = ""
    """The store's key of the account (with ``network``); empty for datasets not built from the store."""
    source: str = ""
    """The source as the user typed it (``archive:x.zip``)."""
    downloaded: int = 0
    retweets: int = 0
    replies: int = 0
    short: int = 0
    duplicates: int = 0
    too_long: int = 0
    """Texts longer than any post (``dataset.clean.Counts.too_long``), left out."""
    kept: int = 0
    kept_chars: int = 0
    """Characters of kept text joined by the end-of-text token (the original's measure of "enough")."""
    train_posts: int = 0
    valid_posts: int = 0
    train_rows: int = 0
    """Training rows including the balancing repeats of a multi-account dataset."""
    avatar_url: str | None = None
    avatar_path: str | None = None
    url: str | None = None
    notes: list[str] = field(default_factory=list)
    retweets_excluded: bool = False
    """The service left retweets out: their count is unknown."""
    unknown: list[str] = field(default_factory=list)
    """Counts the source carries no sign of (``replies``, ``retweets``): shown as "unknown", not 0."""

    @property
    def initial(self) -> str:
        """The letter shown in place of a missing avatar."""
        for ch in (self.name or "") + self.handle:
            if ch.isalnum():
                return ch.upper()
        return "?"

    def count(self, key: str) -> int | None:
        """A count by its ``stats.json`` key; ``None`` when the source could not tell it."""
        value = int(getattr(self, key) or 0)
        return None if key in self.unknown and not value else value

    @property
    def counts(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in COUNT_KEYS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AccountStats":
        """From one ``users[]`` object; unknown keys are ignored, wrong types raise ``TypeError``."""
        known = {f.name: f for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known and v is not None}
        if not isinstance(kw.get("handle"), str) or not kw["handle"]:
            raise TypeError("an account without a handle")
        for k in COUNT_KEYS + ("kept_chars", "train_posts", "valid_posts", "train_rows"):
            if k in kw and (not isinstance(kw[k], int) or isinstance(kw[k], bool)):
                raise TypeError(f"{k} is not a count")
        for k in ("name", "network", "account", "source", "avatar_url", "avatar_path", "url"):
            if k in kw and not isinstance(kw[k], str):
                kw[k] = str(kw[k])
        kw["notes"] = [str(n) for n in kw.get("notes") or ()]
        kw["unknown"] = [str(n) for n in kw.get("unknown") or ()]
        acc = cls(**kw)
        acc.name = acc.name or acc.handle
        return acc

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("notes", "unknown"):  # written only when there is something to say
            if not d[k]:
                d.pop(k)
        if not d["retweets_excluded"]:
            d.pop("retweets_excluded")
        return d


@dataclass
class DatasetStats:
    """``stats.json``: the accounts, their counts, the settings and the content hash."""

    bot: str
    """The bot's name: the accounts' handles, lower case, sorted, joined by ``-``."""
    users: list[AccountStats]
    hash: str = ""
    """``sha256:`` of the two JSONL files: a bot records it, and evaluation checks it."""
    settings: dict[str, Any] = field(default_factory=dict)
    """What ``prepare`` was asked: ``clean`` options, ``min_chars``, ``sources``, the split's settings."""
    created_at: str = ""
    format: int = FORMAT_VERSION

    @classmethod
    def from_dict(cls, d: Any) -> "DatasetStats":
        """Raises ``TypeError``/``KeyError`` on a malformed object (``read`` turns them into errors)."""
        users = d["users"]
        if not isinstance(users, list) or not users:
            raise TypeError("no accounts")
        accounts = [AccountStats.from_dict(u) for u in users]
        settings = d.get("settings")
        return cls(bot=str(d.get("bot") or "-".join(sorted(a.handle.lower() for a in accounts))),
                   users=accounts, hash=str(d.get("hash") or ""),
                   settings=settings if isinstance(settings, dict) else {},
                   created_at=str(d.get("created_at") or ""), format=int(d.get("format") or FORMAT_VERSION))

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "hash": self.hash, "bot": self.bot,
                "users": [u.to_dict() for u in self.users], "settings": self.settings,
                "created_at": self.created_at}

    @classmethod
    def read(cls, path: str | Path) -> "DatasetStats":
        """A ``stats.json`` file (a dataset's, or the copy in a bot's folder).

        Raises:
            DatasetError: missing, not JSON, or without accounts; the message says how to recreate it.
        """
        path = Path(path)
        try:
            return cls.from_dict(orjson.loads(path.read_bytes()))
        except FileNotFoundError:
            raise DatasetError(f"{path}: no such file; recreate the folder with `huggingtweets prepare`") from None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, OSError):
            raise DatasetError(f"{path} is malformed; recreate the folder with `huggingtweets prepare`") from None

    def write(self, path: str | Path) -> None:
        """Write atomically (a temporary file, then a rename): a reader never sees half a file."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        os.replace(tmp, path)


@dataclass
class DatasetFolder:
    """A prepared dataset folder: its path, its typed ``stats`` and the notes ``prepare`` gave."""

    path: Path
    stats: DatasetStats
    warnings: list[str] = field(default_factory=list)
    instead_of: Path | None = None
    """The default folder ``prepare`` found taken, when it wrote to a new name (``jane-2``) instead."""
    reused: bool = False
    """``prepare`` found the same posts, split the same way, already in the folder, and wrote nothing."""

    @property
    def hash(self) -> str:
        return self.stats.hash

    @property
    def name(self) -> str:
        """The bot's name (``stats.bot``)."""
        return self.stats.bot

    @property
    def train_file(self) -> Path:
        return self.path / TRAIN_FILE

    @property
    def valid_file(self) -> Path:
        return self.path / VALID_FILE

    def rows(self, split: str = "train") -> list[dict[str, Any]]:
        """The rows of ``train`` or ``valid``: ``{"text", "handle", "id"}`` (``"copy": k`` on repeats)."""
        return read_jsonl(self.path / (TRAIN_FILE if split == "train" else VALID_FILE))

    @classmethod
    def open(cls, path: str | Path) -> "DatasetFolder":
        """Open and check a dataset folder.

        Raises:
            DatasetError: no such folder, a file missing, or ``stats.json`` malformed; the message says
                which and how to recreate it.
            BarePathError: ``path`` is a file or an account's export: the source it probably is
                (``did you mean `archive:x.zip`?``), or what it is when no source reads it.
        """
        folder = Path(path)
        missing = [n for n in (TRAIN_FILE, VALID_FILE, STATS_FILE) if not (folder / n).is_file()]
        if missing and (err := bare_path_error(str(path), "not a dataset folder")):
            raise err  # a file or an export given without its scheme: `run my-archive.zip`
        if not folder.is_dir():
            spec = suggest_spec(path)
            if spec:  # `run nope.zip`: a source that is not there
                raise DatasetError(f"{folder}: no such file or dataset folder; check the path (as a source "
                                   f"it is written `{spec}`)")
            raise DatasetError(f"{folder}: no such dataset folder; create one with "
                               f"`huggingtweets prepare SOURCE -o {folder}`")
        if missing:
            raise DatasetError(f"{folder}: not a dataset folder (missing {', '.join(missing)}); "
                               f"create one with `huggingtweets prepare SOURCE -o {folder}`")
        try:
            stats = DatasetStats.from_dict(orjson.loads((folder / STATS_FILE).read_bytes()))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise DatasetError(f"{folder}/{STATS_FILE} is malformed; recreate the folder with "
                               f"`huggingtweets prepare`") from None
        return cls(folder, stats)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``train.jsonl``/``valid.jsonl``; raise DatasetError naming the bad line."""
    rows = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                    raise ValueError
            except ValueError:
                raise DatasetError(f"{path}, line {n}: expected a JSON object with a \"text\" string; "
                                   f"recreate the folder with `huggingtweets prepare`") from None
            rows.append(row)
    return rows
