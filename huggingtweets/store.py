"""The local store of fetched posts: one SQLite file, one row per (network, account, post id).

The raw record is kept, so the dataset can be rebuilt with other cleaning options without fetching
again. Inserting is idempotent: importing the same archive twice adds nothing, and a later, larger
archive adds only what is new. Each page of posts is saved in one transaction together with the
source's fetch state, so an interrupted fetch loses nothing.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import orjson

from . import paths
from .errors import StoreError
from .sources.base import Post, Profile

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    network TEXT NOT NULL,
    account TEXT NOT NULL,
    handle TEXT NOT NULL,
    name TEXT,
    profile TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (network, account)
);
CREATE TABLE IF NOT EXISTS posts (
    network TEXT NOT NULL,
    account TEXT NOT NULL,
    id TEXT NOT NULL,
    created_at TEXT,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    in_reply_to TEXT,
    lang TEXT,
    raw BLOB NOT NULL,
    fetched_at REAL NOT NULL,
    versions TEXT,
    mentions TEXT,
    PRIMARY KEY (network, account, id)
);
CREATE TABLE IF NOT EXISTS fetch_state (
    network TEXT NOT NULL,
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (network, account, key)
);
"""


class Store:
    """A SQLite file of posts. ``Store()`` opens the user's store (``$HUGGINGTWEETS_HOME``)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else paths.store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB: imports of large archives
            self.db.executescript(SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot open the post store {self.path}: {e}; "
                             f"set HUGGINGTWEETS_HOME to another folder") from e

    def _migrate(self) -> None:
        """Bring a store written by an older version up to this schema (columns only ever added)."""
        cols = {row[1] for row in self.db.execute("PRAGMA table_info(posts)")}
        if "versions" not in cols:
            self.db.execute("ALTER TABLE posts ADD COLUMN versions TEXT")
        if "mentions" not in cols:
            self.db.execute("ALTER TABLE posts ADD COLUMN mentions TEXT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db:  # commits on success, rolls back on any exception (Ctrl-C included)
            yield self.db

    # -- writing -------------------------------------------------------------------------------

    def save_profile(self, network: str, account: str, profile: Profile) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO accounts VALUES (?,?,?,?,?,?) ON CONFLICT(network, account) DO UPDATE "
                "SET handle=excluded.handle, name=excluded.name, profile=excluded.profile, "
                "updated_at=excluded.updated_at",
                (network, account, profile.handle, profile.name,
                 orjson.dumps(profile.to_dict()).decode(), time.time()),
            )

    def save_page(self, network: str, account: str, posts: Iterable[Post],
                  state: Mapping[str, str] | None = None) -> int:
        """Insert posts not yet stored and the fetch state, in one transaction; return how many were new."""
        now = time.time()
        rows = [
            (network, account, p.id, p.created_at, p.kind, p.text, p.in_reply_to, p.lang,
             orjson.dumps(p.raw), now, ",".join(p.versions) if p.versions else None,
             "\n".join(p.mentions) if p.mentions else None)
            for p in posts
        ]
        with self.transaction() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO posts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            new = db.total_changes - before
            if state:
                db.executemany(
                    "INSERT INTO fetch_state VALUES (?,?,?,?) ON CONFLICT(network, account, key) "
                    "DO UPDATE SET value=excluded.value",
                    [(network, account, k, str(v)) for k, v in state.items()],
                )
        return new

    # -- reading -------------------------------------------------------------------------------

    def fetch_state(self, network: str, account: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT key, value FROM fetch_state WHERE network=? AND account=?", (network, account))
        return dict(rows.fetchall())

    def profile(self, network: str, account: str) -> Profile | None:
        row = self.db.execute(
            "SELECT profile FROM accounts WHERE network=? AND account=?", (network, account)).fetchone()
        return Profile(**orjson.loads(row[0])) if row else None

    def count(self, network: str, account: str) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM posts WHERE network=? AND account=?", (network, account)).fetchone()[0]

    def posts(self, network: str, account: str, raw: bool = True) -> Iterator[Post]:
        """The account's posts, oldest first (by date, then id); ``raw=False`` skips the raw records."""
        cols = "id, text, kind, created_at, in_reply_to, lang, versions, mentions" + (", raw" if raw else "")
        cur = self.db.execute(
            f"SELECT {cols} FROM posts WHERE network=? AND account=? "
            "ORDER BY created_at, length(id), id", (network, account))
        for row in cur:
            yield Post(row[0], row[1], row[2], row[3], row[4], row[5],
                       orjson.loads(row[8]) if raw else {}, tuple(row[6].split(",")) if row[6] else (),
                       tuple(row[7].split("\n")) if row[7] else ())

    def accounts_with_handle(self, network: str, handle: str) -> list[str]:
        """Keys of the stored accounts of ``network`` whose handle is ``handle`` (case-insensitive)."""
        rows = self.db.execute("SELECT account FROM accounts WHERE network=? AND lower(handle)=lower(?)",
                               (network, handle))
        return [r[0] for r in rows]

    def accounts(self) -> list[tuple[str, str, str, int]]:
        """(network, account, handle, number of posts) for every stored account."""
        return self.db.execute(
            "SELECT a.network, a.account, a.handle, COUNT(p.id) FROM accounts a LEFT JOIN posts p "
            "ON p.network=a.network AND p.account=a.account GROUP BY a.network, a.account "
            "ORDER BY a.network, a.account").fetchall()

    def account_bytes(self) -> dict[tuple[str, str], int]:
        """(network, account) -> about how many bytes its posts take: raw records, texts and ids (SQLite's
        own overhead and indexes not counted)."""
        rows = self.db.execute(
            "SELECT network, account, SUM(length(raw) + length(CAST(text AS BLOB)) + length(CAST(id AS BLOB))) "
            "FROM posts GROUP BY network, account")
        return {(n, a): int(b or 0) for n, a, b in rows}

    # -- deleting ------------------------------------------------------------------------------

    def delete_account(self, network: str, account: str) -> int:
        """Remove an account's posts (raw records included), profile and fetch state in one transaction,
        then give the space back to the file system; return how many posts were removed."""
        with self.transaction() as db:
            posts = db.execute("DELETE FROM posts WHERE network=? AND account=?", (network, account)).rowcount
            db.execute("DELETE FROM fetch_state WHERE network=? AND account=?", (network, account))
            db.execute("DELETE FROM accounts WHERE network=? AND account=?", (network, account))
        # Deleted rows' pages would otherwise stay in the file, and their old copies in the WAL file.
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return posts
