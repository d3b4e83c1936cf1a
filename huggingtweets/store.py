"""The local store of fetched posts: one SQLite file, one row per (network, account, post id).

The raw record is kept, so the dataset can be rebuilt with other cleaning options without fetching
again. Inserting is idempotent: importing the same archive twice adds nothing, and a later, larger
archive adds only what is new. Each page of posts is saved in one transaction together with the
source's fetch state (and, on an account's first page, its profile row), so an interrupted fetch
loses nothing and leaves no half-written account.

Faults end in typed errors, after the transaction is rolled back: a full disk (``StoreFullError``),
a read-only or failing disk (``StoreWriteError``), and another process holding the write lock longer
than ``$HUGGINGTWEETS_STORE_WAIT`` seconds (``StoreBusyError``; 60 s by default). While it waits, the
store reports the seconds left to ``on_wait``, or else logs them on the ``huggingtweets.store`` logger.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, TypeVar

import orjson

from . import paths
from .errors import StoreBusyError, StoreError, StoreFullError, StoreWriteError, UsageError
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

log = logging.getLogger("huggingtweets.store")

WAIT_ENV = "HUGGINGTWEETS_STORE_WAIT"
DEFAULT_WAIT = 60.0
"""Seconds to wait for another process's write transaction before giving up with ``StoreBusyError``."""
_POLL = 1.0  # seconds SQLite itself waits per try: the countdown's step

# SQLite's primary result codes (extended codes carry them in the low byte).
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL = 8, 10, 13
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_WRITE_ERRNOS = {errno.EIO, errno.EROFS, errno.EACCES}

WaitCallback = Callable[[float], None]
"""Called about once a second while the store is locked by another process, with the seconds left
(``0.0`` once the wait ends, lock obtained or not)."""

T = TypeVar("T")


def store_wait() -> float:
    """``$HUGGINGTWEETS_STORE_WAIT`` in seconds, else 60."""
    raw = os.environ.get(WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT
    try:
        return max(float(raw), 0.0)
    except ValueError:
        raise UsageError(f"{WAIT_ENV}={raw!r} is not a number of seconds; set it to e.g. 60") from None


class Store:
    """A SQLite file of posts. ``Store()`` opens the user's store (``$HUGGINGTWEETS_HOME``).

    Args:
        path: the SQLite file (default: ``$HUGGINGTWEETS_HOME/posts.sqlite``).
        wait: seconds to wait for another process's write lock (default: ``store_wait()``).
        on_wait: told the seconds left while waiting (default: log them on ``huggingtweets.store``).
    """

    def __init__(self, path: str | Path | None = None, *, wait: float | None = None,
                 on_wait: WaitCallback | None = None):
        self.path = Path(path) if path else paths.store_path()
        self.wait = store_wait() if wait is None else max(wait, 0.0)
        self.on_wait = on_wait
        self.read_only = False
        """Opened for reading only: the store's folder cannot be written (a read-only file system or
        home), so the posts already stored can be read, and nothing can be saved (``StoreWriteError``)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=min(_POLL, self.wait))
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA cache_size=-65536")  # 64 MiB: imports of large archives
            self.db.executescript(SCHEMA)
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as e:
            if not (self.path.is_file() and not os.access(self.path.parent, os.W_OK)):
                if isinstance(e, OSError):
                    raise
                typed = self._write_error(e, 0)  # a full disk or a failing one, said as when importing
                if typed is not e:
                    raise typed from e
                raise StoreError(f"cannot open the post store {self.path}: {e}; "
                                 f"set HUGGINGTWEETS_HOME to another folder") from e
            self._open_read_only()

    def _open_read_only(self) -> None:
        """Open the existing file for reading. With a WAL file left beside it (by a process that did not
        close the store), SQLite reads it with ``mode=ro``; without one, the file is all there is and
        ``immutable=1`` lets SQLite read it without the shared-memory file it cannot create here
        (https://www.sqlite.org/wal.html, "Read-Only Databases")."""
        wal = Path(f"{self.path}-wal")
        query = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
        try:
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?{query}", uri=True,
                                      timeout=min(_POLL, self.wait))
            self.db.execute("SELECT count(*) FROM posts").fetchone()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot read the post store {self.path} (its folder cannot be written): {e}; "
                             f"set HUGGINGTWEETS_HOME to a writable copy of the folder") from e
        self.read_only = True

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
    def transaction(self, need: int = 0) -> Iterator[sqlite3.Connection]:
        """One write transaction: it takes the write lock first (waiting for another process up to
        ``wait`` seconds), commits on success, and rolls back on any exception (Ctrl-C included).

        Args:
            need: about how many bytes it writes, for the advice of ``StoreFullError``.
        Raises:
            StoreBusyError, StoreFullError, StoreWriteError.
        """
        if self.read_only:
            raise StoreWriteError(str(self.path), "its folder cannot be written (read-only)", page=False)
        try:
            self._when_free(lambda: self.db.execute("BEGIN IMMEDIATE"))
        except sqlite3.OperationalError as e:
            raise self._write_error(e, need) from e
        try:
            yield self.db
            self.db.commit()
        except BaseException as e:
            try:
                self.db.rollback()
            except sqlite3.Error:
                pass  # a failed disk may refuse the rollback too; SQLite undoes it on the next open
            if isinstance(e, (sqlite3.OperationalError, OSError)):
                raise self._write_error(e, need) from e
            raise

    def _when_free(self, step: Callable[[], T]) -> T:
        """``step()``, tried again while another process holds the write lock, up to ``wait`` seconds."""
        start = None
        while True:
            try:
                result = step()
            except sqlite3.OperationalError as e:
                if getattr(e, "sqlite_errorcode", 5) & 0xFF not in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED
                    raise
                now = time.monotonic()
                if start is None:
                    start = now - min(_POLL, self.wait)  # the first try already waited this long
                left = self.wait - (now - start)
                if left <= 0:
                    self._report_wait(0.0)
                    raise StoreBusyError(str(self.path), self.wait) from None
                self._report_wait(left)
                continue
            if start is not None:
                self._report_wait(0.0)
            return result

    def _report_wait(self, left: float) -> None:
        if self.on_wait is not None:
            self.on_wait(left)
        elif left <= 0:
            log.info("stopped waiting for the post store %s", self.path, extra={"seconds_left": 0.0})
        else:
            # The first report is a warning (shown even without logging set up); the countdown is info.
            level = logging.WARNING if self.wait - left <= _POLL * 1.5 else logging.INFO
            log.log(level, "another huggingtweets process is using the post store %s; waiting %d s more "
                    "(Ctrl-C to stop)", self.path, math.ceil(left), extra={"seconds_left": left})

    def _write_error(self, e: BaseException, need: int) -> BaseException:
        """The typed error for a failed write, or ``e`` itself when it is not a disk fault."""
        code = getattr(e, "sqlite_errorcode", None)
        code = code & 0xFF if isinstance(code, int) else None
        if code == _SQLITE_FULL or (isinstance(e, OSError) and e.errno in _FULL_ERRNOS):
            held = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
            # Rows, their index entries and the WAL copy of each page: about twice the bytes, 1 MB at least.
            needed = max(2 * need, 1_000_000)
            return StoreFullError(str(self.path), f"{held / 1e6:.1f} MB", f"{needed / 1e6:.1f} MB")
        if code in (_SQLITE_READONLY, _SQLITE_IOERR) or (isinstance(e, OSError) and e.errno in _WRITE_ERRNOS):
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            return StoreWriteError(str(self.path), why)
        return e

    # -- writing -------------------------------------------------------------------------------

    def save_profile(self, network: str, account: str, profile: Profile) -> None:
        with self.transaction() as db:
            self._upsert_profile(db, network, account, profile)

    @staticmethod
    def _upsert_profile(db: sqlite3.Connection, network: str, account: str, profile: Profile) -> None:
        db.execute(
            "INSERT INTO accounts VALUES (?,?,?,?,?,?) ON CONFLICT(network, account) DO UPDATE "
            "SET handle=excluded.handle, name=excluded.name, profile=excluded.profile, "
            "updated_at=excluded.updated_at",
            (network, account, profile.handle, profile.name,
             orjson.dumps(profile.to_dict()).decode(), time.time()),
        )

    def save_page(self, network: str, account: str, posts: Iterable[Post],
                  state: Mapping[str, str] | None = None, profile: Profile | None = None) -> int:
        """Insert posts not yet stored and the fetch state, in one transaction; return how many were new.

        ``profile``, given with an account's first page, is saved in the same transaction, so an account
        row never exists without the page that came with it.
        """
        now = time.time()
        rows = [
            (network, account, p.id, p.created_at, p.kind, p.text, p.in_reply_to, p.lang,
             orjson.dumps(p.raw), now, ",".join(p.versions) if p.versions else None,
             "\n".join(p.mentions) if p.mentions else None)
            for p in posts
        ]
        need = sum(len(r[8]) + len(r[5]) for r in rows)
        with self.transaction(need) as db:
            if profile is not None:
                self._upsert_profile(db, network, account, profile)
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
        self._when_free(lambda: self.db.execute("VACUUM"))
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return posts
