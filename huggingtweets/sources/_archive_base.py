"""What the account exports read by ``archive:PATH`` share: the reader of their ``.js``/``.json``
files (``parse_ytd``), the base of their sources, the choice of the handle and the avatar cache.

Each export has its module: ``_x_archive`` (X), ``_grailbird`` (X before 2019), ``_mastodon_export``;
``archive.ArchiveSource`` picks one by the files it finds.
"""

from __future__ import annotations

import re
import secrets
import warnings
from pathlib import Path
from typing import Any, ClassVar, Iterator, MutableMapping

import orjson

from .. import paths
from ..errors import ArchiveFormatError, HandleMismatchError, HandleRequiredError, HomeWarning
from ._container import Container
from .base import Page, Profile, SourceOptions, check_handle

PAGE_SIZE = 5_000
"""Posts per page; the store saves each page in one transaction."""

# -- reading X's "window.YTD.<name>.partN = [...]" files -----------------------------------------


# "window.YTD.tweets.part0 =", and in archives before 2019 "Grailbird.data.tweets_2013_05 =" and
# "var user_details =". A name never holds a space, so "var " adds matches and changes none.
YTD_PREFIX = re.compile(rb"^\s*(?:window\.|var\s+)?([A-Za-z_$][\w$.]*)\s*$")


def parse_ytd(data: bytes, where: str, fix: str = "download the archive again") -> tuple[str, Any]:
    """Parse one archive file: strip ``window.YTD.tweets.part0 =`` and read the JSON after it.

    The file is JavaScript, but it is never evaluated: everything up to the first ``=`` is the
    assignment target, the rest is JSON. A file that is plain JSON (someone saved just the array)
    is accepted too. Archives before 2019 write ``Grailbird.data.tweets_2013_05 =`` and
    ``var user_details =``; ``fix`` is the advice given when the JSON is damaged.

    Returns:
        ``(global name, value)``, e.g. ``("YTD.tweets.part0", [...])``; the name is ``""`` for plain JSON.
    Raises:
        ArchiveFormatError: no assignment and not JSON, or invalid JSON after it (names ``where``).
    """
    body = memoryview(data)
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0  # a byte-order mark, if an editor added one
    first = data[start:start + 64].lstrip()[:1]
    name = ""
    if first not in (b"[", b"{"):
        eq = data.find(b"=", start, start + 1024)
        m = YTD_PREFIX.match(data[start:eq]) if eq >= 0 else None
        if m is None:
            raise ArchiveFormatError(
                f"{where} does not start with 'window.YTD.<name>.part0 =' and is not JSON; "
                f"pass the archive's data/tweets.js (or the whole archive) as it was downloaded")
        name = m.group(1).decode()
        target = m.group(0).strip().decode()  # as written: "window.YTD.tweets.part0", "var user_details"
        start = eq + 1
    try:
        return name, orjson.loads(body[start:])
    except orjson.JSONDecodeError as e:
        what = f"after its '{target} =' prefix" if name else "(a JSON file was expected)"
        raise ArchiveFormatError(
            f"{where} is not valid JSON {what}: {e}; the file is damaged or was edited: {fix}") from None


# -- what the sources share -----------------------------------------------------------------------


def _same_handle(given: str, actual: str) -> bool:
    g, a = given.lower(), actual.lower()
    return g == a or ("@" in a and "@" not in g and a.split("@", 1)[0] == g)


def choose_handle(spec: str, found: str | None, options: SourceOptions) -> str:
    """The archive's own handle wins; --handle is only needed when the file does not say."""
    given = check_handle(options.handle) if options.handle else None
    if found:
        found = check_handle(found)
        if given and not _same_handle(given, found):
            raise HandleMismatchError(spec, given, found)
        return found
    if given:
        return given
    raise HandleRequiredError(spec)


def save_avatar(data: bytes, network: str, handle: str, suffix: str) -> str | None:
    """Write an avatar image from the export to ``<cache>/avatars/<network>-<handle><suffix>``; its path.

    The avatar is optional: when the cache cannot be written (read-only or full home), it is skipped
    with a ``HomeWarning`` and ``None`` is returned, so posts already stored can still be prepared.
    """
    folder = paths.cache_dir() / "avatars"
    target = folder / f"{network}-{handle.lower()}{suffix.lower() or '.jpg'}"
    tmp = target.with_name(f"{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        tmp.replace(target)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        warnings.warn(f"@{handle}: avatar skipped, {folder} cannot be written ({e.strerror or e}); set "
                      f"HUGGINGTWEETS_HOME to a writable folder with free space to keep it", HomeWarning,
                      stacklevel=2)
        return None
    return str(target)


class ExportSource:
    """The base of the export sources: where the export is, and how its JSON files are read.

    ``archive.ArchiveSource.from_spec`` builds a subclass's source with its ``open``.
    """

    scheme: ClassVar[str] = "archive"
    network: ClassVar[str] = "x"

    def __init__(self, path: Path, kind: str, base: str, posts_file: str, spec: str,
                 options: SourceOptions):
        self.path = path
        self.kind = kind  # "zip", "folder" or "file" (the posts file alone)
        self.base = base  # "" or "folder/" when the export sits one folder down in the zip
        self.posts_file = posts_file  # member name of tweets.js / outbox.json
        self.spec = spec
        self.options = options

    @classmethod
    def open(cls, c: Container, base: str, posts_file: str, spec: str,
             options: SourceOptions) -> "ExportSource":
        raise NotImplementedError

    def _read_json(self, c: Container, member: str) -> tuple[str, Any]:
        return parse_ytd(c.read(member), f"{self.path}: {member}" if self.kind != "file" else str(self.path))

    def profile(self) -> Profile:
        raise NotImplementedError

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        raise NotImplementedError
