"""One working folder per visitor: a random session id in a cookie names it, and nothing else can.

Everything a visitor makes (uploads, the post store, the dataset, the model, the card) lives under
``$HUGGINGTWEETS_HOME/app/sessions/<key>/``, so two people using the app at once never see each other's
data or models. The id is 32 random bytes; a cookie that is not exactly that shape is ignored and a new
session is started, so a crafted cookie cannot name a folder outside ``sessions/``. The folder's name
``<key>`` is a hash of the id, not the id: paths end up in files that leave the machine (a dataset's
``stats.json`` names its uploads, a model's ``training_config.json`` its dataset), and the id is the
visitor's login, while the hash gives nothing to log in with.
"""

from __future__ import annotations

import hashlib
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
        """Copy an uploaded file into ``uploads/`` under a safe, unique name; return its path.

        Raises:
            UsageError: the file is larger than ``max_bytes``.
        """
        self.uploads.mkdir(parents=True, exist_ok=True)
        name = safe_filename(filename)
        # A random prefix keeps two uploads of the same name apart without a shared counter.
        target = self.inside(self.uploads / f"{secrets.token_hex(3)}-{name}")
        size = 0
        try:
            with open(target, "xb") as out:
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
            if self.deleted:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / "session.json.tmp"
            tmp.write_bytes(orjson.dumps(self.data, option=orjson.OPT_INDENT_2))
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

    def __init__(self, root: Path | None = None):
        self._root = root
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

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
        session_id = new_session_id()
        s = Session(session_id, self.root / folder_key(session_id), {"csrf": secrets.token_urlsafe(32)})
        s.save()
        with self._lock:
            self._sessions[session_id] = s
        return s

    def delete(self, session: Session) -> None:
        """Delete everything of ``session`` (its folder: uploads, store, datasets, models, jobs) and forget
        it; its cookie then names nothing. Running work must be stopped first (``my_data.delete``)."""
        with self._lock, session.lock:
            session.deleted = True
            self._sessions.pop(session.id, None)
            if session.folder.exists():
                shutil.rmtree(session.folder)

    def loaded(self) -> list[Session]:
        with self._lock:
            return list(self._sessions.values())
