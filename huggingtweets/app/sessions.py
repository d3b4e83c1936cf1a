"""One working folder per visitor: a random session id in a cookie names it, and nothing else can.

Everything a visitor makes (uploads, the post store, the dataset, the model, the card) lives under
``$HUGGINGTWEETS_HOME/app/sessions/<key>/``, so two people using the app at once never see each other's
data or models. The id is 32 random bytes; a cookie that is not exactly that shape is ignored and a new
session is started, so a crafted cookie cannot name a folder outside ``sessions/``. The folder's name
``<key>`` is a hash of the id, not the id: paths end up in files that leave the machine (a dataset's
``stats.json`` names its uploads, a model's ``training_config.json`` its dataset), and the id is the
visitor's login, while the hash gives nothing to log in with.

A session starts in memory only: a visitor who just looks (``GET /api/state``) gets a cookie and a CSRF
token but no folder; the folder is made on the first request that changes something (``persist``), when
fewer than ``max_sessions`` folders exist. Folders are 0700 and the files the app writes 0600; a folder
idle for longer than the app's ``session_hours`` is deleted by ``sweep``, which the server runs
periodically.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from .. import paths
from ..errors import UsageError

COOKIE = "huggingtweets_session"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32): 43 characters
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_PENDING = 10_000
"""Sessions kept in memory without a folder (visitors who only looked); the oldest are forgotten first."""


class SessionLimitError(UsageError):
    """The app keeps no more sessions, or this session's folder is full: answered with ``status``."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def private_dir(path: Path) -> Path:
    """Make ``path`` (and its parents) as folders only this user can open (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def sessions_dir() -> Path:
    return paths.app_sessions_dir()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def valid_session_id(value: str | None) -> bool:
    return bool(value) and bool(_ID_RE.match(value))


def folder_key(session_id: str) -> str:
    """The name of a session's folder: 32 hex digits of the id's SHA-256, which cannot be turned back into
    the id (the cookie)."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()[:32]


def safe_filename(name: str, default: str = "upload") -> str:
    """A file name that cannot leave the folder it is written to.

    Only the last part of the name counts (browsers on Windows send ``C:\\Users\\x\\a.zip``); anything
    but letters, digits, ``.``, ``_`` and ``-`` becomes ``_``, leading dots are dropped (no ``..``, no
    hidden files) and the result is at most 100 characters, extension kept.

    >>> safe_filename("../../x")
    'x'
    >>> safe_filename("..\\\\..\\\\tweets archive.zip")
    'tweets_archive.zip'
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    base = _SAFE_NAME_RE.sub("_", base).lstrip("._-")
    while ".." in base:
        base = base.replace("..", ".")
    if len(base) > 100:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 99 - len(ext)] + "." + ext) if dot and len(ext) <= 10 else base[:100]
    return base or default


@dataclass
class Session:
    """A visitor's working folder and what the page shows of it.

    ``data`` is saved to ``session.json`` after each change, so a restarted server shows the same
    dataset, model and predictions. Its only secret is the page's CSRF token, of no use without the
    cookie (the folder's own name).
    """

    id: str
    folder: Path
    data: dict[str, Any] = field(default_factory=dict)
    live: dict[str, Any] = field(default_factory=dict, repr=False)
    """What is only in memory: progress of a download, the running training job."""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    last_seen: float = field(default_factory=time.time)
    deleted: bool = False
    """Set by ``Sessions.delete``: nothing of this session is written again (a finishing job's save)."""
    persisted: bool = True
    """False while the session lives in memory only (no folder yet): ``save`` then keeps ``data`` there."""

    @property
    def csrf(self) -> str:
        """The token the page sends with every request that changes something (made on first use)."""
        with self.lock:
            if not isinstance(self.data.get("csrf"), str):
                self.data["csrf"] = secrets.token_urlsafe(32)
                self.save()
            return self.data["csrf"]

    @property
    def uploads(self) -> Path:
        return self.folder / "uploads"

    @property
    def store_path(self) -> Path:
        return self.folder / "posts.sqlite"

    @property
    def datasets(self) -> Path:
        return self.folder / "datasets"

    @property
    def bots(self) -> Path:
        return self.folder / "bots"

    @property
    def jobs(self) -> Path:
        return self.folder / "jobs"

    def inside(self, path: Path) -> Path:
        """``path`` resolved, after checking that it lies in this session's folder."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.folder.resolve()):
            raise UsageError(f"{path.name}: not a file of this session; upload it again")
        return resolved

    def save_upload(self, filename: str, stream: BinaryIO, max_bytes: int) -> Path:
        """Copy an uploaded file into ``uploads/`` under a safe, unique name (mode 0600); return its path.

        Raises:
            UsageError: the file is larger than ``max_bytes``.
        """
        private_dir(self.uploads)
        name = safe_filename(filename)
        # A random prefix keeps two uploads of the same name apart without a shared counter.
        target = self.inside(self.uploads / f"{secrets.token_hex(3)}-{name}")
        size = 0
        try:
            with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                while chunk := stream.read(1 << 20):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UsageError(f"{name} is larger than this app's upload limit ({max_bytes:,} "
                                         f"bytes); whoever runs the app can raise it")
                    out.write(chunk)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target

    def save(self) -> None:
        with self.lock:
            if self.deleted or not self.persisted:
                return
            private_dir(self.folder)
            tmp = self.folder / "session.json.tmp"
            tmp.unlink(missing_ok=True)
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(orjson.dumps(self.data, option=orjson.OPT_INDENT_2))
            tmp.replace(self.folder / "session.json")

    def update(self, **values: Any) -> None:
        with self.lock:
            self.data.update(values)
            self.save()

    def clear_folder(self, path: Path) -> None:
        """Delete a folder of this session (a model to train again from scratch)."""
        if path.exists():
            shutil.rmtree(self.inside(path))


class Sessions:
    """The sessions the server knows, loaded from disk on first use (a restart keeps them)."""

    def __init__(self, root: Path | None = None, max_sessions: int = 200, idle_hours: float = 24.0):
        self._root = root
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.max_sessions = max_sessions
        self.idle_seconds = idle_hours * 3600

    @property
    def root(self) -> Path:
        return self._root or sessions_dir()

    def get(self, session_id: str | None) -> Session | None:
        """The session with this id, or None when the id is malformed or unknown."""
        if not valid_session_id(session_id):
            return None
        with self._lock:
            s = self._sessions.get(session_id)
            if s is None:
                folder = self.root / folder_key(session_id)
                legacy = self.root / session_id  # named by the id itself before: renamed once
                if not (folder / "session.json").is_file() and (legacy / "session.json").is_file():
                    legacy.rename(folder)
                if not (folder / "session.json").is_file():
                    return None
                try:
                    data = orjson.loads((folder / "session.json").read_bytes())
                except (OSError, orjson.JSONDecodeError):
                    data = {}
                s = self._sessions[session_id] = Session(session_id, folder, data)
            s.last_seen = time.time()
            return s

    def create(self) -> Session:
        """A new session, in memory only until ``persist`` (a visitor who only looks leaves nothing)."""
        session_id = new_session_id()
        s = Session(session_id, self.root / folder_key(session_id), {"csrf": secrets.token_urlsafe(32)},
                    persisted=False)
        with self._lock:
            pending = [p for p in self._sessions.values() if not p.persisted]
            for old in sorted(pending, key=lambda p: p.last_seen)[: max(0, len(pending) + 1 - MAX_PENDING)]:
                self._sessions.pop(old.id, None)
            self._sessions[session_id] = s
        return s

    def persist(self, session: Session) -> None:
        """Give ``session`` its folder (on its first request that changes something).

        Raises:
            SessionLimitError: ``max_sessions`` folders exist already (503).
        """
        with self._lock, session.lock:
            if session.persisted or session.deleted:
                return
            root = private_dir(self.root)
            if sum(1 for d in root.iterdir() if d.is_dir()) >= self.max_sessions:
                raise SessionLimitError(f"this app is full ({self.max_sessions} visitors' sessions); try again "
                                        f"later, when older ones have expired", 503)
            session.persisted = True
            session.save()

    def sweep(self, now: float | None = None) -> int:
        """Delete the sessions idle for longer than ``idle_seconds`` (their folders too), but not one whose
        work is running; forget visitors who only looked. Returns how many folders were deleted."""
        now = time.time() if now is None else now
        cutoff = now - self.idle_seconds
        with self._lock:
            loaded = {folder_key(s.id): s for s in self._sessions.values()}
            for s in [s for s in loaded.values() if not s.persisted and s.last_seen < cutoff]:
                self._sessions.pop(s.id, None)
        deleted = 0
        folders = [d for d in self.root.iterdir() if d.is_dir()] if self.root.is_dir() else []
        for folder in folders:
            s = loaded.get(folder.name)
            if s is not None:
                if s.last_seen >= cutoff or _busy(s):
                    continue
                self.delete(s)
            else:
                try:
                    seen = max(folder.stat().st_mtime, (folder / "session.json").stat().st_mtime)
                except OSError:
                    seen = folder.stat().st_mtime if folder.exists() else now
                if seen >= cutoff:
                    continue
                shutil.rmtree(folder, ignore_errors=True)
            deleted += 1
        return deleted

    def delete(self, session: Session) -> None:
        """Delete everything of ``session`` (its folder: uploads, store, datasets, models, jobs) and forget
        it; its cookie then names nothing. Running work must be stopped first (``my_data.delete``)."""
        with self._lock, session.lock:
            session.deleted = True
            self._sessions.pop(session.id, None)
            if session.folder.exists():
                shutil.rmtree(session.folder)

    def loaded(self) -> list[Session]:
        """The sessions in memory (with a folder or not)."""
        with self._lock:
            return list(self._sessions.values())


def _busy(session: Session) -> bool:
    """Whether work of ``session`` is running (a download, or a training job not finished)."""
    from .jobs import FINISHED

    with session.lock:
        job = session.live.get("job")
        return bool(session.live.get("receiving") or session.live.get("progress") is not None
                    or (job is not None and job.status not in FINISHED))
