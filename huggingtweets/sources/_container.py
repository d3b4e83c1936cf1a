"""Read an export the same way whether it is a zip, its unpacked folder, or a single file.

Exports hold gigabytes of media next to a few megabytes of posts, so nothing is ever extracted
wholesale: callers name the members they need and only those are read, each under a size limit
(``HUGGINGTWEETS_MAX_UNZIP_BYTES``, default 2 GiB). The limit is checked against the size the zip
declares *and* while decompressing, so a zip that lies about its sizes is still stopped.

Exports are often re-zipped or unpacked into a folder of their own (``twitter-2024-01-01-abc/data/...``),
so a member is found at the top or one folder down.

A folder's symbolic links are followed only while they stay inside the folder: a link whose target
resolves outside it (``data/tweets.js -> ~/.ssh/id_rsa``, as an unpacked archive from someone else can
hold) is treated as absent by ``exists``, ``locate`` and ``glob``, and ``read`` refuses it with one line,
so no byte from outside the export is ever read (the web app reads uploads from strangers).
"""

from __future__ import annotations

import fnmatch
import os
import zipfile
import zlib
from pathlib import Path
from typing import Literal

from ..errors import ArchiveFormatError, ArchiveTooLargeError, SourceNotFoundError, UsageError

DEFAULT_MAX_BYTES = 2 * 1024**3
_CHUNK = 1024 * 1024


def max_member_bytes() -> int:
    """The largest member we agree to read, from ``HUGGINGTWEETS_MAX_UNZIP_BYTES`` (read on each call)."""
    value = os.environ.get("HUGGINGTWEETS_MAX_UNZIP_BYTES")
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        return int(value)
    except ValueError:
        raise UsageError(
            f"HUGGINGTWEETS_MAX_UNZIP_BYTES={value!r} is not a number of bytes; "
            f"set it to an integer such as {DEFAULT_MAX_BYTES}") from None


class Container:
    """A zip, a folder or a single file, with members named by POSIX paths relative to its root.

    A single file is a container of one member, named by its file name.

        with Container.open("twitter-archive.zip") as c:
            base = c.locate(["data/tweets.js", "data/tweet.js"])
            data = c.read(base + "data/tweets.js")
    """

    def __init__(self, path: Path, kind: Literal["zip", "folder", "file"],
                 zf: zipfile.ZipFile | None = None):
        self.path = path
        self.kind = kind
        self._zip = zf
        self._names: list[str] | None = None
        self._name_set: set[str] | None = None

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "Container":
        """Open ``path`` as a folder, a zip (sniffed by content, not by name) or a single file.

        Raises:
            SourceNotFoundError: nothing at ``path``.
            ArchiveFormatError: a ``.zip``, or a file that starts as a zip, that is not a readable zip.
        """
        p = Path(path).expanduser()
        if p.is_dir():
            return cls(p, "folder")
        if not p.is_file():
            raise SourceNotFoundError(str(path))
        if zipfile.is_zipfile(p):
            try:
                return cls(p, "zip", zipfile.ZipFile(p))
            except (zipfile.BadZipFile, OSError, ValueError) as e:
                raise _corrupt(p, e) from e
        with open(p, "rb") as f:
            cut = f.read(4) == b"PK\x03\x04"  # starts as a zip, but its end (the directory) is missing
        if cut or p.suffix.lower() == ".zip":
            raise _corrupt(p, "its end is missing, as when a download stops early" if cut else "not a zip file")
        return cls(p, "file")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> "Container":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- finding members -----------------------------------------------------------------------

    def names(self) -> list[str]:
        """Every member name of a zip, or the one name of a single file. Folders are not listed
        (their media folders can hold hundreds of thousands of files): use ``exists``/``glob``."""
        if self._names is None:
            if self.kind == "zip":
                assert self._zip is not None
                self._names = [n for n in self._zip.namelist() if not n.endswith("/")]
            elif self.kind == "file":
                self._names = [self.path.name]
            else:
                self._names = []
        return self._names

    def _inside(self, path: Path) -> bool:
        """Whether ``path`` (a member of a folder) resolves inside the folder: links out are skipped."""
        return path.resolve().is_relative_to(self.path.resolve())

    def exists(self, name: str) -> bool:
        if self.kind == "folder":
            return (self.path / name).is_file() and self._inside(self.path / name)
        if self._name_set is None:
            self._name_set = set(self.names())
        return name in self._name_set

    def locate(self, candidates: list[str]) -> tuple[str, str] | None:
        """Find the first of ``candidates`` at the root or one folder down.

        Returns ``(base, name)`` where ``base`` is ``""`` or ``"folder/"``, so that related members
        are read as ``base + "data/account.js"``; None when no candidate is there.
        """
        for name in candidates:
            if self.exists(name):
                return "", name
        if self.kind == "zip":
            for name in candidates:
                for member in self.names():
                    head, sep, rest = member.partition("/")
                    if sep and rest == name and "/" not in head:
                        return head + "/", name
        elif self.kind == "folder":
            subdirs = sorted(d for d in self.path.iterdir() if d.is_dir() and not d.name.startswith(".")
                             and self._inside(d))
            for name in candidates:
                for d in subdirs:
                    if (d / name).is_file() and self._inside(d / name):
                        return d.name + "/", name
        return None

    def glob(self, pattern: str) -> list[str]:
        """Member names matching ``pattern`` (``fnmatch`` syntax; ``*`` does not cross a '/'), sorted."""
        if self.kind == "folder":
            return sorted(p.relative_to(self.path).as_posix() for p in self.path.glob(pattern)
                          if p.is_file() and self._inside(p))
        folder, _, leaf = pattern.rpartition("/")
        prefix = folder + "/" if folder else ""
        return sorted(n for n in self.names()
                      if n.startswith(prefix) and "/" not in n[len(prefix):]
                      and fnmatch.fnmatchcase(n[len(prefix):], leaf))

    # -- reading -------------------------------------------------------------------------------

    def size(self, name: str) -> int:
        if self.kind == "zip":
            assert self._zip is not None
            return self._zip.getinfo(name).file_size
        return self._file(name).stat().st_size

    def read(self, name: str) -> bytes:
        """The bytes of one member, refusing any over the size limit.

        Raises:
            ArchiveTooLargeError: the member is (or turns out while reading to be) over the limit.
            ArchiveFormatError: the zip is damaged (bad CRC, truncated data).
        """
        limit = max_member_bytes()
        declared = self.size(name)
        if declared > limit:
            raise ArchiveTooLargeError(str(self.path), name, declared, limit)
        try:
            if self.kind == "zip":
                assert self._zip is not None
                with self._zip.open(name) as f:
                    return self._read_limited(f, name, declared, limit)
            with open(self._file(name), "rb") as f:
                return self._read_limited(f, name, declared, limit)
        except (zipfile.BadZipFile, EOFError, ValueError, zlib.error) as e:
            # zlib.error: bad compressed data (a damaged download); BadZipFile: a bad CRC or header.
            raise _corrupt(self.path, e) from e
        except (NotImplementedError, RuntimeError) as e:
            # An encrypted member, or a compression method Python does not read.
            raise ArchiveFormatError(
                f"{self.path}: cannot read {name} ({e}); unzip it with your system's tool and pass the "
                f"folder") from e
        except OSError as e:
            if self.kind == "zip":
                raise _corrupt(self.path, e) from e
            raise ArchiveFormatError(f"{self.path}: cannot read {name} ({e}); check the file's permissions") from e

    def _read_limited(self, f, name: str, declared: int, limit: int) -> bytes:
        # The first read asks for one byte more than declared: a member that keeps inflating past
        # its declared size (a lying zip, a file still growing) is caught by the byte count, and
        # reading stops as soon as the limit is passed.
        data = f.read(min(declared, limit) + 1)
        if len(data) <= declared:
            return data
        buf = bytearray(data)
        while len(buf) <= limit:
            chunk = f.read(min(_CHUNK, limit + 1 - len(buf)))
            if not chunk:
                return bytes(buf)
            buf += chunk
        raise ArchiveTooLargeError(str(self.path), name, len(buf), limit)

    def _file(self, name: str) -> Path:
        if self.kind == "file":
            if name != self.path.name:
                raise KeyError(name)
            return self.path
        path = self.path / name
        if not self._inside(path):
            raise ArchiveFormatError(f"{self.path}: {name} is a link to a file outside the archive folder; "
                                     f"it is not read (copy the file into the folder instead)")
        return path


def _corrupt(path: Path, why: object) -> ArchiveFormatError:
    return ArchiveFormatError(
        f"{path}: not a readable zip ({why}); download the archive again, or unzip it and pass the folder")
