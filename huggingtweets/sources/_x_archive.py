"""The X/Twitter archive ("Download an archive of your data"), from 2019 on: which of its ``data/*.js``
files are read and how (``X_FILES``), which are skipped on purpose (``X_SKIPPED``), the posts made from
its tweet objects (``x_posts``, also used by ``_grailbird``), and ``XArchiveSource``.

Posts are in ``data/tweets.js`` (older exports: ``data/tweet.js``), split into ``tweets-partN.js``
files in large archives; ``data/account.js`` and ``data/profile.js`` say whose they are, and
``data/note-tweet.js`` holds the full text of long posts. See docs/background.md.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Iterator, MutableMapping
from urllib.parse import urlsplit

from ..errors import ArchiveFormatError
from ._archive_base import PAGE_SIZE, YTD_PREFIX, ExportSource, choose_handle, parse_ytd, save_avatar
from ._container import Container
from ._dates import parse_date
from .base import Page, Post, Profile, SourceOptions, gc_paused, paged

# -- the X archive: one reader per file, and the files left alone on purpose ----------------------


def _items(value: Any, key: str) -> Iterator[dict]:
    """The objects of a YTD list; items are ``{key: {...}}`` wrappers (the oldest exports had none)."""
    if not isinstance(value, list):
        return
    for item in value:
        if isinstance(item, dict):
            inner = item.get(key)
            yield inner if isinstance(inner, dict) else item


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
"""The files that make a zip or folder an X archive, at the top or one folder down."""
_PART = re.compile(r"-part\d+(?=\.js$)")


def _part_number(name: str) -> int:
    m = re.search(r"-part(\d+)\.js$", name)
    return int(m.group(1)) if m else 0


# -- X posts ------------------------------------------------------------------------------------

_STATUS_URL = re.compile(r"^https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/\w+/status(?:es)?/\d+", re.I)
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


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
            # "2022-07-27T15:19:52.000Z" here, "Wed Jul 27 15:19:52 +0000 2022" on the post: one shape.
            second = (parse_date(n.get("createdAt")) or "")[:19]
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
        created = parse_date(t.get("created_at"))
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


# -- the source ---------------------------------------------------------------------------------


class XArchiveSource(ExportSource):
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
            m = YTD_PREFIX.match(head[3 if head.startswith(b"\xef\xbb\xbf") else 0:eq]) if eq >= 0 else None
            if m and not _posts_global(m.group(1).decode()):
                raise ArchiveFormatError(
                    f"{c.path} holds window.{m.group(1).decode()}, not posts; pass the archive's "
                    f"data/tweets.js (or the whole archive)")
        src = cls(c.path, c.kind, base, posts_file, spec, options, account=account, present=present)
        src.handle = choose_handle(spec, account.get("username"), options)
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
                return save_avatar(c.read(member), self.network, self.handle, Path(leaf).suffix)
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
                        if value and not any(isinstance(item, dict) for item in value):
                            raise ArchiveFormatError(
                                f"{self.path}: {member} holds {type(value[0]).__name__} values, not records; "
                                f"download the archive again")
                        X_FILES[key].read(data, value)
            own_id = self.account.get("accountId") or None
            posts = list(x_posts(data.tweets, data.notes, own_id, self.handle))
        del data
        yield from paged(posts, PAGE_SIZE)


def _posts_global(name: str) -> bool:
    # "YTD.tweets.part0" / "YTD.tweet.part3"; a plain JSON list has no name.
    parts = name.split(".")
    return not name or (len(parts) >= 2 and parts[1] in ("tweets", "tweet"))
