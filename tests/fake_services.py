"""A real HTTP server on 127.0.0.1 that speaks the X API v2, Mastodon REST and Bluesky XRPC.

Tests write posts once, as ``Seed`` values, and each service renders them in its own wire format
(``/work/shared/formats`` has real samples): ids, dates, HTML, facets with UTF-8 byte offsets,
pagination (X ``meta.next_token``, Mastodon ``Link`` headers with ``max_id``/``min_id``, Bluesky
opaque ``cursor``) and rate-limit headers (X ``x-rate-limit-*`` epoch seconds, Mastodon
``X-RateLimit-*`` ISO time, Bluesky ``ratelimit-*`` epoch seconds).

Faults are injected with ``fail(service, path, kind, times=1, after=0)``: ``429`` (reset in about a
second), ``503``, ``drop`` (the connection closes with no answer), ``truncate`` (half the body, then
the connection closes), ``401``, ``403`` and ``403-echo`` (a 403 whose body repeats the request's
Authorization header, as a careless proxy might), ``redirect-other-host`` (a 302 to ``localhost``
instead of ``127.0.0.1``: another origin, where a token must not follow).

    with FakeServices() as fake:
        fake.x_account("jane", [Seed(i, f"post {i}") for i in range(250)])
        os.environ["HUGGINGTWEETS_X_API_URL"] = fake.url
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
OTHER_X_USER = "99999"
OTHER_DID = "did:plc:otherotherotherother0000"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # the atproto TID alphabet


@dataclass
class Seed:
    """One post, before a service renders it. ``n`` orders posts in time (larger = newer)."""

    n: int
    text: str
    kind: str = "original"  # original | retweet | reply | thread | quote
    visibility: str = "public"  # Mastodon: public | unlisted | private | direct
    cw: str = ""  # Mastodon content warning (spoiler_text)
    long: bool = False  # X: a long post whose full text is only in note_tweet
    link: str | None = None  # a URL after the text, shortened the way each service shortens it

    @property
    def time(self) -> datetime:
        return EPOCH + timedelta(minutes=self.n)

    def expected_text(self) -> str:
        return f"{self.text} {self.link}" if self.link else self.text


def iso_ms(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def x_id(n: int) -> str:
    return str(1_700_000_000_000_000_000 + n * 1000)


def masto_id(n: int) -> str:
    return str(111_000_000_000_000_000 + n * 1000)


def tid(n: int) -> str:
    """A 13-character record key in the TID alphabet, sortable like the real ones."""
    v, out = n + (1 << 55), []
    for _ in range(13):
        out.append(_B32[v & 31])
        v >>= 5
    return "".join(reversed(out))


def bsky_id(seed: Seed) -> str:
    return f"repost-{tid(seed.n)}" if seed.kind == "retweet" else tid(seed.n)


# -- accounts -----------------------------------------------------------------------------------


@dataclass
class XAccount:
    username: str
    id: str
    seeds: list[Seed]
    name: str = ""
    protected: bool = False
    suspended: bool = False
    partial_error: bool = False  # errors[] next to data on each page
    tweet_count: int | None = None

    def expected_ids(self, retweets: bool = True) -> set[str]:
        return {x_id(s.n) for s in self.seeds if retweets or s.kind != "retweet"}

    def tweet(self, s: Seed) -> dict:
        t: dict[str, Any] = {"edit_history_tweet_ids": [x_id(s.n)], "id": x_id(s.n),
                             "created_at": iso_ms(s.time), "lang": "en", "conversation_id": x_id(s.n)}
        text = _x_escape(s.text)
        if s.link:
            short = f"https://t.co/{tid(s.n)[-10:]}"
            start = len(s.text) + 1
            t["entities"] = {"urls": [{"start": start, "end": start + len(short), "url": short,
                                       "expanded_url": s.link, "display_url": s.link[8:30]}]}
            text = f"{text} {short}"
        if s.kind == "retweet":
            text = f"RT @other: {text}"
            t["referenced_tweets"] = [{"type": "retweeted", "id": x_id(s.n + 100_000)}]
        elif s.kind in ("reply", "thread"):
            t["referenced_tweets"] = [{"type": "replied_to", "id": x_id(s.n - 1)}]
            t["in_reply_to_user_id"] = self.id if s.kind == "thread" else OTHER_X_USER
        elif s.kind == "quote":
            t["referenced_tweets"] = [{"type": "quoted", "id": x_id(s.n + 100_000)}]
        if s.long:
            t["note_tweet"] = {"text": text}
            if "entities" in t:
                t["note_tweet"]["entities"] = t.pop("entities")
            text = text[:270] + "\u2026 https://t.co/longlonglo"
        t["text"] = text
        return t


@dataclass
class MastodonAccount:
    username: str
    id: str
    seeds: list[Seed]
    name: str = ""
    suspended: bool = False
    requires_auth: bool = False  # like a server with DISALLOW_UNAUTHENTICATED_API_ACCESS
    # How quote posts look (see ``_quote``): "" (Mastodon before 4.4: a quote is an ordinary post),
    # "mastodon", "pleroma", "fedibird" or "sharkey".
    quotes: str = ""

    def expected_ids(self, retweets: bool = True, content_warnings: bool = True) -> set[str]:
        return {masto_id(s.n) for s in self.seeds
                if s.visibility in ("public", "unlisted") and (retweets or s.kind != "retweet")
                and (content_warnings or not s.cw)}

    def account(self, base: str) -> dict:
        return {"id": self.id, "username": self.username, "acct": self.username,
                "display_name": self.name or self.username.title(), "locked": False, "bot": False,
                "created_at": "2023-01-01T00:00:00.000Z", "note": "<p>hello</p>",
                "url": f"{base}/@{self.username}",
                "avatar": f"{base}/system/accounts/avatars/{self.id}/original/a.gif",
                "avatar_static": f"{base}/system/accounts/avatars/{self.id}/static/a.png",
                "followers_count": 1, "following_count": 1, "statuses_count": len(self.seeds),
                "last_status_at": "2024-01-02", "emojis": [], "fields": [],
                **({"suspended": True} if self.suspended else {})}

    def status(self, s: Seed, base: str) -> dict:
        content = "".join(f"<p>{_html_escape(p)}</p>" for p in s.text.split("\n\n"))
        if s.link:
            scheme, _, rest = s.link.partition("://")
            anchor = (f'<a href="{s.link}" rel="nofollow noopener" target="_blank">'
                      f'<span class="invisible">{scheme}://</span><span class="ellipsis">{rest[:20]}</span>'
                      f'<span class="invisible">{rest[20:]}</span></a>')
            content = content[:-4] + " " + anchor + "</p>"
        st: dict[str, Any] = {
            "id": masto_id(s.n), "created_at": iso_ms(s.time), "in_reply_to_id": None,
            "in_reply_to_account_id": None, "sensitive": bool(s.cw), "spoiler_text": s.cw,
            "visibility": s.visibility, "language": "en",
            "uri": f"{base}/users/{self.username}/statuses/{masto_id(s.n)}",
            "url": f"{base}/@{self.username}/{masto_id(s.n)}", "replies_count": 0, "reblogs_count": 0,
            "favourites_count": 0, "content": content, "reblog": None,
            "account": self.account(base), "media_attachments": [], "mentions": [], "tags": [],
            "emojis": [], "card": None, "poll": None}
        if s.kind == "retweet":
            inner = dict(st, id=masto_id(s.n + 100_000), account={"id": "777", "username": "other",
                                                                   "acct": "other@elsewhere.example"})
            st.update(content="", reblog=inner, spoiler_text="", sensitive=False,
                      uri=f"{base}/users/{self.username}/statuses/{masto_id(s.n)}/activity")
            if s.cw:
                inner["spoiler_text"] = s.cw
        elif s.kind in ("reply", "thread"):
            st["in_reply_to_id"] = masto_id(s.n - 1)
            st["in_reply_to_account_id"] = self.id if s.kind == "thread" else "777"
        elif s.kind == "quote" and self.quotes:
            self._quote(st, s)
        return st

    def _quote(self, st: dict, s: Seed) -> None:
        """Make ``st`` quote a post on another server, the way ``self.quotes`` servers do it.

        Each adds a fallback to ``content`` for clients that cannot show quotes, and names the
        quoted post in its own fields.
        """
        qid = masto_id(s.n + 100_000)
        url, uri = f"https://elsewhere.example/@other/{qid}", f"https://elsewhere.example/users/other/statuses/{qid}"
        quoted = {"id": qid, "url": url, "uri": uri, "content": "<p>the quoted post</p>",
                  "created_at": st["created_at"], "visibility": "public",
                  "account": {"id": "777", "username": "other", "acct": "other@elsewhere.example"}}
        body = st["content"]
        if self.quotes == "mastodon":  # 4.4+: a paragraph before, hidden by class
            rest = url.partition("://")[2]
            st["content"] = (f'<p class="quote-inline">RE: <a href="{url}" target="_blank" rel="nofollow noopener" '
                             f'translate="no"><span class="invisible">https://</span><span class="ellipsis">'
                             f'{rest[:20]}</span><span class="invisible">{rest[20:]}</span></a></p>{body}')
            st["quote"] = {"state": "accepted", "quoted_status": quoted}
        elif self.quotes == "pleroma":  # Pleroma/Akkoma: a span at the end of the last paragraph
            st["content"] = (body[:-4] + f'<span class="quote-inline"><br/><br/>RE: <a href="{uri}" '
                             f'rel="ugc">{uri}</a></span></p>')
            st["pleroma"] = {"quote": quoted, "quote_id": qid, "quote_url": uri, "quote_visible": True,
                             "local": True}
        elif self.quotes == "fedibird":  # the quoted status itself under "quote"; "QT:" fallback
            st["content"] = body[:-4] + f'<span class="quote-inline"><br/>QT: <a href="{url}">{url}</a></span></p>'
            st["quote"], st["quote_id"] = quoted, qid
        elif self.quotes == "sharkey":  # Misskey family: a plain "RE:" line, no class; only the id
            st["content"] = body[:-4] + f'<br><br>RE: <a href="{uri}">{uri}</a></p>'
            st["quote_id"] = qid
        else:
            raise ValueError(f"unknown quote style {self.quotes!r}")


@dataclass
class BlueskyAccount:
    handle: str
    did: str
    seeds: list[Seed]
    name: str = ""
    pinned: int | None = None  # the n of a seed pinned to the top of the profile
    opted_out: bool = False  # labelled !no-unauthenticated
    suspended: bool = False

    def expected_ids(self) -> set[str]:
        return {bsky_id(s) for s in self.seeds}

    def profile(self) -> dict:
        labels = [{"src": self.did, "uri": f"at://{self.did}/app.bsky.actor.profile/self",
                   "cid": "bafyreiprofile", "val": "!no-unauthenticated", "cts": "2024-01-01T00:00:00.000Z"}] \
            if self.opted_out else []
        return {"did": self.did, "handle": self.handle, "displayName": self.name or self.handle,
                "avatar": f"https://cdn.bsky.app/img/avatar/plain/{self.did}/bafkreiavatar@jpeg",
                "followersCount": 1, "followsCount": 1, "postsCount": len(self.seeds),
                "indexedAt": "2024-01-01T00:00:00.000Z", "createdAt": "2023-06-01T00:00:00.000Z",
                "labels": labels}

    def author(self) -> dict:
        return {"did": self.did, "handle": self.handle, "displayName": self.name or self.handle,
                "avatar": "https://cdn.bsky.app/img/avatar/plain/x@jpeg", "labels": [],
                "createdAt": "2023-06-01T00:00:00.000Z"}

    def item(self, s: Seed) -> dict:
        text, facets = s.text, []
        if s.link:
            short = s.link.split("://", 1)[1]
            short = short[:16] + "..." if len(short) > 19 else short
            start = len((text + " ").encode("utf-8"))
            facets = [{"$type": "app.bsky.richtext.facet",
                       "features": [{"$type": "app.bsky.richtext.facet#link", "uri": s.link}],
                       "index": {"byteStart": start, "byteEnd": start + len(short.encode("utf-8"))}}]
            text = f"{text} {short}"
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": iso_ms(s.time),
                                  "langs": ["en"], "text": text}
        if facets:
            record["facets"] = facets
        author, repo, rk = self.author(), self.did, tid(s.n)
        if s.kind == "retweet":
            author = {"did": OTHER_DID, "handle": "other.bsky.social", "displayName": "Other", "labels": []}
            repo, rk = OTHER_DID, tid(s.n + 100_000)
        elif s.kind in ("reply", "thread"):
            parent_repo = self.did if s.kind == "thread" else OTHER_DID
            ref = {"cid": "bafyreiparent", "uri": f"at://{parent_repo}/app.bsky.feed.post/{tid(s.n - 1)}"}
            record["reply"] = {"parent": ref, "root": ref}
        elif s.kind == "quote":
            record["embed"] = {"$type": "app.bsky.embed.record", "record": {
                "cid": "bafyreiquoted", "uri": f"at://{OTHER_DID}/app.bsky.feed.post/{tid(s.n + 100_000)}"}}
        post = {"uri": f"at://{repo}/app.bsky.feed.post/{rk}", "cid": f"bafyrei{rk}", "author": author,
                "record": record, "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
                "indexedAt": iso_ms(s.time + timedelta(seconds=1)), "labels": []}
        item: dict[str, Any] = {"post": post}
        if s.kind == "retweet":
            item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost", "by": self.author(),
                              "uri": f"at://{self.did}/app.bsky.feed.repost/{tid(s.n)}",
                              "cid": f"bafyreirepost{tid(s.n)}",
                              "indexedAt": iso_ms(s.time + timedelta(seconds=1))}
        return item


def _x_escape(text: str) -> str:
    # X escapes these three in text, like the archive does (docs/background.md).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html_escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#39;").replace("\n", "<br>"))


# -- faults and requests ------------------------------------------------------------------------


@dataclass
class Fault:
    service: str  # "x", "mastodon", "bsky"
    path: str  # a substring of the request path; "" matches every path of the service
    kind: str
    times: int = 1
    after: int = 0  # matching requests let through before the fault starts
    reset_in: float = 1.0  # 429: seconds until the rate limit resets
    seen: int = 0


@dataclass
class Request:
    service: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)


class FakeServices:
    """The three services on one port; start with ``with FakeServices() as fake:``."""

    def __init__(self, x_token: str = "x-test-token"):
        self.x_token = x_token
        self.x: dict[str, XAccount] = {}
        self.mastodon: dict[str, MastodonAccount] = {}
        self.bsky: dict[str, BlueskyAccount] = {}
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.gzip = False  # compress answers for clients that accept it, as api.x.com does
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- set-up --------------------------------------------------------------------------------

    def x_account(self, username: str, seeds: list[Seed], **kw: Any) -> XAccount:
        acc = XAccount(username, str(10_000 + len(self.x)), seeds, **kw)
        self.x[username.lower()] = acc
        return acc

    def mastodon_account(self, username: str, seeds: list[Seed], **kw: Any) -> MastodonAccount:
        acc = MastodonAccount(username, str(20_000 + len(self.mastodon)), seeds, **kw)
        self.mastodon[username.lower()] = acc
        return acc

    def bsky_account(self, handle: str, seeds: list[Seed], **kw: Any) -> BlueskyAccount:
        did = "did:plc:" + (handle.replace(".", "") + "z" * 24)[:24]
        acc = BlueskyAccount(handle, did, seeds, **kw)
        self.bsky[handle.lower()] = acc
        return acc

    def fail(self, service: str, path: str, kind: str, times: int = 1, after: int = 0,
             reset_in: float = 1.0) -> Fault:
        fault = Fault(service, path, kind, times, after, reset_in)
        with self.lock:
            self.faults.append(fault)
        return fault

    def calls(self, service: str, path: str = "") -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.service == service and path in r.path]

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServices":
        fake = self

        class Handler(_Handler):
            services = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeServices":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the fault that applies to a request, if any ---------------------------------------------

    def _fault_for(self, service: str, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if f.service != service or f.path not in path or f.times <= 0:
                    continue
                if f.seen < f.after:
                    f.seen += 1
                    continue
                f.times -= 1
                return f
        return None


class _Handler(BaseHTTPRequestHandler):
    services: FakeServices
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    # -- plumbing --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        path = parts.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        service = ("x" if path.startswith("/2/") else "mastodon" if path.startswith("/api/v1/")
                   else "bsky" if path.startswith("/xrpc/") else "?")
        fake = self.services
        with fake.lock:
            fake.requests.append(Request(service, path, query, {k.lower(): v for k, v in self.headers.items()}))
        self.base = f"http://{self.headers.get('Host')}"
        fault = fake._fault_for(service, path)
        if fault is not None and self._apply(fault, service):
            return
        try:
            if service == "x":
                self._x(path, query)
            elif service == "mastodon":
                self._mastodon(path, query)
            elif service == "bsky":
                self._bsky(path, query)
            else:
                self._send(404, {"error": "no such route"})
        except _Answer as a:
            self._send(a.status, a.body, a.headers)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              cut: bool = False) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if self.services.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if cut else data)
        if cut:
            self.wfile.flush()
            self.close_connection = True

    def _rate_headers(self, service: str, remaining: int, reset_in: float) -> dict[str, str]:
        reset = time.time() + reset_in
        if service == "x":
            return {"x-rate-limit-limit": "1500", "x-rate-limit-remaining": str(remaining),
                    "x-rate-limit-reset": str(math.ceil(reset))}
        if service == "mastodon":
            return {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Reset": iso_ms(datetime.fromtimestamp(reset, timezone.utc))}
        return {"ratelimit-limit": "3000", "ratelimit-remaining": str(remaining),
                "ratelimit-reset": str(math.ceil(reset)), "ratelimit-policy": "3000;w=300"}

    def _apply(self, fault: Fault, service: str) -> bool:
        kind = fault.kind
        if kind == "429":
            body = ({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank",
                     "status": 429} if service == "x" else {"error": "Too many requests"}
                    if service == "mastodon" else {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"})
            self._send(429, body, self._rate_headers(service, 0, fault.reset_in))
        elif kind == "503":
            self._send(503, b"<html><body>Service Unavailable</body></html>")
        elif kind == "drop":
            self.close_connection = True  # no status line at all: the client sees the connection close
        elif kind == "truncate":
            self._send(200, {"padding": "x" * 200, "data": []}, cut=True)
        elif kind in ("401", "403"):
            self._send(int(kind), {"title": "Forbidden", "detail": "Forbidden", "error": "Forbidden"})
        elif kind == "403-echo":
            got = self.headers.get("Authorization", "")
            self._send(403, {"title": "Forbidden", "detail": f"credentials {got} are not allowed",
                             "error": f"credentials {got} are not allowed"})
        elif kind == "redirect-other-host":
            port = self.server.server_address[1]
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            raise ValueError(f"unknown fault {kind}")
        return True

    # -- X API v2 ----------------------------------------------------------------------------------

    def _x(self, path: str, q: dict[str, str]) -> None:
        fake = self.services
        headers = self._rate_headers("x", 1499, 900)
        if self.headers.get("Authorization") != f"Bearer {fake.x_token}":
            raise _Answer(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                                "detail": "Unauthorized"}, headers)
        parts = path.strip("/").split("/")
        if parts[:4] == ["2", "users", "by", "username"] and len(parts) == 5:
            name = parts[4]
            acc = fake.x.get(name.lower())
            if acc is None or acc.suspended:
                detail = (f"User has been suspended: [{name}]." if acc else
                          f"Could not find user with username: [{name}].")
                title = "Forbidden" if acc else "Not Found Error"
                raise _Answer(200, {"errors": [{"value": name, "detail": detail, "title": title,
                                                "resource_type": "user", "parameter": "username",
                                                "resource_id": name,
                                                "type": "https://api.twitter.com/2/problems/resource-not-found"}]},
                              headers)
            user: dict[str, Any] = {"id": acc.id, "name": acc.name or acc.username.title(),
                                    "username": acc.username}
            fields = q.get("user.fields", "").split(",")
            if "protected" in fields:
                user["protected"] = acc.protected
            if "profile_image_url" in fields:
                user["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{acc.id}/a_normal.jpg"
            if "public_metrics" in fields:
                user["public_metrics"] = {"followers_count": 1, "following_count": 1, "listed_count": 0,
                                          "tweet_count": acc.tweet_count if acc.tweet_count is not None
                                          else len(acc.seeds)}
            raise _Answer(200, {"data": user}, headers)
        if parts[:2] == ["2", "users"] and len(parts) == 4 and parts[3] == "tweets":
            acc = next((a for a in fake.x.values() if a.id == parts[2]), None)
            if acc is None or acc.protected:
                raise _Answer(200, {"errors": [{
                    "resource_id": parts[2], "parameter": "id", "resource_type": "user", "section": "data",
                    "title": "Authorization Error", "value": parts[2],
                    "detail": f"Sorry, you are not authorized to see the user with id: [{parts[2]}].",
                    "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"}]}, headers)
            size = int(q.get("max_results", "10"))
            if not 5 <= size <= 100:
                raise _Answer(400, {"errors": [{"parameters": {"max_results": [str(size)]},
                                                "message": "The `max_results` query parameter value "
                                                           f"[{size}] is not between 5 and 100"}],
                                    "title": "Invalid Request",
                                    "detail": "One or more parameters to your request was invalid.",
                                    "type": "https://api.twitter.com/2/problems/invalid-request"}, headers)
            seeds = sorted(acc.seeds, key=lambda s: -s.n)
            if "retweets" in q.get("exclude", "").split(","):
                seeds = [s for s in seeds if s.kind != "retweet"]
            if q.get("since_id"):
                seeds = [s for s in seeds if int(x_id(s.n)) > int(q["since_id"])]
            if q.get("pagination_token"):
                try:
                    below = int(base64.urlsafe_b64decode(q["pagination_token"][3:]).decode())
                except ValueError:
                    raise _Answer(400, {"title": "Invalid Request", "detail": "Invalid pagination token",
                                        "type": "https://api.twitter.com/2/problems/invalid-request"}, headers)
                seeds = [s for s in seeds if int(x_id(s.n)) < below]
            page, rest = seeds[:size], seeds[size:]
            if not page:
                raise _Answer(200, {"meta": {"result_count": 0}}, headers)
            meta: dict[str, Any] = {"result_count": len(page), "newest_id": x_id(page[0].n),
                                    "oldest_id": x_id(page[-1].n)}
            if rest:
                meta["next_token"] = "7pq" + base64.urlsafe_b64encode(x_id(page[-1].n).encode()).decode()
            body: dict[str, Any] = {"data": [acc.tweet(s) for s in page], "meta": meta}
            if acc.partial_error:
                body["errors"] = [{"value": "1", "detail": "Could not find tweet with referenced_tweets.id: [1].",
                                   "title": "Not Found Error", "resource_type": "tweet",
                                   "type": "https://api.twitter.com/2/problems/resource-not-found"}]
            raise _Answer(200, body, headers)
        raise _Answer(404, {"title": "Not Found", "detail": "no such endpoint"}, headers)

    # -- Mastodon ------------------------------------------------------------------------------------

    def _mastodon(self, path: str, q: dict[str, str]) -> None:
        fake = self.services
        headers = self._rate_headers("mastodon", 299, 300)
        if path == "/api/v1/accounts/lookup":
            user = q.get("acct", "").lstrip("@").split("@")[0]
            acc = fake.mastodon.get(user.lower())
            if acc is None:
                raise _Answer(404, {"error": "Record not found"}, headers)
            if acc.requires_auth:
                raise _Answer(401, {"error": "This API requires an authenticated user"}, headers)
            raise _Answer(200, acc.account(self.base), headers)
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "accounts"] and len(parts) == 5 and parts[4] == "statuses":
            acc = next((a for a in fake.mastodon.values() if a.id == parts[3]), None)
            if acc is None:
                raise _Answer(404, {"error": "Record not found"}, headers)
            if acc.suspended:
                raise _Answer(410, {"error": "Record not found"}, headers)
            limit = min(int(q.get("limit", "20")), 40)
            seeds = sorted(acc.seeds, key=lambda s: -s.n)
            if q.get("exclude_reblogs") == "true":
                seeds = [s for s in seeds if s.kind != "retweet"]
            key = lambda s: int(masto_id(s.n))  # noqa: E731
            if q.get("max_id"):
                seeds = [s for s in seeds if key(s) < int(q["max_id"])]
            if q.get("since_id"):
                seeds = [s for s in seeds if key(s) > int(q["since_id"])]
            if q.get("min_id"):
                # The statuses just after min_id, still listed newest first (as Mastodon does).
                seeds = [s for s in seeds if key(s) > int(q["min_id"])][-limit:]
            page = seeds[:limit]
            if page:
                keep = {k: q[k] for k in ("limit", "exclude_reblogs") if k in q}
                link = f"{self.base}/api/v1/accounts/{acc.id}/statuses?"
                nxt = urllib.parse.urlencode({**keep, "max_id": masto_id(page[-1].n)})
                prv = urllib.parse.urlencode({**keep, "min_id": masto_id(page[0].n)})
                headers["Link"] = f'<{link}{nxt}>; rel="next", <{link}{prv}>; rel="prev"'
            raise _Answer(200, [acc.status(s, self.base) for s in page], headers)
        raise _Answer(404, {"error": "Not found"}, headers)

    # -- Bluesky ---------------------------------------------------------------------------------

    def _bsky(self, path: str, q: dict[str, str]) -> None:
        fake = self.services
        headers = self._rate_headers("bsky", 2999, 300)
        actor = q.get("actor", "")
        acc = next((a for a in fake.bsky.values() if actor.lower() in (a.handle.lower(), a.did)), None)
        if not actor:
            raise _Answer(400, {"error": "InvalidRequest", "message": "Error: Params must have the property \"actor\""},
                          headers)
        if acc is None:
            raise _Answer(400, {"error": "InvalidRequest", "message": "Profile not found"}, headers)
        if acc.suspended:
            raise _Answer(400, {"error": "AccountTakedown", "message": "Account has been suspended"}, headers)
        if path == "/xrpc/app.bsky.actor.getProfile":
            raise _Answer(200, acc.profile(), headers)
        if path == "/xrpc/app.bsky.feed.getAuthorFeed":
            limit = int(q.get("limit", "50"))
            if not 1 <= limit <= 100:
                raise _Answer(400, {"error": "InvalidRequest", "message": "limit must be <= 100"}, headers)
            seeds = sorted(acc.seeds, key=lambda s: -s.n)
            cursor = q.get("cursor")
            if cursor:
                try:
                    padded = cursor.upper() + "=" * (-len(cursor) % 8)
                    below = int(base64.b32decode(padded).decode().split("::")[1])
                except (ValueError, IndexError):
                    raise _Answer(400, {"error": "InvalidRequest", "message": "Malformed cursor"}, headers)
                seeds = [s for s in seeds if s.n < below]
            page = seeds[:limit]
            feed = [acc.item(s) for s in page]
            if acc.pinned is not None and not cursor:
                pin = next(s for s in acc.seeds if s.n == acc.pinned)
                item = acc.item(pin)
                item["reason"] = {"$type": "app.bsky.feed.defs#reasonPin"}
                feed.insert(0, item)
            body: dict[str, Any] = {"feed": feed}
            # Like the AppView, a full page carries a cursor even when nothing follows.
            if len(page) == limit:
                raw = f"{iso_ms(page[-1].time)}::{page[-1].n}".encode()
                body["cursor"] = base64.b32encode(raw).decode().lower().rstrip("=")
            raise _Answer(200, body, headers)
        raise _Answer(404, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}, headers)


class _Answer(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        self.status, self.body, self.headers = status, body, headers or {}
