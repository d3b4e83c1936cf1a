"""``archive:PATH``: an account export, as the zip the service gives, its unpacked folder, or the one
file that holds the posts. ``ArchiveSource.from_spec`` tells the exports apart by the files they hold
and hands each to its module:

- X/Twitter ("Download an archive of your data"): ``data/tweets.js`` and its parts, with
  ``data/account.js``, ``data/profile.js`` and ``data/note-tweet.js`` (``_x_archive``).
- X archives before 2019 ("Grailbird"): ``data/js/tweets/YYYY_MM.js`` month files or ``tweets.csv``
  (``_grailbird``).
- Mastodon ("Request your archive"): ``outbox.json`` and ``actor.json``, public posts only
  (``_mastodon_export``).
- Bluesky: the repository export ``repo.car`` (``bluesky_export``).

Only the few ``.js``/``.json`` members named there are read, each under a size limit; the media that
make up most of an export are never extracted (see ``_container``). The names those modules give
other code are importable from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ..errors import ArchiveFormatError, NotPostsError
from ._archive_base import PAGE_SIZE, ExportSource, parse_ytd
from ._container import Container
from ._dates import parse_date
from ._file_binary import binary_kind
from ._grailbird import (GRAILBIRD_FILES, GRAILBIRD_MARKERS, GRAILBIRD_SKIPPED, GrailbirdArchiveSource,
                         GrailbirdFile)
from ._mastodon_export import (MASTODON_FILES, PUBLIC, MastodonExportSource, ap_quote_refs, is_public,
                               mastodon_posts)
from ._x_archive import TWEET_FILES, X_FILES, X_SKIPPED, XArchiveSource, XFile, x_posts
from .base import Source, SourceOptions

x_date = parse_date
"""``_dates.parse_date``, under the name this module gave its own X date reader before there was one."""

__all__ = [
    "GRAILBIRD_FILES", "GRAILBIRD_MARKERS", "GRAILBIRD_SKIPPED", "MASTODON_FILES", "PAGE_SIZE", "PUBLIC",
    "TWEET_FILES", "X_FILES", "X_SKIPPED", "ArchiveSource", "ExportSource", "GrailbirdArchiveSource",
    "GrailbirdFile", "MastodonExportSource", "XArchiveSource", "XFile", "ap_quote_refs", "is_public",
    "mastodon_posts", "parse_ytd", "x_date", "x_posts",
]


class ArchiveSource:
    """``archive:PATH``: an X archive or a Mastodon or Bluesky export (zip, unpacked folder, or the
    posts file).

    ``from_spec`` looks at what the path holds and returns an ``XArchiveSource``, a
    ``GrailbirdArchiveSource`` (X before 2019), a ``MastodonExportSource`` or a
    ``BlueskyExportSource``; every problem (missing path, damaged zip, no posts file, bad handle) is
    raised there, before anything is fetched.

        src = ArchiveSource.from_spec("twitter-2024.zip", "archive:twitter-2024.zip", SourceOptions())
        src.profile().handle
        for page in src.pages({}): ...
    """

    scheme: ClassVar[str] = "archive"
    network: ClassVar[str] = "x"

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> Source:
        """Open ``value`` (a path) and check it holds a readable export.

        Raises:
            SourceNotFoundError, ArchiveFormatError, ArchiveTooLargeError, HandleRequiredError,
            InvalidHandleError, HandleMismatchError; NotPostsError: an image, a program, an Office
            document... (what it is).
        """
        path = Path(value).expanduser()
        if path.is_file():
            _refuse_non_export(path, spec)
        if path.name == "data" and any((path / n).is_file() for n in ("tweets.js", "tweet.js",
                                                                       "js/tweet_index.js", "js/user_details.js")):
            path = path.parent  # the archive's data/ folder itself: read the archive around it
        with Container.open(path) as c:
            from .bluesky_export import BlueskyExportSource, find_car  # Bluesky's repo.car export
            car = find_car(c)
            if car is not None:
                return BlueskyExportSource.open(c, car, spec, options)
            if c.kind == "file":
                source_cls = _sniff_single_file(c)
                return source_cls.open(c, "", c.names()[0], spec, options)
            found = c.locate(list(TWEET_FILES))
            if found:
                return XArchiveSource.open(c, found[0], found[0] + found[1], spec, options)
            found = c.locate(list(MASTODON_FILES))
            if found:
                return MastodonExportSource.open(c, found[0], found[0] + found[1], spec, options)
            found = c.locate(list(GRAILBIRD_MARKERS))
            if found:
                return GrailbirdArchiveSource.open(c, found[0], found[0] + found[1], spec, options)
            what = "zip" if c.kind == "zip" else "folder"
            raise ArchiveFormatError(
                f"{path}: this {what} holds no data/tweets.js or data/tweet.js (X archive), no "
                f"data/js/tweets/ (X archive before 2019) and no "
                f"outbox.json (Mastodon export); pass the archive exactly as downloaded")


ARCHIVE_ADVICE = "pass the account's export as downloaded (a zip, its unpacked folder, or a Bluesky repo.car)"


def _refuse_non_export(path: Path, spec: str) -> None:
    """Refuse a file whose first bytes say it is something else than an export (a zip, a Bluesky CAR) or
    a text file of one: an image, a program, an Office document, a compressed file..."""
    with open(path, "rb") as f:
        kind = binary_kind(f.read(4096))
    if kind and kind[0] not in ("a zip archive", "a CAR file (a Bluesky repository export)"):
        what, hint = kind
        raise NotPostsError(spec, what, "an account export", (hint or ARCHIVE_ADVICE).format(path=path))


def _sniff_single_file(c: Container) -> type[ExportSource]:
    name = c.names()[0]
    suffix = Path(name).suffix.lower()
    if GrailbirdArchiveSource.sniff(c):  # a month file or tweets.csv of an archive before 2019
        return GrailbirdArchiveSource
    if suffix == ".js":
        return XArchiveSource
    if suffix == ".json":
        return MastodonExportSource
    # No telling suffix: look at the first bytes (without reading a possibly huge file).
    with open(c.path, "rb") as f:
        head = f.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"window.YTD.") or head.startswith(b"YTD."):
        return XArchiveSource
    if head.startswith(b"{") and b"activitystreams" in head:
        return MastodonExportSource
    from ._suggest import guess

    found = guess(c.path)
    if found is not None and found.scheme == "file":  # a CSV, JSON or text file of posts
        raise ArchiveFormatError(f"{c.path}: {found.found}, not an account's export; for a file of posts "
                                 f"use file:{c.path}")
    raise ArchiveFormatError(
        f"{c.path}: not a zip, a folder, an X tweets.js or a Mastodon outbox.json; pass the archive "
        f"zip as downloaded (or its unpacked folder)")
