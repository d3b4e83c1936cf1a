"""The HTTP client the live sources share: retries, rate limits, Link headers, JSON, no leaked tokens.

Built on ``urllib`` so that fetching needs no extra dependency, honours ``HTTPS_PROXY`` and verifies
certificates the way Python does everywhere else.

- Transient failures (HTTP 5xx, timeouts, dropped or refused connections, a body cut short) are
  retried ``HUGGINGTWEETS_HTTP_RETRIES`` times (default 4) after ``base * 2**attempt`` seconds, with
  ``base`` = ``HUGGINGTWEETS_HTTP_BACKOFF`` (default 1): 1 + 2 + 4 + 8 = 15 s at most by default.
- HTTP 429 is waited out until the time the service names (``Retry-After``; X ``x-rate-limit-reset``
  and Bluesky ``ratelimit-reset`` in epoch seconds; Mastodon ``X-RateLimit-Reset`` as an ISO time),
  with a countdown on stderr, unless that is further away than ``HUGGINGTWEETS_MAX_RATE_LIMIT_WAIT``
  seconds (default 900): then ``RateLimitError`` says when to come back.
- The bearer token is sent only to the origin the client was made for (never along a redirect to
  another host) and is scrubbed from every message, so it cannot reach logs, the store or errors.
"""

from __future__ import annotations

import gzip
import http.client
import io
import json
import os
import re
import socket
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any, Callable, Mapping

from ..errors import FetchError, HttpStatusError, RateLimitError, UsageError
from ._dates import parse_datetime

DEFAULT_RETRIES = 4
DEFAULT_BACKOFF_S = 1.0
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RATE_LIMIT_WAIT_S = 15 * 60
# A 429 without any reset header: wait a minute, the shortest window the three services use.
DEFAULT_RATE_LIMIT_WAIT_S = 60.0
# Reset times are whole seconds on a clock that is not ours: a little slack avoids a second 429.
RESET_SLACK_S = 0.5
MAX_5XX_RETRY_AFTER_S = 60.0
MAX_BODY_BYTES = 64 * 1024 * 1024
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524})

WaitReporter = Callable[[str, float], None]  # (service, seconds left; 0 when done)


def _env_number(name: str, default: float, minimum: float = 0.0) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{name}={value!r} is not a number; set it to a number of seconds "
                         f"or unset it (default {default:g})") from None
    if number < minimum:
        raise UsageError(f"{name}={value!r} is below {minimum:g}; set it to a number >= {minimum:g}")
    return number


def max_rate_limit_wait() -> float:
    """Seconds we agree to wait for a rate limit to reset (``HUGGINGTWEETS_MAX_RATE_LIMIT_WAIT``)."""
    return _env_number("HUGGINGTWEETS_MAX_RATE_LIMIT_WAIT", DEFAULT_MAX_RATE_LIMIT_WAIT_S)


def retries() -> int:
    """Retries after a transient failure (``HUGGINGTWEETS_HTTP_RETRIES``)."""
    return int(_env_number("HUGGINGTWEETS_HTTP_RETRIES", DEFAULT_RETRIES))


def backoff_base() -> float:
    """Seconds before the first retry, doubled at each next one (``HUGGINGTWEETS_HTTP_BACKOFF``)."""
    return _env_number("HUGGINGTWEETS_HTTP_BACKOFF", DEFAULT_BACKOFF_S)


def timeout() -> float:
    """Seconds a request may stay silent before it counts as failed (``HUGGINGTWEETS_HTTP_TIMEOUT``)."""
    return _env_number("HUGGINGTWEETS_HTTP_TIMEOUT", DEFAULT_TIMEOUT_S, minimum=0.001)


def stderr_countdown(service: str, left: float) -> None:
    """The default wait reporter: one line on stderr, rewritten each second."""
    if left > 0:
        m, s = divmod(int(left + 0.999), 60)
        sys.stderr.write(f"\r{service}: rate limited, waiting {m:d}:{s:02d} ")
    else:
        sys.stderr.write(f"\r{service}: rate limit reset, continuing   \n")
    sys.stderr.flush()


# A process-wide hook rather than a parameter of every source: the CLI and the tests may swap it.
wait_reporter: WaitReporter = stderr_countdown


# -- parsing ------------------------------------------------------------------------------------

_LINK_PART = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,]+)*)')
_LINK_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"([^"]*)"|([^;,\s]*))')


def parse_link_header(value: str | None) -> dict[str, str]:
    """``<https://a/?max_id=1>; rel="next", <...>; rel="prev"`` -> ``{"next": ..., "prev": ...}``."""
    links: dict[str, str] = {}
    for m in _LINK_PART.finditer(value or ""):
        url, params = m.group(1).strip(), m.group(2)
        for p in _LINK_PARAM.finditer(params):
            if p.group(1).lower() == "rel":
                for rel in (p.group(2) if p.group(2) is not None else p.group(3)).split():
                    links.setdefault(rel.lower(), url)
    return links


def _parse_time(value: str, now: float) -> float | None:
    """Seconds from ``now`` until the instant a reset header names, or None if unreadable."""
    value = value.strip()
    if not value:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", value):
        number = float(value)
        # Epoch seconds (X, Bluesky) are large; small numbers are a delay (Retry-After, RFC 9331).
        return number - now if number > 1e9 else number
    # Mastodon: ISO 8601, e.g. 2024-05-01T12:05:00.000Z; Retry-After: an HTTP date.
    dt = parse_datetime(value)
    return None if dt is None else dt.timestamp() - now


def rate_limit_wait(headers: Mapping[str, str] | Message, now: float | None = None) -> float | None:
    """Seconds until a rate limit resets, from whichever header the service sent; None if none."""
    now = time.time() if now is None else now
    for name in ("retry-after", "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        value = headers.get(name)
        if value:
            wait = _parse_time(str(value), now)
            if wait is not None:
                return max(0.0, wait)
    return None


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes
    url: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise FetchError(
                f"{_short_url(self.url)} answered with something that is not JSON "
                f"(starts {self.body[:40]!r}); check the service's base URL") from None

    @property
    def links(self) -> dict[str, str]:
        return parse_link_header(self.headers.get("link"))


def _short_url(url: str) -> str:
    """Host and path only: queries can be long and carry nothing the reader needs."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.netloc}{parts.path}"


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _error_detail(body: bytes) -> str:
    """The human part of an API error body: X ``detail``/``title``, Mastodon ``error``, Bluesky ``message``."""
    try:
        data = json.loads(body)
    except ValueError:
        text = body[:200].decode("utf-8", "replace")
        return " ".join(text.split())
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            data = {**errors[0], **data}
        for key in ("detail", "message", "error_description", "error", "title"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())[:300]
    return ""


class _NoCrossOriginAuth(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but refuse to leave the origin: the token must never travel elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[override]
        if _origin(newurl) != _origin(req.full_url):
            raise urllib.error.HTTPError(newurl, code, f"redirect to another host ({_origin(newurl)[1]})",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class HttpClient:
    """GET JSON from one service, with retries, rate-limit waits and a secret that never leaks.

    Args:
        service: the name used in messages (``"x"``, ``"mastodon.social"``).
        base_url: scheme and host (and optional path prefix) that relative paths are joined to.
        token: a bearer token, sent as ``Authorization`` to ``base_url``'s origin only.
        sleep / clock: injectable for tests of the waits themselves.
    """

    def __init__(self, service: str, base_url: str, token: str | None = None, *,
                 user_agent: str | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"{base_url!r} is not an http(s) URL; write it as https://host")
        self.service = service
        self.base_url = base_url.rstrip("/")
        self._token = token or None
        self._sleep = sleep
        self._clock = clock
        from .. import __version__

        self._user_agent = user_agent or f"huggingtweets/{__version__}"
        self._opener = urllib.request.build_opener(_NoCrossOriginAuth())

    def __repr__(self) -> str:  # never show the token, even in a debugger or a traceback's locals
        return f"HttpClient({self.service!r}, {self.base_url!r}, token={'***' if self._token else None})"

    # -- public ------------------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """``base_url`` + ``path`` + the query; ``path`` may also be a full URL of the same origin."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + "/" + path.lstrip("/")
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None and v != ""})
            if query:
                url += ("&" if "?" in url else "?") + query
        return url

    def same_origin(self, url: str) -> bool:
        return _origin(url) == _origin(self.base_url)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Response:
        """GET ``path`` and return the 2xx response.

        Raises:
            HttpStatusError: a 4xx (other than 429), or a 5xx that outlasted the retries.
            RateLimitError: a 429 whose reset is further away than the wait limit.
            FetchError: the service could not be reached after the retries.
        """
        url = self.url(path, params)
        if not self.same_origin(url):
            raise FetchError(f"{self.service}: refusing to follow a link to another host "
                             f"({_origin(url)[1]}); the service sent an unexpected pagination link")
        max_retries, base = retries(), backoff_base()
        attempt = 0  # transient failures so far
        waited = 0.0  # seconds spent waiting for rate limits within this request
        while True:
            try:
                resp = self._request(url)
            except _Transient as e:
                if attempt >= max_retries:
                    raise FetchError(self._scrub(
                        f"{self.service}: {_short_url(url)} failed {attempt + 1} times in a row "
                        f"(last: {e}); check the network and run the same command again (what was "
                        f"fetched is kept and the fetch continues where it stopped)")) from None
                self._sleep(base * 2**attempt)
                attempt += 1
                continue
            if resp.status == 429:
                limit = max_rate_limit_wait()
                wait = rate_limit_wait(resp.headers, self._clock())
                wait = DEFAULT_RATE_LIMIT_WAIT_S if wait is None else wait + RESET_SLACK_S
                if waited + wait > limit:
                    raise RateLimitError(self.service, wait, limit)
                self._countdown(wait)
                waited += wait
                continue
            if resp.status in TRANSIENT_STATUSES:
                if attempt >= max_retries:
                    raise HttpStatusError(
                        self.service, resp.status, _short_url(url), self._scrub(_error_detail(resp.body)),
                        self._scrub(
                            f"{self.service}: {_short_url(url)} answered HTTP {resp.status} {attempt + 1} "
                            f"times in a row; the service is having trouble, run the same command again "
                            f"later (what was fetched is kept)"))
                delay = base * 2**attempt
                retry_after = resp.headers.get("retry-after")
                if retry_after:
                    # A server in maintenance may name a later time; a minute is as long as we hold on
                    # silently, the retries bound the rest.
                    asked = _parse_time(retry_after, self._clock())
                    delay = max(delay, min(asked or 0.0, MAX_5XX_RETRY_AFTER_S))
                self._sleep(delay)
                attempt += 1
                continue
            if resp.status >= 400:
                raise HttpStatusError(self.service, resp.status, _short_url(url),
                                      self._scrub(_error_detail(resp.body)))
            return resp

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, Response]:
        resp = self.get(path, params)
        return resp.json(), resp

    # -- internals ---------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        if self._token and self._token in text:
            text = text.replace(self._token, "***")
        return text

    def _countdown(self, seconds: float) -> None:
        end = self._clock() + seconds
        reporter = wait_reporter
        while True:
            left = end - self._clock()
            if left <= 0:
                break
            reporter(self.service, left)
            self._sleep(min(1.0, left))
        reporter(self.service, 0)

    def _request(self, url: str) -> Response:
        req = urllib.request.Request(url, method="GET")
        req.add_header("Accept", "application/json")
        req.add_header("Accept-Encoding", "gzip")
        req.add_header("User-Agent", self._user_agent)
        if self._token:
            # Unredirected: urllib would otherwise copy it onto a redirect, whatever the host.
            req.add_unredirected_header("Authorization", f"Bearer {self._token}")
        try:
            with self._opener.open(req, timeout=timeout()) as r:
                return Response(r.status, r.headers, _read_body(r), r.geturl())
        except urllib.error.HTTPError as e:
            try:
                body = _read_body(e) if e.fp is not None else b""
            except (_Transient, OSError, http.client.HTTPException):
                body = b""
            if e.code in (301, 302, 303, 307, 308):
                raise FetchError(f"{self.service}: {_short_url(url)} redirects to another host "
                                 f"({e.msg}); check the service's base URL") from None
            return Response(e.code, e.headers, body, url)
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, socket.gaierror):
                raise FetchError(f"{self.service}: cannot find the host {urllib.parse.urlsplit(url).netloc} "
                                 f"({reason.strerror or reason}); check the spelling and the network") from None
            if isinstance(reason, ssl.SSLError):
                raise FetchError(f"{self.service}: secure connection to {urllib.parse.urlsplit(url).netloc} "
                                 f"failed ({reason}); check the system's certificates") from None
            raise _Transient(str(reason)) from None
        except (TimeoutError, socket.timeout):
            raise _Transient("timed out") from None
        except (ConnectionError, http.client.HTTPException) as e:
            raise _Transient(type(e).__name__ + (f": {e}" if str(e) else "")) from None
        except OSError as e:
            raise _Transient(str(e)) from None


class _Transient(Exception):
    """A failure worth retrying: the connection, not the request, went wrong."""


def _read_body(r: Any) -> bytes:
    try:
        data = r.read(MAX_BODY_BYTES + 1)
    except (TimeoutError, socket.timeout):
        raise _Transient("timed out while reading") from None
    except (ConnectionError, http.client.HTTPException) as e:
        raise _Transient(type(e).__name__) from None
    if len(data) > MAX_BODY_BYTES:
        raise FetchError(f"{_short_url(r.geturl())}: response over {MAX_BODY_BYTES:,} bytes; "
                         f"check the service's base URL")
    # read(n) returns what arrived when the connection closes early; only the length tells.
    declared = r.headers.get("content-length")
    if declared and declared.isdigit() and len(data) < int(declared):
        raise _Transient(f"connection closed after {len(data):,} of {int(declared):,} bytes")
    if (r.headers.get("content-encoding") or "").lower() == "gzip":
        try:
            data = gzip.GzipFile(fileobj=io.BytesIO(data)).read(MAX_BODY_BYTES + 1)
        except (OSError, EOFError):
            raise _Transient("a compressed body cut short") from None
        if len(data) > MAX_BODY_BYTES:
            raise FetchError(f"{_short_url(r.geturl())}: response over {MAX_BODY_BYTES:,} bytes "
                             f"once decompressed; check the service's base URL")
    return data


def id_key(post_id: str) -> tuple[int, str]:
    """Order of numeric ids given as strings (X, Mastodon): shorter is older, then by digits."""
    return len(post_id), post_id
