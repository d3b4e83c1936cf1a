"""The Mastodon account export ("Request your archive"): public posts and boosts from ``outbox.json``
(ActivityPub), whose they are from ``actor.json``: ``mastodon_posts`` and ``MastodonExportSource``.

Only posts addressed to the public are read: the export also holds direct and followers-only
messages, which must never reach the store (``is_public``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, MutableMapping
from urllib.parse import urlsplit

from ..errors import ArchiveFormatError
from ._archive_base import PAGE_SIZE, ExportSource, choose_handle, parse_ytd, save_avatar
from ._container import Container
from ._dates import parse_date
from ._html import html_to_text
from .base import Page, Post, Profile, SourceOptions, gc_paused, paged

MASTODON_FILES = ("outbox.json",)
"""The file that makes a zip or folder a Mastodon export, at the top or one folder down."""

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
                       created_at=parse_date(item.get("published")), raw=item)
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
            created_at=parse_date(obj.get("published") or item.get("published")),
            in_reply_to=_status_id(str(reply_to)) if reply_to else None,
            lang=next(iter(content_map), None),
            raw=item,
        )


# -- the source ---------------------------------------------------------------------------------


class MastodonExportSource(ExportSource):
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
        src.handle = choose_handle(spec, found, options)
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
                        avatar_path = save_avatar(c.read(self.base + name), self.network,
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
