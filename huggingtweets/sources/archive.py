"""``archive:PATH``: an account export, as the zip the service gives, its unpacked folder, or the one
file that holds the posts.

Two exports are recognised by the files they hold:

- X/Twitter ("Download an archive of your data"): ``data/tweets.js`` (older exports:
  ``data/tweet.js``), split into ``tweets-partN.js`` files in large archives, with ``data/account.js``,
  ``data/profile.js`` and ``data/note-tweet.js`` (the full text of long posts). See docs/background.md.
  Archives from before 2019 ("Grailbird") hold ``data/js/tweets/YYYY_MM.js`` month files, listed in
  ``data/js/tweet_index.js``, with ``data/js/user_details.js`` and a ``tweets.csv`` of the same posts.
- Mastodon ("Request your archive"): ``outbox.json`` (ActivityPub) and ``actor.json``. Only posts
  addressed to the public are read: the export also holds direct and followers-only messages, which
  must never reach the store.

Only the few ``.js``/``.json`` members named here are read, each under a size limit; the media that
make up most of an export are never extracted (see ``_container``).
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, MutableMapping
from urllib.parse import urlsplit

import orjson

from .. import paths
from ..errors import ArchiveFormatError, HandleMismatchError, HandleRequiredError
from ._container import Container
from ._html import html_to_text
from .base import Page, Post, Profile, SourceOptions, check_handle, gc_paused, paged

PAGE_SIZE = 5_000
"""Posts per page; the store saves each page in one transaction."""

# -- reading X's "window.YTD.<name>.partN = [...]" files -----------------------------------------

# "window.YTD.tweets.part0 =", and in archives before 2019 "Grailbird.data.tweets_2013_05 =" and
# "var user_details =". A name never holds a space, so "var " adds matches and changes none.
_PREFIX = re.compile(rb"^\s*(?:window\.|var\s+)?([A-Za-z_$][\w$.]*)\s*$")


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
        m = _PREFIX.match(data[start:eq]) if eq >= 0 else None
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


def _items(value: Any, key: str) -> Iterator[dict]:
    """The objects of a YTD list; items are ``{key: {...}}`` wrappers (the oldest exports had none)."""
    if not isinstance(value, list):
        return
    for item in value:
        if isinstance(item, dict):
            inner = item.get(key)
            yield inner if isinstance(inner, dict) else item


# -- the X archive: one reader per file, and the files left alone on purpose ----------------------


@dataclass
class _XData:
    account: dict = field(default_factory=dict)
    profile: dict = field(default_factory=dict)
    tweets: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)


def _read_account(data: _XData, value: Any) -> None:
    for item in _items(value, "account"):
        data.account = item
        return


def _read_profile(data: _XData, value: Any) -> None:
    for item in _items(value, "profile"):
        data.profile = item
        return


def _read_tweets(data: _XData, value: Any) -> None:
    data.tweets.extend(_items(value, "tweet"))


def _read_note_tweets(data: _XData, value: Any) -> None:
    data.notes.extend(_items(value, "noteTweet"))


@dataclass(frozen=True)
class XFile:
    data_type: str  # the file's key in data/manifest.js, which lists its partN files
    read: Callable[[_XData, Any], None]


X_FILES: dict[str, XFile] = {
    "account.js": XFile("account", _read_account),
    "profile.js": XFile("profile", _read_profile),
    "tweets.js": XFile("tweets", _read_tweets),
    "tweet.js": XFile("tweet", _read_tweets),  # exports before 2022
    "note-tweet.js": XFile("noteTweet", _read_note_tweets),
}
"""Archive file (under ``data/``, parts ``-partN`` included) -> how it is read."""

X_SKIPPED: dict[str, str] = {
    "deleted-tweets.js": "deleted posts are no longer the account's voice",
    "deleted-note-tweet.js": "deleted posts are no longer the account's voice",
    "community-tweet.js": "posts inside Communities, written for a narrower audience",
    "like.js": "other people's posts",
    "direct-messages.js": "private messages",
    "direct-messages-group.js": "private messages",
}
"""Files that hold posts or messages but are deliberately not read, with the reason."""

TWEET_FILES = ("data/tweets.js", "data/tweet.js")
MASTODON_FILES = ("outbox.json",)
_PART = re.compile(r"-part\d+(?=\.js$)")


def _part_number(name: str) -> int:
    m = re.search(r"-part(\d+)\.js$", name)
    return int(m.group(1)) if m else 0


# -- X posts ------------------------------------------------------------------------------------

_MONTHS = {m: f"{i:02d}" for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_STATUS_URL = re.compile(r"^https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status(?:es)?/\d+", re.I)
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")
_GRAILBIRD_UTC = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000$")


def x_date(value: str | None) -> str | None:
    """``Wed Jul 27 15:19:52 +0000 2022`` -> ``2022-07-27T15:19:52Z``; None if unreadable.

    Archives before 2019 write ``2013-05-01 12:00:00 +0000`` -> ``2013-05-01T12:00:00Z``.
    """
    if not value:
        return None
    parts = value.split()
    if len(parts) == 6 and parts[4] == "+0000" and parts[1] in _MONTHS:
        # The archive always writes UTC; string slicing is ~20x faster than strptime on 200k posts.
        return f"{parts[5]}-{_MONTHS[parts[1]]}-{parts[2].zfill(2)}T{parts[3]}Z"
    if _GRAILBIRD_UTC.match(value):
        return f"{parts[0]}T{parts[1]}Z"
    for fmt in ("%a %b %d %H:%M:%S %z %Y", "%Y-%m-%d %H:%M:%S %z", None):
        try:
            dt = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def _tweet_text(t: dict) -> str:
    """``full_text`` unescaped, t.co links replaced by their targets, media links removed."""
    text = t.get("full_text") or t.get("text") or ""
    if "&" in text:
        text = html.unescape(text)
    ents = t.get("entities") or {}
    for u in ents.get("urls") or ():
        short, target = u.get("url"), u.get("expanded_url")
        if short and target:
            text = text.replace(short, target)
    media = list(ents.get("media") or ())
    media += (t.get("extended_entities") or {}).get("media") or ()
    for m in media:
        short = m.get("url")
        if short and short in text:
            text = text.replace(short, "")
    return text.strip()


def _note_text(note: dict) -> str:
    core = note.get("core") or {}
    text = core.get("text") or ""
    if "&" in text:
        text = html.unescape(text)
    for u in core.get("urls") or ():
        short, target = u.get("shortUrl"), u.get("expandedUrl")
        if short and target:
            text = text.replace(short, target)
    return text.strip()


def _comparable(text: str) -> str:
    # Links differ between a cut post and its note (t.co vs. full URL), and the cut ends in "…".
    text = _URL.sub(" ", text)
    return _SPACE.sub(" ", text).strip().rstrip("\u2026").rstrip(".").strip()


class _Notes:
    """Long posts' full texts, found by their post's second and text (docs/background.md)."""

    def __init__(self, notes: Iterable[dict]):
        self.by_second: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        for n in notes:
            second = (n.get("createdAt") or "")[:19]
            if second:
                self.by_second[second].append((_note_text(n), n))

    def complete(self, created_at: str | None, text: str) -> tuple[str, dict] | None:
        if not self.by_second or not created_at:
            return None
        candidates = self.by_second.get(created_at[:19])
        if not candidates:
            return None
        cut = _comparable(text)
        if not cut:
            return None
        for i, (full, note) in enumerate(candidates):
            if _comparable(full).startswith(cut):
                del candidates[i]  # one note completes one post
                return full, note
        return None


def _latest_versions(tweets: list[dict]) -> set[str]:
    """Ids of the versions to keep: for each edited post, its newest version in the archive."""
    newest: dict[str, str] = {}
    for t in tweets:
        info = t.get("edit_info")
        if not info:
            continue
        tid = t.get("id_str") or str(t.get("id", ""))
        initial = (info.get("edit") or {}).get("initialTweetId") or tid
        best = newest.get(initial)
        if best is None or (len(tid), tid) > (len(best), best):
            newest[initial] = tid
    return set(newest.values())


def x_posts(tweets: list[dict], notes: Iterable[dict], own_id: str | None, handle: str) -> Iterator[Post]:
    """Posts from archive tweet objects: one per post (older versions of edits dropped), in order."""
    latest = _latest_versions(tweets)
    note_index = _Notes(notes)
    handle_l = handle.lower()
    seen: set[str] = set()
    for t in tweets:
        tid = t.get("id_str") or str(t.get("id") or "")
        if not tid or tid in seen:
            continue
        seen.add(tid)
        if t.get("edit_info") and tid not in latest:
            continue
        created = x_date(t.get("created_at"))
        text = _tweet_text(t)
        raw = t
        completed = note_index.complete(created, text) if note_index.by_second else None
        if completed:
            text = completed[0]
            raw = {**t, "note_tweet": completed[1]}
        reply_to = t.get("in_reply_to_status_id_str") or None
        if text.startswith("RT @") or t.get("retweeted_status"):  # the latter: archives before 2019
            kind = "retweet"
        elif reply_to and not _to_self(t, own_id, handle_l):
            kind = "reply"
        elif t.get("quoted_status_id_str") or _ends_with_status_link(t, text):
            kind = "quote"
        else:
            kind = "original"
        yield Post(id=tid, text=text, kind=kind, created_at=created, in_reply_to=reply_to,
                   lang=t.get("lang"), raw=raw, versions=_versions(t))


def _versions(t: dict) -> tuple[str, ...]:
    """Ids of every version of an edited post (empty when it was never edited)."""
    info = t.get("edit_info")
    if not info:
        return ()
    ids = ((info.get("initial") or {}).get("editTweetIds")
           or ((info.get("edit") or {}).get("editControlInitial") or {}).get("editTweetIds") or ())
    return tuple(str(i) for i in ids) if len(ids) > 1 else ()


def _to_self(t: dict, own_id: str | None, handle_l: str) -> bool:
    uid = t.get("in_reply_to_user_id_str")
    if own_id and uid:
        return uid == own_id
    name = t.get("in_reply_to_screen_name")
    return bool(name) and name.lower() == handle_l


def _ends_with_status_link(t: dict, text: str) -> bool:
    for u in (t.get("entities") or {}).get("urls") or ():
        target = u.get("expanded_url") or ""
        if _STATUS_URL.match(target) and text.endswith(target):
            return True
    return False


# -- Mastodon posts -----------------------------------------------------------------------------

PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
_POST_TYPES = frozenset({"Note", "Question", "Article"})


def _audience(obj: dict) -> set[str] | None:
    """Everyone an activity or object is addressed to; None when it carries no addressing."""
    found = False
    out: set[str] = set()
    for key in ("to", "cc"):
        value = obj.get(key)
        if value is None:
            continue
        found = True
        for v in [value] if isinstance(value, (str, dict)) else value:
            out.add(v.get("id", "") if isinstance(v, dict) else str(v))
    return out if found else None


def is_public(activity: dict) -> bool:
    """True only when the activity and its object (where it says) are both addressed to the public.

    Direct and followers-only posts are addressed to people or a followers collection only.
    """
    audiences = [_audience(activity)]
    if isinstance(activity.get("object"), dict):
        audiences.append(_audience(activity["object"]))
    present = [a for a in audiences if a is not None]
    return bool(present) and all(a & PUBLIC for a in present)


def _iso(value: str | None) -> str | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status_id(url: str) -> str:
    """``https://host/users/jane/statuses/109`` (or ``.../109/activity``) -> ``109``."""
    path = url.rstrip("/")
    if path.endswith("/activity"):
        path = path[: -len("/activity")]
    last = path.rsplit("/", 1)[-1]
    return last or url


# Where servers name the post a note quotes: Mastodon writes quote, quoteUri and _misskey_quote;
# Misskey _misskey_quote and quoteUrl; Pleroma quoteUrl; Fedibird quoteUri.
_QUOTE_KEYS = ("quote", "quoteUri", "quoteUrl", "_misskey_quote")
# FEP-e232 object links, as the "tag" entries that name a quoted post (Misskey, Akkoma, Mastodon 4.4+).
_OBJECT_LINK_TYPES = frozenset({'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                                "application/activity+json"})


def ap_quote_refs(obj: dict) -> list[str]:
    """The URLs a note gives for the post it quotes (empty when it is not a quote post)."""
    refs: list[str] = []
    for key in _QUOTE_KEYS:
        value = obj.get(key)
        if isinstance(value, dict):
            refs += [str(value[k]) for k in ("id", "url") if isinstance(value.get(k), str)]
        elif isinstance(value, str) and value:
            refs.append(value)
    tags = obj.get("tag")
    for tag in [tags] if isinstance(tags, dict) else tags if isinstance(tags, list) else ():
        if (isinstance(tag, dict) and tag.get("type") == "Link" and isinstance(tag.get("href"), str)
                and " ".join(str(tag.get("mediaType") or "").split()) in _OBJECT_LINK_TYPES):
            refs.append(tag["href"])
    return list(dict.fromkeys(refs))


def mastodon_posts(items: Iterable[dict], actor_id: str | None, options: SourceOptions) -> Iterator[Post]:
    """Posts from an outbox's ``orderedItems``: public ``Create`` notes and ``Announce`` boosts.

    A note that names a quoted post (``ap_quote_refs``) is a ``quote``, and its text loses the
    fallback its server added for software that cannot show quotes (``RE: <link>``).
    """
    for item in items:
        if not isinstance(item, dict):
            continue
        typ = item.get("type")
        if typ not in ("Create", "Announce") or not is_public(item):
            continue
        obj = item.get("object")
        if typ == "Announce":
            target = obj.get("id", "") if isinstance(obj, dict) else str(obj or "")
            content = obj.get("content") if isinstance(obj, dict) else None
            quoted = ap_quote_refs(obj) if isinstance(obj, dict) else []
            yield Post(id=_status_id(str(item.get("id") or target)),
                       text=html_to_text(content, quoted) if content else target, kind="retweet",
                       created_at=_iso(item.get("published")), raw=item)
            continue
        if not isinstance(obj, dict) or obj.get("type") not in _POST_TYPES:
            continue
        if not options.content_warnings and (obj.get("summary") or "").strip():
            continue
        content = obj.get("content")
        content_map = obj.get("contentMap") or {}
        if content is None and content_map:
            content = next(iter(content_map.values()))
        reply_to = obj.get("inReplyTo") or None
        if isinstance(reply_to, dict):
            reply_to = reply_to.get("id")
        author = str(obj.get("attributedTo") or item.get("actor") or actor_id or "")
        own = bool(reply_to) and bool(author) and str(reply_to).startswith(author.rstrip("/") + "/")
        quoted = ap_quote_refs(obj)
        yield Post(
            id=_status_id(str(obj.get("id") or item.get("id") or "")),
            text=html_to_text(content or "", quoted),
            kind="reply" if reply_to and not own else "quote" if quoted else "original",
            created_at=_iso(obj.get("published") or item.get("published")),
            in_reply_to=_status_id(str(reply_to)) if reply_to else None,
            lang=next(iter(content_map), None),
            raw=item,
        )


# -- the source ---------------------------------------------------------------------------------


def _same_handle(given: str, actual: str) -> bool:
    g, a = given.lower(), actual.lower()
    return g == a or ("@" in a and "@" not in g and a.split("@", 1)[0] == g)


def _choose_handle(spec: str, found: str | None, options: SourceOptions) -> str:
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


def _save_avatar(data: bytes, network: str, handle: str, suffix: str) -> str:
    folder = paths.cache_dir() / "avatars"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{network}-{handle.lower()}{suffix.lower() or '.jpg'}"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return str(target)


class ArchiveSource:
    """``archive:PATH``: an X archive or a Mastodon export (zip, unpacked folder, or the posts file).

    ``from_spec`` looks at what the path holds and returns an ``XArchiveSource``, a
    ``GrailbirdArchiveSource`` (X before 2019) or a ``MastodonExportSource``; every problem (missing
    path, damaged zip, no posts file, bad handle) is raised there, before anything is fetched.

        src = ArchiveSource.from_spec("twitter-2024.zip", "archive:twitter-2024.zip", SourceOptions())
        src.profile().handle
        for page in src.pages({}): ...
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
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "ArchiveSource":
        """Open ``value`` (a path) and check it holds a readable export.

        Raises:
            SourceNotFoundError, ArchiveFormatError, ArchiveTooLargeError, HandleRequiredError,
            InvalidHandleError, HandleMismatchError.
        """
        path = Path(value).expanduser()
        if path.name == "data" and any((path / n).is_file() for n in ("tweets.js", "tweet.js",
                                                                       "js/tweet_index.js", "js/user_details.js")):
            path = path.parent  # the archive's data/ folder itself: read the archive around it
        with Container.open(path) as c:
            from .bluesky_export import BlueskyExportSource, find_car  # Bluesky's repo.car export
            car = find_car(c)
            if car is not None:
                return BlueskyExportSource.open(c, car, spec, options)  # type: ignore[return-value]
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

    @classmethod
    def open(cls, c: Container, base: str, posts_file: str, spec: str,
             options: SourceOptions) -> "ArchiveSource":
        raise NotImplementedError

    def _read_json(self, c: Container, member: str) -> tuple[str, Any]:
        return parse_ytd(c.read(member), f"{self.path}: {member}" if self.kind != "file" else str(self.path))

    def profile(self) -> Profile:
        raise NotImplementedError

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        raise NotImplementedError


def _sniff_single_file(c: Container) -> type[ArchiveSource]:
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
    raise ArchiveFormatError(
        f"{c.path}: not a zip, a folder, an X tweets.js or a Mastodon outbox.json; pass the archive "
        f"zip as downloaded (or its unpacked folder)")


class XArchiveSource(ArchiveSource):
    """An X/Twitter archive: posts from ``data/tweets.js`` and its parts, completed by note-tweets."""

    network: ClassVar[str] = "x"

    def __init__(self, *args: Any, account: dict, present: list[str], **kw: Any):
        super().__init__(*args, **kw)
        self.account = account
        self.present = present  # members under data/ that the archive holds, read or skipped
        self.handle = ""

    @classmethod
    def open(cls, c: Container, base: str, posts_file: str, spec: str,
             options: SourceOptions) -> "XArchiveSource":
        account: dict = {}
        if c.kind != "file":
            present = c.glob(base + "data/*.js")
            if c.exists(base + "data/account.js"):
                data = _XData()
                _read_account(data, parse_ytd(c.read(base + "data/account.js"),
                                              f"{c.path}: {base}data/account.js")[1])
                account = data.account
        else:
            present = [posts_file]
            with open(c.path, "rb") as f:
                head = f.read(1024)
            eq = head.find(b"=")
            m = _PREFIX.match(head[3 if head.startswith(b"\xef\xbb\xbf") else 0:eq]) if eq >= 0 else None
            if m and not _posts_global(m.group(1).decode()):
                raise ArchiveFormatError(
                    f"{c.path} holds window.{m.group(1).decode()}, not posts; pass the archive's "
                    f"data/tweets.js (or the whole archive)")
        src = cls(c.path, c.kind, base, posts_file, spec, options, account=account, present=present)
        src.handle = _choose_handle(spec, account.get("username"), options)
        return src

    def _members(self, c: Container) -> dict[str, list[str]]:
        """For each file of ``X_FILES`` the archive holds: its members, parts in order."""
        if self.kind == "file":
            return {"tweets.js": [self.posts_file]}
        data_dir = self.base + "data/"
        out: dict[str, list[str]] = defaultdict(list)
        for member in self.present:
            key = _PART.sub("", member[len(data_dir):])
            if key in X_FILES:
                out[key].append(member)
        listed = self._manifest(c)
        for key, spec in X_FILES.items():
            for file_name in listed.get(spec.data_type, ()):
                member = self.base + file_name
                if not c.exists(member):
                    raise ArchiveFormatError(
                        f"{self.path}: {file_name} is listed in data/manifest.js but missing; the "
                        f"archive is incomplete: download it again")
                if member not in out[key]:
                    out[key].append(member)
        for key in out:
            out[key].sort(key=_part_number)
        return out

    def _manifest(self, c: Container) -> dict[str, list[str]]:
        member = self.base + "data/manifest.js"
        if not c.exists(member):
            return {}
        _, manifest = self._read_json(c, member)
        types = manifest.get("dataTypes") if isinstance(manifest, dict) else None
        out: dict[str, list[str]] = {}
        for key, spec in X_FILES.items():
            files = ((types or {}).get(spec.data_type) or {}).get("files") or []
            out[spec.data_type] = [f["fileName"] for f in files if isinstance(f, dict) and f.get("fileName")]
        return out

    def profile(self) -> Profile:
        avatar_url = avatar_path = None
        name = self.account.get("accountDisplayName")
        skipped = sorted(m for m in self.present if _PART.sub("", m.rsplit("/", 1)[-1]) in X_SKIPPED)
        if self.kind != "file":
            with Container.open(self.path) as c:
                member = self.base + "data/profile.js"
                if c.exists(member):
                    data = _XData()
                    _read_profile(data, self._read_json(c, member)[1])
                    avatar_url = data.profile.get("avatarMediaUrl") or None
                if avatar_url:
                    avatar_path = self._extract_avatar(c, avatar_url)
        return Profile(
            handle=self.handle,
            name=name,
            avatar_url=avatar_url,
            avatar_path=avatar_path,
            account_id=self.account.get("accountId") or None,
            url=f"https://x.com/{self.handle}",
            extra={"source": "x-archive", "skipped": skipped},
        )

    def _extract_avatar(self, c: Container, avatar_url: str) -> str | None:
        # The archive names it "<account id>-<file name of the URL>" under data/profile_media/.
        leaf = urlsplit(avatar_url).path.rsplit("/", 1)[-1]
        if not leaf:
            return None
        for member in c.glob(self.base + "data/profile_media/*"):
            if member.rsplit("/", 1)[-1] in (leaf, f"{self.account.get('accountId')}-{leaf}") or \
                    member.endswith("-" + leaf):
                return _save_avatar(c.read(member), self.network, self.handle, Path(leaf).suffix)
        return None

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        data = _XData()
        with gc_paused():
            with Container.open(self.path) as c:
                for key, members in self._members(c).items():
                    for member in members:
                        _, value = self._read_json(c, member)
                        if not isinstance(value, list):
                            raise ArchiveFormatError(
                                f"{self.path}: {member} does not hold a list; download the archive again")
                        X_FILES[key].read(data, value)
            own_id = self.account.get("accountId") or None
            posts = list(x_posts(data.tweets, data.notes, own_id, self.handle))
        del data
        yield from paged(posts, PAGE_SIZE)


def _posts_global(name: str) -> bool:
    # "YTD.tweets.part0" / "YTD.tweet.part3"; a plain JSON list has no name.
    parts = name.split(".")
    return not name or (len(parts) >= 2 and parts[1] in ("tweets", "tweet"))


class MastodonExportSource(ArchiveSource):
    """A Mastodon account export: public posts and boosts from ``outbox.json``, who from ``actor.json``."""

    network: ClassVar[str] = "mastodon"

    def __init__(self, *args: Any, actor: dict, **kw: Any):
        super().__init__(*args, **kw)
        self.actor = actor
        self.actor_id: str | None = None
        self.handle = ""

    @classmethod
    def open(cls, c: Container, base: str, posts_file: str, spec: str,
             options: SourceOptions) -> "MastodonExportSource":
        actor: dict = {}
        if c.kind != "file" and c.exists(base + "actor.json"):
            value = parse_ytd(c.read(base + "actor.json"), f"{c.path}: {base}actor.json")[1]
            actor = value if isinstance(value, dict) else {}
        src = cls(c.path, c.kind, base, posts_file, spec, options, actor=actor)
        actor_id = str(actor.get("id") or "")
        user = actor.get("preferredUsername")
        found = None
        if not (user and actor_id):
            # No actor.json (a bare outbox.json): the outbox names its actor on every item.
            actor_id = actor_id or src._outbox_actor(c) or ""
            user = user or actor_id.rstrip("/").rsplit("/", 1)[-1]
        host = urlsplit(actor_id).hostname if actor_id else None
        if user and host:
            found = f"{user}@{host}"
        src.actor_id = actor_id or None
        src.handle = _choose_handle(spec, found, options)
        return src

    def _outbox_actor(self, c: Container) -> str | None:
        outbox = self._outbox(c)
        for item in outbox.get("orderedItems") or ():
            if isinstance(item, dict) and isinstance(item.get("actor"), str):
                return item["actor"]
        return None

    def _outbox(self, c: Container) -> dict:
        _, outbox = self._read_json(c, self.posts_file)
        if not isinstance(outbox, dict) or not isinstance(outbox.get("orderedItems"), list):
            where = self.path if c.kind == "file" else f"{self.path}: {self.posts_file}"
            raise ArchiveFormatError(
                f"{where} is not a Mastodon outbox (no orderedItems list); pass the export zip "
                f"as downloaded from Preferences > Import and export")
        return outbox

    def profile(self) -> Profile:
        icon = self.actor.get("icon")
        icon_url = icon.get("url") if isinstance(icon, dict) else icon if isinstance(icon, str) else None
        avatar_url = icon_url if icon_url and icon_url.startswith(("http://", "https://")) else None
        avatar_path = None
        if self.kind != "file":
            # The export stores the image next to actor.json and points icon.url at it ("avatar.png").
            leaf = urlsplit(icon_url).path.rsplit("/", 1)[-1] if icon_url else ""
            names = ([leaf] if leaf else []) + [f"avatar.{ext}" for ext in ("png", "jpg", "jpeg", "gif", "webp")]
            with Container.open(self.path) as c:
                for name in names:
                    if c.exists(self.base + name):
                        avatar_path = _save_avatar(c.read(self.base + name), self.network,
                                                   self.handle, Path(name).suffix)
                        break
        user, _, host = self.handle.partition("@")
        return Profile(
            handle=self.handle,
            name=self.actor.get("name") or None,
            avatar_url=avatar_url,
            avatar_path=avatar_path,
            account_id=None,  # the handle (user@server) is what the export and the live API share
            url=self.actor.get("url") or (f"https://{host}/@{user}" if host else None),
            extra={"source": "mastodon-export", "actor": self.actor_id},
        )

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        with gc_paused():
            with Container.open(self.path) as c:
                outbox = self._outbox(c)
            posts = list(mastodon_posts(outbox["orderedItems"], self.actor_id, self.options))
        del outbox
        yield from paged(posts, PAGE_SIZE)


# -- the X archive before 2019 ("Grailbird"): data/js/tweets/YYYY_MM.js, else tweets.csv ----------


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


class GrailbirdArchiveSource(ArchiveSource):
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
        src.handle = _choose_handle(spec, src.user.get("screen_name"), options)
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
