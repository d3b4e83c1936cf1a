"""A bot folder's versions: ``history.json``, the previous versions kept under ``versions/v<N>/``, and the
swap that replaces one version's files by the next one's, safe against Ctrl-C and kill -9.

A *version* is the set of regular files at the top of the bot folder (weights, configs, tokenizer, the
card, ``stats.json``, ``history.json`` ...); dot files (the journal), ``*.tmp`` files and
folders (``versions/``, ``checkpoints/``, the update's temporary ``.update/``) are not part of it, and
none of them is ever published (``bot_folder.publishable_files`` takes allow-listed top-level files
only).

The swap (``swap``) works from a *staged* folder that already holds every file of the new version:

1. the current version's files are hard-linked (copied where links are not possible) into
   ``versions/.v<N>.partial`` and that folder renamed ``versions/v<N>`` (``snapshot``);
2. a journal (``.swap-journal.json``) is written atomically, naming the staged folder, the files to move
   from it and the current files to remove;
3. each staged file is moved into place with ``os.replace`` (never written in place, so the hard links of
   the snapshot keep the previous bytes), the old-only files removed, the staged folder deleted, and the
   journal last.

A process killed before step 2 leaves the previous version whole (the snapshot and the staged folder are
extra files, cleaned up by the next update); killed after it, ``recover`` (run by the next update, by
``rollback`` and by ``generate.Bot.load``) finishes the swap from the journal. Every step of the journal
can be repeated, so a recovery interrupted in its turn is finished by the next one.

``rollback`` is the same swap with ``versions/v<N>`` itself as the staged folder: the previous version's
files are moved back byte for byte (``history.json`` included: it is part of the version), and the
snapshot folder is gone afterwards. What was rolled back, and when, is kept beside the snapshots in
``versions/rollbacks.json`` (``record_rollback``), outside every version, so that ``info`` can say it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

HISTORY_FILE = "history.json"
VERSIONS_DIR = "versions"
JOURNAL_FILE = ".swap-journal.json"
ROLLBACKS_FILE = "rollbacks.json"
"""Under ``versions/``: each rollback's date, the version discarded (its ``history.json`` entry) and the
one put back."""
WORK_DIR = ".update"
"""The update's temporary folder inside the bot folder: the update's training data, the new weights."""
KEEP_VERSIONS = 3
"""Previous versions kept under ``versions/`` (each a full copy of the weights once replaced): enough to
step back three updates; older ones are deleted after a successful update."""
HISTORY_FORMAT = 1


class VersionError(Exception):
    """Internal: raised as the typed errors of ``huggingtweets.errors`` by the callers."""


def version_files(folder: Path) -> list[str]:
    """The names of the files that make up the folder's current version (see the module docstring)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
                  and not p.name.endswith(".tmp"))


def write_json_atomic(path: Path, data: Any) -> None:
    """Write a JSON file through a temporary file, flushed to disk, then ``os.replace``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError as e:
        if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
        shutil.copy2(src, dst)


# --- history -----------------------------------------------------------------------------------------


@dataclass
class History:
    """``history.json``: every version of the bot, oldest first (each a dict; see ``update.py``)."""

    versions: list[dict[str, Any]]

    @property
    def current(self) -> int:
        return int(self.versions[-1]["version"]) if self.versions else 1

    def to_dict(self) -> dict[str, Any]:
        return {"format": HISTORY_FORMAT, "current": self.current, "versions": self.versions}


def read_history(folder: Path) -> History:
    """The folder's history; empty for a bot never updated (its one version is 1)."""
    try:
        data = json.loads((Path(folder) / HISTORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return History([])
    versions = data.get("versions") if isinstance(data, dict) else None
    if not isinstance(versions, list):
        return History([])
    return History([v for v in versions if isinstance(v, dict) and isinstance(v.get("version"), int)])


def read_rollbacks(folder: Path) -> list[dict[str, Any]]:
    """The rollbacks recorded in ``versions/rollbacks.json``, oldest first (empty when none)."""
    try:
        data = json.loads((Path(folder) / VERSIONS_DIR / ROLLBACKS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def record_rollback(folder: Path, discarded: int, restored: int, entry: dict[str, Any] | None,
                    dataset_removed: str | None = None) -> None:
    """Add a rollback from version ``discarded`` (its history ``entry``) to ``restored`` to the log, with
    the dataset version removed with it (``update.rollback``), if any."""
    root = Path(folder) / VERSIONS_DIR
    root.mkdir(exist_ok=True)
    log = read_rollbacks(folder) + [{"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                     "discarded": discarded, "restored": restored, "entry": entry,
                                     "dataset_removed": dataset_removed}]
    write_json_atomic(root / ROLLBACKS_FILE, log)


def snapshots(folder: Path) -> dict[int, Path]:
    """Version number -> its kept folder ``versions/v<N>``."""
    root = Path(folder) / VERSIONS_DIR
    found = {}
    for p in root.iterdir() if root.is_dir() else []:
        if p.is_dir() and p.name.startswith("v") and p.name[1:].isdigit():
            found[int(p.name[1:])] = p
    return dict(sorted(found.items()))


def snapshot(folder: Path, version: int) -> Path:
    """Keep the current version's files as ``versions/v<version>`` (hard links where possible)."""
    root = folder / VERSIONS_DIR
    root.mkdir(exist_ok=True)
    dest = root / f"v{version}"
    partial = root / f".v{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    if dest.exists():  # a snapshot of this version from an update that did not finish: made again
        shutil.rmtree(dest)
    partial.mkdir()
    for name in version_files(folder):
        _link_or_copy(folder / name, partial / name)
    os.replace(partial, dest)
    _fsync_dir(root)
    return dest


def prune(folder: Path, keep: int = KEEP_VERSIONS) -> list[int]:
    """Delete all but the ``keep`` newest kept versions; return the numbers deleted."""
    kept = snapshots(folder)
    old = list(kept)[:-keep] if keep > 0 else list(kept)
    for n in old:
        shutil.rmtree(kept[n], ignore_errors=True)
    return old


# --- the swap ------------------------------------------------------------------------------------------


def swap(folder: Path, staged: Path) -> None:
    """Make ``staged``'s top-level files the folder's version (see the module docstring, steps 2-3)."""
    folder, staged = Path(folder), Path(staged)
    names = version_files(staged)
    remove = [n for n in version_files(folder) if n not in names]
    journal = {"staged": os.path.relpath(staged, folder), "files": names, "remove": remove,
               "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_json_atomic(folder / JOURNAL_FILE, journal)
    _apply(folder, journal)


def _apply(folder: Path, journal: dict[str, Any]) -> None:
    staged = (folder / str(journal["staged"])).resolve()
    if folder.resolve() not in staged.parents:
        raise VersionError(f"{folder / JOURNAL_FILE} names a folder outside the bot: {staged}")
    for name in journal.get("files") or []:
        src = staged / name
        if src.is_file() and not src.is_symlink():
            os.replace(src, folder / name)
    for name in journal.get("remove") or []:
        (folder / name).unlink(missing_ok=True)
    _fsync_dir(folder)
    work = (folder / WORK_DIR).resolve()
    # An update's staged folder is in its work folder, whose other files (its training set) go with it.
    shutil.rmtree(work if work in staged.parents else staged, ignore_errors=True)
    (folder / JOURNAL_FILE).unlink(missing_ok=True)
    _fsync_dir(folder)


def recover(folder: str | Path) -> bool:
    """Finish a swap that a killed process left half done; ``True`` when there was one.

    Does nothing (and returns ``False``) without a journal, while another process holds the bot's
    lock (that process finishes its own swap), or where the folder cannot be written.
    """
    folder = Path(folder)
    path = folder / JOURNAL_FILE
    if not path.is_file():
        return False
    try:
        with lock(folder, wait=False):
            return _recover_locked(folder)
    except (BlockingIOError, PermissionError, OSError):
        return False


def _recover_locked(folder: Path) -> bool:
    path = folder / JOURNAL_FILE
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except ValueError:
        # A journal is written whole (os.replace) or not at all: a malformed one is not ours to follow.
        path.unlink(missing_ok=True)
        return False
    if not isinstance(journal, dict) or not isinstance(journal.get("staged"), str):
        path.unlink(missing_ok=True)
        return False
    _apply(folder, journal)
    return True


@contextlib.contextmanager
def lock(folder: Path, wait: bool = False) -> Iterator[None]:
    """Hold the bot folder's update lock for the block: ``fcntl.flock`` on the folder itself, so that taking
    it writes nothing there (an update with nothing new leaves the folder as it was).

    Raises:
        BlockingIOError: another process holds it (and ``wait`` is off).
    """
    import fcntl

    fd = os.open(Path(folder), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def restore(folder: Path, version: int) -> None:
    """Put ``versions/v<version>`` back as the folder's version (its files moved back, byte for byte)."""
    kept = snapshots(folder).get(version)
    if kept is None:
        raise VersionError(f"no kept version {version}")
    swap(folder, kept)
    root = folder / VERSIONS_DIR
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
