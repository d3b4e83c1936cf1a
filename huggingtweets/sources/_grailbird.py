"""The X archive before 2019 ("Grailbird"): posts from ``data/js/tweets/YYYY_MM.js`` month files
(listed in ``data/js/tweet_index.js``), else from the ``tweets.csv`` of the same posts; whose they are
from ``data/js/user_details.js``. Which files are read and how: ``GRAILBIRD_FILES``;
``GrailbirdArchiveSource``. The month files hold the tweet objects ``_x_archive.x_posts`` reads.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator, MutableMapping

from ..errors import ArchiveFormatError
from ._archive_base import PAGE_SIZE, ExportSource, choose_handle, parse_ytd
from ._container import Container
from ._x_archive import x_posts
from .base import Page, Profile, SourceOptions, gc_paused, paged


@dataclass
class _GrailbirdData:
    user: dict = field(default_factory=dict)
    months: list[str] = field(default_factory=list)  # month files as data/js/tweet_index.js lists them
    tweets: list[dict] = field(default_factory=list)


def _read_user_details(data: _GrailbirdData, value: Any) -> None:
    if isinstance(value, dict):
        data.user = value


def _read_tweet_index(data: _GrailbirdData, value: Any) -> None:
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict) and isinstance(item.get("file_name"), str):
            data.months.append(item["file_name"])


def _read_month(data: _GrailbirdData, value: Any) -> None:
    data.tweets.extend(t for t in value if isinstance(t, dict))


def _read_tweets_csv(data: _GrailbirdData, rows: Any) -> None:
    data.tweets.extend(_csv_tweet(row) for row in rows)


@dataclass(frozen=True)
class GrailbirdFile:
    what: str  # what the file holds, for messages
    read: Callable[[_GrailbirdData, Any], None]


_MONTH_FILES = "data/js/tweets/*.js"

GRAILBIRD_FILES: dict[str, GrailbirdFile] = {
    "data/js/user_details.js": GrailbirdFile("the account's handle and name", _read_user_details),
    "data/js/tweet_index.js": GrailbirdFile("the list of the month files", _read_tweet_index),
    _MONTH_FILES: GrailbirdFile("one month of posts", _read_month),  # YYYY_MM.js, newest first
    "tweets.csv": GrailbirdFile("the posts as a table, read only when there are no month files",
                                _read_tweets_csv),
}
"""Archive file (from the archive's root) -> how it is read. Files are ``var user_details = {...}``
and ``Grailbird.data.tweets_YYYY_MM = [...]``; each ``var`` is named after its file."""

GRAILBIRD_SKIPPED: dict[str, str] = {
    "data/js/payload_details.js": "the number of posts and the date of the export",
}
"""Files that the archive holds and that are deliberately not read, with what they hold."""

GRAILBIRD_MARKERS = ("data/js/tweet_index.js", "data/js/user_details.js", "tweets.csv")
"""Any one of these, at the top or one folder down, makes a zip or folder an archive before 2019."""

_GRAILBIRD_FIX = "unzip the archive again from the zip X sent (X no longer offers this layout for download)"
_MONTH_NAME = re.compile(r"^data/js/tweets/[\w-]+\.js$")
_CSV_HEADER = re.compile(rb'^"?tweet_id"?\s*,\s*"?in_reply_to_status_id"?\s*,')
_TCO = re.compile(r"https?://t\.co/\w+")
_MEDIA_PAGE = re.compile(r"^https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status/\d+/(?:photo|video)/\d+$",
                         re.I)


def _is_tweets_csv(head: bytes) -> bool:
    return bool(_CSV_HEADER.match(head[:256].lstrip(b"\xef\xbb\xbf \t\r\n")))


def _csv_rows(data: bytes, where: str) -> list[dict[str, str]]:
    """The rows of the archive's ``tweets.csv``, checked for its ``tweet_id`` and ``text`` columns."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArchiveFormatError(f"{where} is not UTF-8 text ({e}); {_GRAILBIRD_FIX}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not {"tweet_id", "text"} <= set(reader.fieldnames or ()):
        raise ArchiveFormatError(
            f"{where} has no tweet_id and text columns, so it is not the tweets.csv of an X archive from "
            f"before 2019; pass a table of posts as file:PATH instead")
    try:
        return list(reader)
    except csv.Error as e:
        raise ArchiveFormatError(f"{where} is not a readable CSV ({e}); {_GRAILBIRD_FIX}") from None


def _csv_tweet(row: dict[str, str]) -> dict:
    """A ``tweets.csv`` row as the status object a month file would hold (what ``x_posts`` reads)."""
    text = row.get("text") or ""
    t: dict = {"id_str": (row.get("tweet_id") or "").strip(), "text": text,
               "created_at": row.get("timestamp") or None, "source": row.get("source") or ""}
    if row.get("in_reply_to_status_id"):
        t["in_reply_to_status_id_str"] = row["in_reply_to_status_id"]
        t["in_reply_to_user_id_str"] = row.get("in_reply_to_user_id") or None
    if row.get("retweeted_status_id"):
        t["retweeted_status"] = {"id_str": row["retweeted_status_id"],
                                 "user": {"id_str": row.get("retweeted_status_user_id") or ""},
                                 "created_at": row.get("retweeted_status_timestamp") or None}
    # expanded_urls lists the targets of the text's t.co links in order (a medium's page repeated once
    # per photo); a photo or video page stands for a medium, whose link is removed as in month files.
    shorts = _TCO.findall(text)
    targets = list(dict.fromkeys(u for u in (row.get("expanded_urls") or "").split(",") if u))
    if shorts and len(shorts) == len(targets):
        ents: dict[str, list[dict]] = {"urls": [], "media": []}
        for short, target in zip(shorts, targets):
            ents["media" if _MEDIA_PAGE.match(target) else "urls"].append({"url": short, "expanded_url": target})
        t["entities"] = ents
    return t


class GrailbirdArchiveSource(ExportSource):
    """An X archive from before 2019: posts from ``data/js/tweets/YYYY_MM.js`` (else ``tweets.csv``),
    who wrote them from ``data/js/user_details.js``. The zip, its folder, or one month file or the
    ``tweets.csv`` alone."""

    network: ClassVar[str] = "x"

    def __init__(self, *args: Any, user: dict, members: list[str], from_csv: bool, skipped: list[str],
                 **kw: Any):
        super().__init__(*args, **kw)
        self.user = user  # user_details.js: screen_name, full_name, id
        self.members = members  # the files that hold the posts, in order
        self.from_csv = from_csv  # members is [tweets.csv]: the archive has no month files
        self.skipped = skipped
        self.handle = ""

    @staticmethod
    def sniff(c: Container) -> bool:
        """True for a month file or ``tweets.csv`` given alone.

        Raises:
            ArchiveFormatError: another file of such an archive (``user_details.js``, ...) given alone.
        """
        with open(c.path, "rb") as f:
            head = f.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
        if head.startswith(b"Grailbird.data.tweets_") or _is_tweets_csv(head):
            return True
        m = re.match(rb"var\s+(\w+)\s*=", head)
        name = f"data/js/{m.group(1).decode()}.js" if m else ""
        about = GRAILBIRD_FILES[name].what if name in GRAILBIRD_FILES else GRAILBIRD_SKIPPED.get(name)
        if about:
            raise ArchiveFormatError(
                f"{c.path} is the {name} of an X archive from before 2019 ({about}), not its posts; "
                f"pass the whole archive: the zip X sent, or its unpacked folder (with tweets.csv and data/)")
        return False

    @classmethod
    def open(cls, c: Container, base: str, posts_file: str, spec: str,
             options: SourceOptions) -> "GrailbirdArchiveSource":
        data = _GrailbirdData()
        skipped: list[str] = []
        if c.kind == "file":
            members = [posts_file]
            with open(c.path, "rb") as f:
                from_csv = _is_tweets_csv(f.read(256))
        else:
            for name in ("data/js/user_details.js", "data/js/tweet_index.js"):
                if c.exists(base + name):
                    value = parse_ytd(c.read(base + name), f"{c.path}: {base}{name}", _GRAILBIRD_FIX)[1]
                    GRAILBIRD_FILES[name].read(data, value)
            members = cls._months(c, base, data.months)
            skipped = [base + n for n in GRAILBIRD_SKIPPED if c.exists(base + n)]
            from_csv = not members
            if from_csv:
                members = [base + "tweets.csv"]
                if not c.exists(members[0]):
                    raise ArchiveFormatError(
                        f"{c.path}: this X archive from before 2019 holds no data/js/tweets/YYYY_MM.js "
                        f"month files and no tweets.csv; {_GRAILBIRD_FIX}")
                if not _is_tweets_csv(c.read(members[0])):
                    raise ArchiveFormatError(
                        f"{c.path}: {members[0]} does not start with the tweet_id,in_reply_to_status_id,... "
                        f"header of an X archive from before 2019, and the archive has no month files; "
                        f"pass a table of posts as file:PATH instead")
            elif c.exists(base + "tweets.csv"):
                skipped.append(base + "tweets.csv")  # the same posts as the month files, with less detail
        src = cls(c.path, c.kind, base, members[0], spec, options, user=data.user, members=members,
                  from_csv=from_csv, skipped=sorted(skipped))
        if not data.user.get("screen_name") and not from_csv:
            src.user = src._author(c, members[0])  # no user_details.js: every post names its author
        src.handle = choose_handle(spec, src.user.get("screen_name"), options)
        return src

    @staticmethod
    def _months(c: Container, base: str, listed: list[str]) -> list[str]:
        """Month files: those that tweet_index.js lists, in its order, then any others, newest first."""
        out: list[str] = []
        for file_name in listed:
            if not _MONTH_NAME.match(file_name):
                raise ArchiveFormatError(
                    f"{c.path}: data/js/tweet_index.js lists {file_name!r}, which is not a month file "
                    f"under data/js/tweets/; {_GRAILBIRD_FIX}")
            if not c.exists(base + file_name):
                raise ArchiveFormatError(
                    f"{c.path}: {file_name} is listed in data/js/tweet_index.js but missing; the archive "
                    f"is incomplete: {_GRAILBIRD_FIX}")
            if base + file_name not in out:
                out.append(base + file_name)
        out += sorted((m for m in c.glob(base + _MONTH_FILES) if m not in out), reverse=True)
        return out

    def _where(self, member: str) -> str:
        return str(self.path) if self.kind == "file" else f"{self.path}: {member}"

    def _month(self, c: Container, member: str) -> list:
        _, value = parse_ytd(c.read(member), self._where(member), _GRAILBIRD_FIX)
        if not isinstance(value, list):
            raise ArchiveFormatError(f"{self._where(member)} does not hold a list of posts; {_GRAILBIRD_FIX}")
        return value

    def _author(self, c: Container, member: str) -> dict:
        for t in self._month(c, member):
            user = t.get("user") if isinstance(t, dict) else None
            if isinstance(user, dict) and user.get("screen_name"):
                return {"screen_name": user["screen_name"], "full_name": user.get("name"),
                        "id": user.get("id_str") or user.get("id")}
        return {}

    def profile(self) -> Profile:
        uid = self.user.get("id")
        return Profile(
            handle=self.handle,
            name=self.user.get("full_name") or None,
            account_id=str(uid) if uid not in (None, "") else None,  # = account.js's accountId
            url=f"https://x.com/{self.handle}",
            extra={"source": "x-archive-grailbird", "skipped": self.skipped},
        )

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        data = _GrailbirdData()
        with gc_paused():
            with Container.open(self.path) as c:
                for member in self.members:
                    if self.from_csv:
                        GRAILBIRD_FILES["tweets.csv"].read(data, _csv_rows(c.read(member), self._where(member)))
                    else:
                        GRAILBIRD_FILES[_MONTH_FILES].read(data, self._month(c, member))
            uid = self.user.get("id")
            posts = list(x_posts(data.tweets, (), str(uid) if uid not in (None, "") else None, self.handle))
        del data
        yield from paged(posts, PAGE_SIZE)
