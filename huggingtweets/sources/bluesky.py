"""``bsky:HANDLE`` (or ``bsky:did:plc:...``): an account's posts from Bluesky's public AppView.

No login is needed: the profile comes from ``app.bsky.actor.getProfile``, the posts from
``app.bsky.feed.getAuthorFeed``, newest first, 100 a page, passing the opaque ``cursor`` back
unchanged until there is none. Reposts are kept as ``retweet`` so they can be counted; a pinned post
(which the feed shows first and again in its place) is taken once. Link text that Bluesky shortens
(``example.com/some-lo...``) takes the full URL from the post's link facets, whose offsets count
UTF-8 bytes. Accounts labelled ``!no-unauthenticated`` asked not to be shown to logged-out
viewers: they are refused. ``--no-fetch-retweets`` changes nothing here: the feed cannot leave
reposts out, and reading them costs no quota, so the retweet count stays exact.

The feed has no "since" parameter, so a later fetch reads from the top and stops at the first page
that reaches what the last complete walk had already seen. Fetch state (saved with each page):

- ``since``: the feed position (UTC time) of the newest item of the last complete walk.
- ``walk_cursor`` / ``walk_newest``: the walk in progress: the next page's cursor and the newest
  position it has seen; ``walk_newest`` becomes ``since`` only when the walk reaches its end.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Any, Iterator, MutableMapping

from ..errors import AccountUnavailableError, HttpStatusError, UsageError
from ._dates import parse_date
from ._http import HttpClient
from .base import Page, Post, Profile, SourceOptions

DEFAULT_BASE_URL = "https://public.api.bsky.app"
PAGE_SIZE = 100  # the API's maximum
REPOST = "app.bsky.feed.defs#reasonRepost"
PIN = "app.bsky.feed.defs#reasonPin"
LINK = "app.bsky.richtext.facet#link"
MENTION = "app.bsky.richtext.facet#mention"
QUOTE_EMBEDS = ("app.bsky.embed.record", "app.bsky.embed.recordWithMedia")
NO_UNAUTHENTICATED = "!no-unauthenticated"
_HANDLE = re.compile(r"^(?=.{3,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{1,63}$")
_DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}$")


def parse_actor(value: str) -> str:
    """``@jane.bsky.social``, ``did:plc:...`` or ``https://bsky.app/profile/jane.bsky.social`` -> actor."""
    v = value.strip()
    if v.startswith(("http://", "https://")):
        m = re.match(r"^/profile/([^/]+)/?$", urllib.parse.urlsplit(v).path)
        v = urllib.parse.unquote(m.group(1)) if m else ""
    v = v.removeprefix("@")
    if _DID.match(v) or _HANDLE.match(v):
        return v
    example = f"{v}.bsky.social" if re.fullmatch(r"[A-Za-z0-9-]+", v) else "jane.bsky.social"
    raise UsageError(f"bsky:{value}: not a Bluesky handle or DID; a handle is a domain name, "
                     f"e.g. bsky:{example}")


INVALID_HANDLE = "handle.invalid"


def name_for_did(did: str) -> str:
    """A name for an account whose handle is unknown: its DID with ':' as '-' (``did-plc-abc123``).

    The DID is the account's stable id; a handle can change, and the AppView returns
    ``handle.invalid`` for one it cannot verify.
    """
    return "-".join(p for p in did.replace("%3A", ":").split(":") if p)[:200]


def rkey(uri: str) -> str:
    """The record key: the last segment of ``at://did/collection/rkey``."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def did_of(uri: str) -> str:
    return uri.removeprefix("at://").split("/", 1)[0]


def apply_link_facets(text: str, facets: Any) -> str:
    """Replace each link facet's text by its full ``uri``; offsets are UTF-8 byte positions.

        >>> apply_link_facets("🦋 see example.com/a-lo...", [{"index": {"byteStart": 9, "byteEnd": 28},
        ...     "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/a-long-path"}]}])
        '🦋 see https://example.com/a-long-path'
    """
    data = text.encode("utf-8")
    spans = []
    for start, end, feature in facet_spans(data, facets, LINK):
        if isinstance(feature.get("uri"), str) and feature["uri"]:
            spans.append((start, end, feature["uri"]))
    if not spans:
        return text
    out, pos = [], 0
    for start, end, uri in sorted(spans):
        if start < pos:
            continue  # overlapping facets: the first one wins
        anchor = data[start:end].decode("utf-8")
        out.append(data[pos:start])
        # A URL-like anchor is the shortened link itself; words that link somewhere keep the words.
        out.append((uri if not re.search(r"\s", anchor.strip()) else f"{anchor} {uri}").encode("utf-8"))
        pos = end
    out.append(data[pos:])
    return b"".join(out).decode("utf-8")


def facet_spans(data: bytes, facets: Any, feature_type: str) -> Iterator[tuple[int, int, dict]]:
    """(byte start, byte end, feature) of each facet of ``data`` (a post's UTF-8 text) that has a
    feature of ``feature_type``. Facets whose offsets fall outside the text or split a character
    (a broken client's) are skipped: the text is then left as it is."""
    for facet in facets if isinstance(facets, list) else []:
        if not isinstance(facet, dict):
            continue
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data)):
            continue
        if _inside_char(data, start) or _inside_char(data, end):
            continue
        feature = next((f for f in facet.get("features") or []
                        if isinstance(f, dict) and f.get("$type") == feature_type), None)
        if feature is not None:
            yield start, end, feature


def mention_texts(text: str, facets: Any) -> tuple[str, ...]:
    """The mentions of a post exactly as its text writes them, from its mention facets.

    Facet offsets count UTF-8 bytes of ``record.text``. A mention facet spans the whole handle,
    custom domains included (``@fern.example.com``), so cleaning can remove or replace it whole.

        >>> mention_texts("hi @fern.example.com!", [{"index": {"byteStart": 3, "byteEnd": 20},
        ...     "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:x"}]}])
        ('@fern.example.com',)
    """
    data = text.encode("utf-8")
    found: list[str] = []
    for start, end, _ in facet_spans(data, facets, MENTION):
        mention = data[start:end].decode("utf-8").strip()
        if mention.startswith("@") and len(mention) > 1 and mention not in found:
            found.append(mention)
    return tuple(found)


def _inside_char(data: bytes, offset: int) -> bool:
    return offset < len(data) and (data[offset] & 0xC0) == 0x80


def _unavailable(handle: str, reason: str, message: str) -> AccountUnavailableError:
    return AccountUnavailableError("bsky", handle, reason, message)


class BlueskySource:
    scheme = "bsky"
    network = "bsky"

    def __init__(self, actor: str, spec: str, options: SourceOptions, base_url: str):
        self.actor, self.spec, self.options = actor, spec, options
        self.client = HttpClient("bsky", base_url)
        self._profile: Profile | None = None

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "BlueskySource":
        base = os.environ.get("HUGGINGTWEETS_BSKY_API_URL", "").strip() or DEFAULT_BASE_URL
        return cls(parse_actor(value), spec, options, base)

    @property
    def did(self) -> str:
        return self.profile().account_id or self.actor

    # -- profile -------------------------------------------------------------------------------

    def profile(self) -> Profile:
        if self._profile is not None:
            return self._profile
        try:
            data, _ = self.client.get_json("/xrpc/app.bsky.actor.getProfile", {"actor": self.actor})
        except HttpStatusError as e:
            raise self._status_error(e) from None
        if not isinstance(data, dict) or not data.get("did"):
            raise self._not_found()
        handle = data.get("handle") or self.actor
        notes: list[str] = []
        if handle == INVALID_HANDLE or not _HANDLE.match(handle):
            shown = data.get("handle") or "no handle"
            handle = name_for_did(data["did"])
            notes.append(f"Bluesky could not verify this account's handle ({shown}); the bot is named "
                         f"from its DID, {data['did']}")
        labels = {lab.get("val") for lab in data.get("labels") or [] if isinstance(lab, dict)}
        if NO_UNAUTHENTICATED in labels:
            raise _unavailable(handle, "opted_out",
                               f"@{handle} asked Bluesky not to show their posts to logged-out viewers "
                               f"({NO_UNAUTHENTICATED}); huggingtweets respects that: ask them for "
                               f"their posts as a file and use file:PATH")
        extra: dict[str, Any] = {}
        if isinstance(data.get("postsCount"), int):
            extra["post_count"] = data["postsCount"]
        if notes:
            extra["notes"] = notes
        self._profile = Profile(handle=handle, name=data.get("displayName") or handle,
                                avatar_url=data.get("avatar"), account_id=data["did"],
                                url=f"https://bsky.app/profile/{data['did'] if notes else handle}",
                                extra=extra)
        return self._profile

    def _not_found(self) -> AccountUnavailableError:
        return _unavailable(self.actor, "not_found", f"@{self.actor} was not found on Bluesky; "
                                                     f"check the handle (e.g. jane.bsky.social)")

    def _status_error(self, e: HttpStatusError) -> Exception:
        text = e.detail.lower()
        if e.status in (400, 404) and ("suspend" in text or "takedown" in text or "taken down" in text):
            return _unavailable(self.actor, "suspended", f"@{self.actor} is suspended on Bluesky: its "
                                                         f"posts cannot be read")
        if e.status in (400, 404) and "deactivat" in text:
            return _unavailable(self.actor, "deactivated", f"@{self.actor} has deactivated their "
                                                           f"Bluesky account: its posts cannot be read")
        if e.status == 404 or (e.status == 400 and ("not found" in text or "resolve" in text)):
            return self._not_found()
        if e.status in (401, 403):
            return HttpStatusError("bsky", e.status, e.url, e.detail,
                                   f"bsky: the AppView refused to read @{self.actor} (HTTP {e.status}"
                                   f"{': ' + e.detail if e.detail else ''}); check "
                                   f"HUGGINGTWEETS_BSKY_API_URL (default {DEFAULT_BASE_URL})")
        return e

    # -- posts ---------------------------------------------------------------------------------

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        did = self.did
        resumed = bool(state.get("walk_cursor"))
        yield from self._walk(state, did)
        if resumed:
            # Posts written while the cut-off walk waited sit above where it started: one more walk.
            yield from self._walk(state, did)

    def _walk(self, state: MutableMapping[str, str], did: str) -> Iterator[Page]:
        """One walk down the feed, newest first, to what the last complete walk saw or the end."""
        cursor = state.get("walk_cursor") or None
        newest = (state.get("walk_newest") or None) if cursor else None
        since = state.get("since") or None
        while True:
            try:
                body, _ = self.client.get_json(
                    "/xrpc/app.bsky.feed.getAuthorFeed",
                    {"actor": did, "limit": PAGE_SIZE, "filter": "posts_with_replies", "cursor": cursor})
            except HttpStatusError as e:
                raise self._status_error(e) from None
            feed = body.get("feed") if isinstance(body, dict) else None
            feed = [item for item in feed if isinstance(item, dict) and isinstance(item.get("post"), dict)] \
                if isinstance(feed, list) else []
            posts: list[Post] = []
            reached_seen = False
            for item in feed:
                reason = item.get("reason") if isinstance(item.get("reason"), dict) else {}
                if reason.get("$type") == PIN:
                    continue  # the pinned post also appears in its own place in the feed
                position = _position(item, reason)
                if since and position and position < since:
                    reached_seen = True  # older than the last complete walk: stored already
                    continue
                if position and (newest is None or position > newest):
                    newest = position
                post = self._post(item, reason, did)
                if post is not None:
                    posts.append(post)
            previous, cursor = cursor, (body.get("cursor") if isinstance(body, dict) else None) or None
            if not feed or reached_seen or cursor == previous:
                cursor = None
            if cursor:
                state.update(walk_cursor=cursor, walk_newest=newest or "")
            else:
                done = max([p for p in (newest, since) if p] or [""])
                state.update(since=done, walk_cursor="", walk_newest="")
            yield posts
            if not cursor:
                return

    def _post(self, item: dict, reason: dict, did: str) -> Post | None:
        view = item["post"]
        uri = view.get("uri")
        record = view.get("record") if isinstance(view.get("record"), dict) else {}
        if not isinstance(uri, str):
            return None
        text = apply_link_facets(str(record.get("text") or ""), record.get("facets"))
        langs = record.get("langs") if isinstance(record.get("langs"), list) else []
        lang = langs[0] if langs and isinstance(langs[0], str) else None
        raw = dict(item)
        if (view.get("author") or {}).get("did") == did:
            raw["post"] = {k: v for k, v in view.items() if k != "author"}  # the profile holds it
        if reason.get("$type") == REPOST:
            # The repost's own record key, never the original's: reposting one's own post must not
            # collide with that post.
            own = reason.get("uri")
            key = rkey(own) if isinstance(own, str) and own else rkey(uri)
            return Post(id=f"repost-{key}", text=text, kind="retweet",
                        created_at=parse_date(reason.get("indexedAt")) or parse_date(record.get("createdAt")),
                        lang=lang, raw=raw)
        if did_of(uri) != did:
            return None  # not the account's own post and not a repost: nothing of theirs
        return record_post(record, rkey(uri), did, raw)


def record_post(record: dict, key: str, did: str, raw: dict) -> Post:
    """One ``app.bsky.feed.post`` record of the account ``did`` as a Post (the AppView's feed and a
    repository export hold the same records).

    Links take their full URL from the link facets, mentions are listed from the mention facets;
    ``reply`` to another account's post makes a reply (to one's own, a thread: ``original``), an
    ``app.bsky.embed.record``/``recordWithMedia`` embed a quote.
    """
    raw_text = record.get("text") if isinstance(record.get("text"), str) else ""
    facets = record.get("facets")
    reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
    parent = reply.get("parent").get("uri") if isinstance(reply.get("parent"), dict) else None
    embed = record.get("embed") if isinstance(record.get("embed"), dict) else {}
    if isinstance(parent, str) and did_of(parent) != did:
        kind = "reply"
    elif embed.get("$type") in QUOTE_EMBEDS:
        kind = "quote"
    else:
        kind = "original"  # a reply to oneself continues a thread
    langs = record.get("langs") if isinstance(record.get("langs"), list) else []
    created = record.get("createdAt")
    return Post(id=key, text=apply_link_facets(raw_text, facets), kind=kind,
                created_at=parse_date(created) if isinstance(created, str) else None,
                in_reply_to=parent if isinstance(parent, str) else None,
                lang=langs[0] if langs and isinstance(langs[0], str) else None, raw=raw,
                mentions=mention_texts(raw_text, facets))


def _position(item: dict, reason: dict) -> str | None:
    """Where the feed places an item, as a UTC time: a repost by when it was made, a post by the
    earlier of its claimed and indexed times (the AppView's rule, so back-dated posts sort back)."""
    if reason.get("$type") == REPOST:
        return parse_date(reason.get("indexedAt"))
    view = item["post"]
    times = [t for t in (parse_date(view.get("indexedAt")),
                         parse_date((view.get("record") or {}).get("createdAt"))) if t]
    return min(times) if times else None
