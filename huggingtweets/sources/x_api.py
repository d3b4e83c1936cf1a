"""``x:HANDLE`` (and a bare ``@HANDLE``): an account's posts from the X API v2.

Needs a bearer token in ``X_BEARER_TOKEN`` (the API is paid). The user is looked up by name, then
their timeline is read newest first, 100 posts a page, following ``meta.next_token``. Only the 3,200
most recent posts are reachable this way; an archive (``archive:``) has them all.

Fetch state (saved with each page, so an interrupted fetch continues where it stopped):

- ``since_id``: the newest post of the last *complete* walk; the next fetch asks only for newer ones.
- ``walk_token`` / ``walk_newest`` / ``walk_since``: the walk in progress: the next page's token, the
  newest post it has seen, and the ``since_id`` it was started with. ``walk_newest`` becomes
  ``since_id`` only when the walk reaches its end, so a cut-off walk is resumed, never skipped over.
"""

from __future__ import annotations

import html
import os
import re
from typing import Any, Iterator, MutableMapping

from ..errors import AccountUnavailableError, HttpStatusError, InvalidHandleError, MissingTokenError
from ._dates import parse_date
from ._http import HttpClient, id_key
from .base import Page, Post, Profile, SourceOptions

DEFAULT_BASE_URL = "https://api.x.com"
PAGE_SIZE = 100  # the API's maximum
TIMELINE_CAP = 3200  # the API returns only this many of an account's most recent posts
USER_FIELDS = "name,profile_image_url,protected,public_metrics"
TWEET_FIELDS = ("created_at,referenced_tweets,note_tweet,lang,in_reply_to_user_id,conversation_id,"
                "edit_history_tweet_ids,entities")
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def _unavailable(handle: str, reason: str, message: str) -> AccountUnavailableError:
    return AccountUnavailableError("x", handle, reason, message)


class XSource:
    scheme = "x"
    network = "x"

    def __init__(self, username: str, spec: str, options: SourceOptions, token: str, base_url: str):
        self.username, self.spec, self.options = username, spec, options
        self.client = HttpClient("x", base_url, token)
        self._profile: Profile | None = None

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "XSource":
        username = value.strip()
        m = re.match(r"^(?:https?://)?(?:www\.|mobile\.)?(?:x|twitter)\.com/([^/?#]+)/?$", username)
        if m:
            username = m.group(1)
        username = username.removeprefix("@")
        if not _USERNAME.match(username):
            raise InvalidHandleError(value)
        token = os.environ.get("X_BEARER_TOKEN", "").strip()
        if not token:
            raise MissingTokenError(
                "X_BEARER_TOKEN",
                f"{spec}: the X API needs a bearer token: set X_BEARER_TOKEN to your app's token "
                f"(developer.x.com; reading posts is paid), or use the account's archive instead: "
                f"archive:twitter-archive.zip")
        base = os.environ.get("HUGGINGTWEETS_X_API_URL", "").strip() or DEFAULT_BASE_URL
        return cls(username, spec, options, token, base)

    # -- profile -------------------------------------------------------------------------------

    def profile(self) -> Profile:
        if self._profile is not None:
            return self._profile
        u = self.username
        try:
            body, _ = self.client.get_json(f"/2/users/by/username/{u}", {"user.fields": USER_FIELDS})
        except HttpStatusError as e:
            raise self._status_error(e) from None
        user = body.get("data") if isinstance(body, dict) else None
        if not isinstance(user, dict) or not user.get("id"):
            raise self._lookup_error(body)
        if user.get("protected"):
            raise _unavailable(u, "protected",
                               f"@{u}'s posts are protected: only approved followers can read them; "
                               f"ask @{u} for their archive and use archive:PATH")
        name = user.get("username") or u
        avatar = user.get("profile_image_url")
        if avatar:
            avatar = avatar.replace("_normal.", "_400x400.")  # the card wants more than 48 px
        posts = (user.get("public_metrics") or {}).get("tweet_count")
        extra: dict[str, Any] = {}
        notes: list[str] = []
        if isinstance(posts, int):
            extra["post_count"] = posts
            if posts > TIMELINE_CAP:
                extra["capped_at"] = TIMELINE_CAP
                notes.append(f"@{name}: the X API gives only the {TIMELINE_CAP:,} most recent of "
                             f"{posts:,} posts; for all of them use the archive (archive:PATH)")
        if not self.options.fetch_retweets:
            extra["retweets_excluded"] = True
            notes.append(f"@{name}: retweets were left out by the API (--no-fetch-retweets), "
                         f"so the retweet count is unknown")
        if notes:
            extra["notes"] = notes
        self._profile = Profile(handle=name, name=user.get("name"), avatar_url=avatar,
                                account_id=str(user["id"]), url=f"https://x.com/{name}", extra=extra)
        return self._profile

    def _lookup_error(self, body: Any) -> AccountUnavailableError:
        u = self.username
        errors = body.get("errors") if isinstance(body, dict) else None
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        detail = str(first.get("detail") or first.get("title") or "")
        if "suspend" in detail.lower():
            return _unavailable(u, "suspended", f"@{u} is suspended on X: its posts cannot be read; "
                                                f"if you have its archive, use archive:PATH")
        return _unavailable(u, "not_found", f"@{u} was not found on X; check the spelling of the handle")

    def _status_error(self, e: HttpStatusError) -> Exception:
        u = self.username
        if e.status == 401:
            return HttpStatusError("x", 401, e.url, e.detail,
                                   "x: the API refused the token (HTTP 401); check X_BEARER_TOKEN "
                                   "(the app's bearer token, not its API key or secret)")
        if e.status == 403:
            return HttpStatusError("x", 403, e.url, e.detail,
                                   f"x: access denied (HTTP 403){': ' + e.detail if e.detail else ''}; "
                                   f"reading posts needs a paid API plan whose app belongs to a project")
        if e.status == 404:
            return _unavailable(u, "not_found", f"@{u} was not found on X; check the spelling of the handle")
        return e

    # -- posts ---------------------------------------------------------------------------------

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        profile = self.profile()
        user_id = profile.account_id
        excluded = not self.options.fetch_retweets
        if excluded:
            state["retweets_excluded"] = "true"
        elif state.get("retweets_excluded") == "true":
            # Posts fetched earlier without their retweets keep the count unknown.
            profile.extra["retweets_excluded"] = True
        params: dict[str, Any] = {"max_results": PAGE_SIZE, "tweet.fields": TWEET_FIELDS}
        if excluded:
            params["exclude"] = "retweets"
        resumed = bool(state.get("walk_token"))
        yield from self._walk(state, params, user_id)
        if resumed:
            # Posts written while the cut-off walk waited are newer than its start: one more walk.
            yield from self._walk(state, params, user_id)

    def _walk(self, state: MutableMapping[str, str], params: dict, user_id: str | None) -> Iterator[Page]:
        """One walk down the timeline, newest first, to ``since_id`` or the API's end."""
        token = state.get("walk_token") or None
        if token:
            since = state.get("walk_since") or None
            newest = state.get("walk_newest") or None
            count = int(state.get("walk_count") or 0)
        else:
            since = state.get("since_id") or None
            newest, count = None, 0
        while True:
            query = dict(params, since_id=since, pagination_token=token)
            try:
                body, _ = self.client.get_json(f"/2/users/{user_id}/tweets", query)
            except HttpStatusError as e:
                if e.status == 400 and token and "token" in e.detail.lower():
                    # A token that expired between two runs: walk again from the top. Posts already
                    # stored are skipped by the store, so this costs requests, not correctness.
                    token, newest, count = None, None, 0
                    since = state.get("since_id") or None
                    continue
                raise self._status_error(e) from None
            if not isinstance(body, dict):
                body = {}
            data = body.get("data") or []
            if not data and body.get("errors"):
                raise self._timeline_error(body["errors"])
            posts = [self._post(t, user_id) for t in data if isinstance(t, dict) and t.get("id")]
            meta = body.get("meta") or {}
            ids = [p.id for p in posts] + ([str(meta["newest_id"])] if meta.get("newest_id") else [])
            if ids:
                top = max(ids, key=id_key)
                if newest is None or id_key(top) > id_key(newest):
                    newest = top
            count += len(posts)
            previous, token = token, meta.get("next_token") or None
            if token is not None and token == previous:
                token = None  # a token that points at its own page would loop forever
            if token:
                state.update(walk_token=token, walk_newest=newest or "", walk_since=since or "",
                             walk_count=str(count))
            else:
                # The walk is complete: everything up to `newest` is stored once this page is.
                state.update(since_id=newest or since or "", walk_token="", walk_newest="",
                             walk_since="", walk_count="")
                if since is None and count >= TIMELINE_CAP:
                    state["capped_at"] = str(TIMELINE_CAP)
            yield posts
            if not token:
                return

    def _timeline_error(self, errors: list) -> Exception:
        u = self.username
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        text = f"{first.get('title', '')} {first.get('detail', '')}".lower()
        if "suspend" in text:
            return _unavailable(u, "suspended", f"@{u} is suspended on X: its posts cannot be read; "
                                                f"if you have its archive, use archive:PATH")
        if "authoriz" in text or "protected" in text:
            return _unavailable(u, "protected",
                                f"@{u}'s posts are protected: only approved followers can read them; "
                                f"ask @{u} for their archive and use archive:PATH")
        if "not found" in text or "could not find" in text:
            return _unavailable(u, "not_found", f"@{u} was not found on X; check the spelling of the handle")
        detail = " ".join(str(first.get("detail") or first.get("title") or "unknown error").split())[:200]
        return HttpStatusError("x", 200, f"/2/users/{self._profile.account_id if self._profile else ''}/tweets",
                               detail, f"x: the API could not list @{u}'s posts: {detail}")

    def _post(self, t: dict, user_id: str | None) -> Post:
        note = t.get("note_tweet") or {}
        long_text = note.get("text") if isinstance(note, dict) else None
        text = long_text or t.get("text") or ""
        entities = (note.get("entities") if long_text else None) or t.get("entities") or {}
        text = html.unescape(_expand_links(text, entities.get("urls") or []))
        kinds = {r.get("type"): str(r.get("id")) for r in t.get("referenced_tweets") or []
                 if isinstance(r, dict)}
        replied_to = kinds.get("replied_to")
        to_self = str(t.get("in_reply_to_user_id") or "") == str(user_id or "")
        if "retweeted" in kinds:
            kind = "retweet"
        elif replied_to and not to_self:
            kind = "reply"
        elif "quoted" in kinds:
            kind = "quote"
        else:
            kind = "original"  # a reply to oneself continues a thread
        return Post(id=str(t["id"]), text=text, kind=kind, created_at=parse_date(t.get("created_at")),
                    in_reply_to=replied_to, lang=t.get("lang"), raw=t,
                    versions=tuple(map(str, edits)) if len(edits := t.get("edit_history_tweet_ids") or ()) > 1 else ())


def _expand_links(text: str, urls: list) -> str:
    """t.co links -> where they lead (``expanded_url``), as the archive source does."""
    for u in urls:
        if isinstance(u, dict) and u.get("url") and u.get("expanded_url"):
            text = text.replace(u["url"], u["expanded_url"])
    return text
