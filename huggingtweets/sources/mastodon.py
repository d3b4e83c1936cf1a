"""``mastodon:@user@server`` (or a profile URL ``https://server/@user``): public posts over REST.

No token is needed for public accounts on most servers. The account is looked up on its server,
then its statuses are read newest first, 40 a page, following the ``Link: <...>; rel="next"``
header until it is gone or a page is empty. HTML content becomes plain text; boosts are kept as
``retweet`` so they can be counted; only public and unlisted posts are ever stored. Quote posts
(Mastodon 4.4+, Pleroma, Akkoma, Fedibird, Sharkey; see ``quote_refs``) are ``quote``, their text
without the ``RE: <link>`` fallback the server adds for clients that cannot show quotes.

Fetch state (saved with each page):

- ``since_id``: everything up to this status is stored. Later fetches walk *forward* from it with
  ``min_id`` (the 40 statuses just after it, then the 40 after those ...) and move it on page by page,
  so an interrupted later fetch resumes by itself.
- ``walk_next`` / ``walk_newest``: the first, backward walk in progress: the next page's URL and the
  newest status seen; ``walk_newest`` becomes ``since_id`` only when that walk reaches the end.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any, Iterator, MutableMapping

from ..errors import AccountUnavailableError, FetchError, HttpStatusError, InvalidHandleError, UsageError
from ._dates import parse_date
from ._html import html_to_text
from ._http import HttpClient, id_key
from .base import Page, Post, Profile, SourceOptions

PAGE_SIZE = 40  # the API's maximum for statuses
STORED_VISIBILITY = ("public", "unlisted")
_USER = re.compile(r"^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*(?:@[A-Za-z0-9.-]+)?$")
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?$")


def parse_account(value: str) -> tuple[str, str]:
    """``@user@server``, ``user@server`` or ``https://server/@user`` -> (acct, base URL).

    Raises:
        UsageError: the server is missing or the value is not an account.
    """
    v = value.strip()
    if v.startswith(("http://", "https://")) or "/@" in v:
        parts = urllib.parse.urlsplit(v if "://" in v else "https://" + v)
        m = re.match(r"^/(?:@|users/)([^/]+)/?$", parts.path)
        if not m or not parts.netloc:
            raise UsageError(f"mastodon:{value}: not a profile URL; write it as https://server/@user")
        acct, base = m.group(1), f"{parts.scheme}://{parts.netloc}"
        host = parts.netloc
    else:
        user, sep, host = v.removeprefix("@").partition("@")
        if not sep or not host:
            name = user or "user"
            raise UsageError(f"mastodon:{value}: say which server the account is on, e.g. "
                             f"mastodon:@{name}@mastodon.social or mastodon:https://mastodon.social/@{name}")
        acct, base = user, f"https://{host}"
    if not _HOST.match(host):
        raise UsageError(f"mastodon:{value}: {host!r} is not a server name; e.g. mastodon.social")
    if not _USER.match(acct):
        raise InvalidHandleError(value)
    return acct, base


def quote_refs(status: dict) -> tuple[bool, list[str]]:
    """Whether a REST status quotes another post, and the URLs, URIs and ids that name that post.

    Each server family says it its own way:

    - Mastodon 4.4+: ``quote`` = ``{"state": ..., "quoted_status": {status} or null}``, or
      ``{"state": ..., "quoted_status_id": "..."}`` for a quote inside a quote; ``null`` otherwise.
    - Fedibird, Akkoma: ``quote`` = the quoted status itself, with ``quote_id`` beside it.
    - Pleroma (and Akkoma): ``pleroma.quote`` (a status), ``pleroma.quote_id``, ``pleroma.quote_url``.

    A quote whose quoted post is gone or hidden (``state`` ``deleted``, ``unauthorized`` ...) is
    still a quote post: the author wrote it as one.
    """
    found, refs = False, []
    pleroma = status.get("pleroma")
    for place in (status, pleroma) if isinstance(pleroma, dict) else (status,):
        quote = place.get("quote")
        if isinstance(quote, dict):
            found = True
            inner = quote.get("quoted_status") if "state" in quote or "quoted_status" in quote else quote
            if isinstance(inner, dict):
                refs += [str(inner[k]) for k in ("url", "uri", "id") if inner.get(k) is not None]
            if quote.get("quoted_status_id") is not None:
                refs.append(str(quote["quoted_status_id"]))
        elif isinstance(quote, str) and quote:
            found = True
            refs.append(quote)
        for key in ("quote_id", "quote_url", "quote_uri"):
            if place.get(key) not in (None, ""):
                found = True
                refs.append(str(place[key]))
    return found, list(dict.fromkeys(refs))


def _unavailable(handle: str, reason: str, message: str) -> AccountUnavailableError:
    return AccountUnavailableError("mastodon", handle, reason, message)


class MastodonSource:
    scheme = "mastodon"
    network = "mastodon"

    def __init__(self, acct: str, base_url: str, spec: str, options: SourceOptions):
        self.acct, self.spec, self.options = acct, spec, options
        parts = urllib.parse.urlsplit(base_url)
        self.server = parts.netloc.lower()
        self.host = (parts.hostname or self.server).lower()
        # The account as a person would write it, for messages.
        self.display = f"@{acct}" if "@" in acct else f"@{acct}@{self.host}"
        self.client = HttpClient(self.server, base_url)
        self._profile: Profile | None = None
        self._account_id: str | None = None

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "MastodonSource":
        acct, base = parse_account(value)
        return cls(acct, base, spec, options)

    # -- profile -------------------------------------------------------------------------------

    def profile(self) -> Profile:
        if self._profile is not None:
            return self._profile
        try:
            account, _ = self.client.get_json("/api/v1/accounts/lookup", {"acct": self.acct})
        except HttpStatusError as e:
            raise self._status_error(e) from None
        if not isinstance(account, dict) or not account.get("id"):
            raise _unavailable(self.acct, "not_found", f"{self.display} was not found on {self.server}; "
                                                       f"check the handle and the server")
        if account.get("suspended"):
            raise self._suspended()
        username = str(account.get("username") or self.acct.partition("@")[0])
        acct = str(account.get("acct") or username)
        # A local account's acct has no server part; the handle always carries one, as people write it.
        handle = acct if "@" in acct else f"{username}@{self.host}"
        extra: dict[str, Any] = {"server": self.server}
        notes = []
        if isinstance(account.get("statuses_count"), int):
            extra["post_count"] = account["statuses_count"]
        moved = account.get("moved")
        if isinstance(moved, dict) and moved.get("acct"):
            notes.append(f"{self.display} has moved to @{moved['acct']}; its newer posts are there")
        if not self.options.fetch_retweets:
            extra["retweets_excluded"] = True
            notes.append(f"{self.display}: boosts were left out by the server (--no-fetch-retweets), "
                         f"so the retweet count is unknown")
        if notes:
            extra["notes"] = notes
        self._account_id = str(account["id"])
        self._profile = Profile(
            handle=handle, name=account.get("display_name") or username,
            avatar_url=account.get("avatar_static") or account.get("avatar"),
            # No account_id: the store then keys the account by its handle, user@server, the same
            # key an account export gets, so the export and the live API share one set of posts.
            account_id=None, url=account.get("url"), extra=extra)
        return self._profile

    def _suspended(self) -> AccountUnavailableError:
        return _unavailable(self.acct, "suspended", f"{self.display} is suspended on {self.server}: its "
                                                    f"posts cannot be read; if you have its export, use "
                                                    f"archive:PATH")

    def _status_error(self, e: HttpStatusError) -> Exception:
        if e.status == 404:
            return _unavailable(self.acct, "not_found", f"{self.display} was not found on {self.server}; "
                                                        f"check the handle and the server")
        if e.status == 410:
            return self._suspended()
        if e.status in (401, 403):
            return HttpStatusError(
                self.server, e.status, e.url, e.detail,
                f"{self.server} does not let logged-out visitors read {self.display}'s posts (HTTP "
                f"{e.status}{': ' + e.detail if e.detail else ''}); use the account's export instead "
                f"(archive:PATH)")
        return e

    # -- posts ---------------------------------------------------------------------------------

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        profile = self.profile()
        if not self.options.fetch_retweets:
            state["retweets_excluded"] = "true"
        elif state.get("retweets_excluded") == "true":
            profile.extra["retweets_excluded"] = True
        path = f"/api/v1/accounts/{self._account_id}/statuses"
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if not self.options.fetch_retweets:
            params["exclude_reblogs"] = "true"
        try:
            if state.get("walk_next") or not state.get("since_id"):
                resumed = bool(state.get("walk_next"))
                yield from self._backward(path, params, state)
                if not resumed or not state.get("since_id"):
                    return
            # Later fetches, and a resumed first walk, which must also take what was posted meanwhile.
            yield from self._forward(path, params, state)
        except HttpStatusError as e:
            raise self._status_error(e) from None

    def _forward(self, path: str, params: dict, state: MutableMapping[str, str]) -> Iterator[Page]:
        """Statuses newer than ``since_id``, oldest page first; ``since_id`` moves on with each page."""
        since = state["since_id"]
        while True:
            statuses, _ = self.client.get_json(path, dict(params, min_id=since))
            statuses = [s for s in statuses if isinstance(s, dict) and s.get("id") is not None] \
                if isinstance(statuses, list) else []
            if not statuses:
                return
            top = max((str(s["id"]) for s in statuses), key=id_key)
            if id_key(top) <= id_key(since):
                return  # a server that ignores min_id would otherwise loop
            since = top
            state["since_id"] = since
            yield self._posts(statuses)

    def _backward(self, path: str, params: dict, state: MutableMapping[str, str]) -> Iterator[Page]:
        """The whole timeline, newest first, by ``Link`` headers; resumable from ``walk_next``."""
        url = state.get("walk_next") or self.client.url(path, params)
        newest = state.get("walk_newest") or None
        while True:
            statuses, resp = self.client.get_json(url)
            statuses = [s for s in statuses if isinstance(s, dict) and s.get("id") is not None] \
                if isinstance(statuses, list) else []
            ids = [str(s["id"]) for s in statuses]
            if ids:
                top = max(ids, key=id_key)
                if newest is None or id_key(top) > id_key(newest):
                    newest = top
            following = resp.links.get("next") if statuses else None
            if following and not self.client.same_origin(following):
                raise FetchError(f"{self.server}: its next-page link points to another host "
                                 f"({urllib.parse.urlsplit(following).netloc}); not following it")
            if following and following != url:
                state.update(walk_next=following, walk_newest=newest or "")
            else:
                following = None
                prior = state.get("since_id") or ""
                done = max([i for i in (newest, prior) if i] or [""], key=id_key)
                state.update(since_id=done, walk_next="", walk_newest="")
            yield self._posts(statuses)
            if not following:
                return
            url = following

    def _posts(self, statuses: list[dict]) -> Page:
        out = []
        for s in statuses:
            post = self._post(s)
            if post is not None:
                out.append(post)
        return out

    def _post(self, s: dict) -> Post | None:
        if s.get("visibility", "public") not in STORED_VISIBILITY:
            return None  # followers-only and direct messages are never stored
        boosted = s.get("reblog") if isinstance(s.get("reblog"), dict) else None
        shown = boosted or s
        if not self.options.content_warnings and (shown.get("spoiler_text") or "").strip():
            return None
        is_quote, quoted = quote_refs(shown)
        # The text without the "RE: <link>" fallback that the server adds to a quote post.
        text = html_to_text(shown.get("content") or "", quoted)
        reply_to = s.get("in_reply_to_id")
        if boosted:
            kind = "retweet"
        elif reply_to is not None and str(s.get("in_reply_to_account_id")) != self._account_id:
            kind = "reply"
        elif is_quote:
            kind = "quote"
        else:
            kind = "original"  # a reply to oneself continues a thread
        # Every status repeats the whole account object: the store does not need a copy per post.
        raw = {k: v for k, v in s.items() if k != "account"}
        return Post(id=str(s["id"]), text=text, kind=kind, created_at=parse_date(s.get("created_at")),
                    in_reply_to=str(reply_to) if reply_to is not None else None,
                    lang=shown.get("language"), raw=raw)
