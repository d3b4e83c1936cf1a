"""What every route shares: the app's settings and state, the session cookie, the CSRF check, and errors
as one line of web words.

Security, in one place:

- the session cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
  sends it) and ``Secure`` when the page is served over HTTPS (the request's scheme, which uvicorn takes
  from ``X-Forwarded-Proto`` only when the proxy is trusted: the ``FORWARDED_ALLOW_IPS`` variable,
  127.0.0.1 by default);
- every request that changes something (any method but GET and HEAD) must carry the session's CSRF
  token in an ``X-CSRF-Token`` header, which only the app's own page can read (from ``/api/state``), and
  must not come from another origin (``Origin``, ``Sec-Fetch-Site``), so that a page elsewhere cannot
  act as the visitor even where the browser would send the cookie;
- errors become one line (``web_errors``): no path, no session id, no secret.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import HuggingTweetsError, UsageError
from ..training.recipes import EMBEDDED
from .generation import Generators
from .jobs import TrainingQueue
from .sessions import COOKIE, Session, SessionLimitError, Sessions
from .steps import prepare_dataset
from .web_errors import web_message

log = logging.getLogger("huggingtweets.app")

CSRF_HEADER = "X-CSRF-Token"
COOKIE_MAX_AGE = 30 * 24 * 3600  # seconds: a visitor finds their work again for a month
SAFE_METHODS = ("GET", "HEAD")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; script-src 'self'; "
                               "style-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    # Share links open other sites; they need not learn which local page sent the visitor.
    "Referrer-Policy": "no-referrer",
}
FOREIGN_REQUEST = "this request did not come from the app's page: reload the page and try again"


class BadRequest(Exception):
    """A request the app cannot read (a broken upload, a body too large): one line, with its status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass
class Settings:
    default_base_model: str = EMBEDDED
    """What the base-model field starts with (``--base-model``)."""
    max_upload_bytes: int = 2 * 1024**3
    max_generators: int = 2
    """Models kept loaded for generation at once (the least recently used idle one is stopped)."""
    python: str | None = None
    """The Python that runs the training and generation processes (default: this one)."""
    tracker: str = "auto"
    """Experiment tracking of the training runs, as `huggingtweets train --tracker` (``--tracker``)."""
    session_hours: float = 24.0
    """A visitor's session (its folder too) is deleted after this many hours without a request."""
    max_sessions: int = 200
    """Session folders kept at once; a new visitor is then told to come back later (503)."""
    max_session_bytes: int = 10 * 1024**3
    """Disk a session's folder may fill (uploads, store, datasets, models) before uploads are refused."""
    allow_live_sources: bool = True
    """Whether visitors may download from x:, mastodon: and bsky: (spending the owner's API tokens);
    off by default when the app listens beyond this machine (``--allow-live-sources``)."""
    allow_local_models: bool = True
    """Whether visitors may name a folder of this machine as base model; off by default when the app
    listens beyond this machine (``--allow-local-models``)."""
    queue_url: str | None = None
    """Redis URL of the queue that the jobs go to (prepare, train, generate), run by ``huggingtweets
    worker`` (``--queue``); None: this machine runs them, training one job at a time in its processes
    (``rq_queue``, ``rq_steps``)."""
    max_queued_per_session: int = 1
    """Training runs one visitor may have queued or running at once on the queue (``--queue``)."""
    queue_wait_seconds: float = 30.0
    """How long a prepare or generate job waits on the queue while no worker takes its kind of job,
    before the visitor is told so (``--queue-wait-seconds``)."""


class AppState:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.sessions = Sessions(max_sessions=settings.max_sessions, idle_hours=settings.session_hours)
        self.queue = TrainingQueue(settings.python) if not settings.queue_url else _rq_queue(settings)
        # Steps 1 and 3 in this machine, or on the queue (``rq_steps``): the same calls and answers.
        self.prepare: Callable[..., dict[str, Any]] = prepare_dataset
        self.generators: Generators | Any
        if settings.queue_url:
            from .rq_steps import RQSteps

            self.generators = RQSteps(settings.queue_url, wait_seconds=settings.queue_wait_seconds)
            self.prepare = self.generators.prepare
        else:
            self.generators = Generators(settings.max_generators, settings.python)

    def close(self) -> None:
        self.queue.close()
        self.generators.close()


def _rq_queue(settings: Settings):
    from .rq_queue import RQTrainingQueue

    return RQTrainingQueue(settings.queue_url, max_per_session=settings.max_queued_per_session)


def error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


QUEUE_AWAY = "the app's job queue cannot be reached right now; nothing was changed: try again in a minute"


def queue_unreachable(e: BaseException) -> bool:
    """Whether ``e`` is the Redis client's failure to reach its server (connection refused, lost, timed
    out), told by its module so that the embedded mode never imports redis."""
    return type(e).__module__.startswith("redis") and type(e).__name__ in ("ConnectionError", "TimeoutError",
                                                                            "BusyLoadingError")


def unexpected(e: BaseException) -> str:
    return f"unexpected error ({type(e).__name__}); the server's log has the details"


def same_origin(request: Request) -> bool:
    """Whether the browser says the request comes from the app's own page (or says nothing)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


def csrf_ok(request: Request, session: Session) -> bool:
    """A request that changes something: from the app's origin, with this session's token."""
    sent = request.headers.get(CSRF_HEADER, "")
    return same_origin(request) and bool(sent) and secrets.compare_digest(sent, session.csrf)


def set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(COOKIE, session.id, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def forget_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


Handler = Callable[[Request, Session], Awaitable[Response]]


def with_session(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Find the caller's session (or start one, setting the cookie), check that a request which changes
    something comes from the app's page, and turn errors into one line of web words."""

    async def endpoint(request: Request) -> Response:
        app: AppState = request.app.state.ht
        session = app.sessions.get(request.cookies.get(COOKIE))
        new = session is None
        if session is None:
            session = app.sessions.create()
        try:
            if request.method not in SAFE_METHODS and not csrf_ok(request, session):
                response = error(FOREIGN_REQUEST, 403)
            else:
                if request.method not in SAFE_METHODS:
                    app.sessions.persist(session)  # its folder is made when the visitor first acts
                response = await handler(request, session)
        except BadRequest as e:
            response = error(e.message, e.status)
        except SessionLimitError as e:
            response = error(str(e), e.status)
        except HTTPException as e:
            response = error(f"the request could not be read ({e.detail}); reload the page and try again",
                             e.status_code if 400 <= e.status_code < 500 else 400)
        except HuggingTweetsError as e:
            response = error(web_message(e, session))
        except Exception as e:  # noqa: BLE001 - the page gets one line, the log the traceback
            if queue_unreachable(e):  # Redis away (--queue): a passing state, not a bug
                log.warning("%s %s: the queue cannot be reached (%s)", request.method, request.url.path, e)
                response = error(QUEUE_AWAY, 503)
            else:
                log.exception("%s %s failed", request.method, request.url.path)
                response = error(unexpected(e), 500)
        if new and not session.deleted:
            set_cookie(request, response, session)
        return response

    return endpoint


MAX_JSON_BYTES = 1024**2  # the page's JSON requests are a few hundred bytes


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, read up to ``MAX_JSON_BYTES`` (413 past that)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BYTES:
            raise BadRequest("the request is too large; reload the page", 413)
    try:
        data = orjson.loads(bytes(body) or b"{}")
    except (orjson.JSONDecodeError, UnicodeDecodeError):
        raise UsageError("the request is not valid JSON; reload the page") from None
    if not isinstance(data, dict):
        raise UsageError("the request is not a JSON object; reload the page")
    return data


def int_or_none(data: dict[str, Any], key: str, low: int, label: str | None = None) -> int | None:
    """``data[key]`` as a whole number of at least ``low``, or None when empty; ``label`` names the field."""
    value = data.get(key)
    label = label or key.replace("_", " ")
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{label} must be a whole number (got {value!r})") from None
    if number < low:
        raise UsageError(f"{label} must be at least {low} (got {number})")
    return number
