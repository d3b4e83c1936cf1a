"""The web app's server: one page, and a small JSON API that the page calls.

Every route works on the caller's own session (from the cookie) and nothing else: no route takes a
session id, a folder or a file name from the request (but a picture's name beside the card, checked),
so one visitor cannot reach another's files. Errors come back as ``{"error": "one line"}`` in web
words, which the page shows as is. The routes live by step: ``data_routes`` (1: sources to a dataset),
``training_routes`` (2), ``model_routes`` (3: posts, preview, card, publish; download and delete);
``web`` holds what they share (cookie, CSRF check, errors) and ``views`` what the page is shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import UsageError
from . import data_routes, model_routes, training_routes
from .sessions import Session
from .views import state_response, view
from .web import SECURITY_HEADERS, AppState, Settings, with_session

log = logging.getLogger("huggingtweets.app")
SWEEP_SECONDS = 600  # how often idle sessions are looked for (their idle time is counted in hours)

__all__ = ["AppState", "Settings", "create_app", "listen", "serve", "view"]


async def api_state(request: Request, session: Session) -> Response:
    return state_response(request.app.state.ht, session)


async def index(request: Request) -> Response:
    """The page, the same for everyone. It starts no session: a visitor who follows a link from another
    site arrives without the (SameSite=Strict) cookie, and a new one set here would replace theirs. The
    page's own calls, from this origin, carry it."""
    html = resources.files("huggingtweets.app").joinpath("static/index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def routes() -> list[Any]:
    static = str(resources.files("huggingtweets.app").joinpath("static"))
    post = ["POST"]
    return [
        Route("/", index),
        Route("/api/state", with_session(api_state)),
        Route("/api/prepare", with_session(data_routes.api_prepare), methods=post),
        Route("/api/train", with_session(training_routes.api_train), methods=post),
        Route("/api/cancel", with_session(training_routes.api_cancel), methods=post),
        Route("/api/generate", with_session(model_routes.api_generate), methods=post),
        Route("/api/preview", with_session(model_routes.api_preview), methods=post),
        Route("/api/preview.png", with_session(model_routes.preview_png)),
        Route("/api/model-image/{name}", with_session(model_routes.model_image)),
        Route("/api/card", with_session(model_routes.card)),
        Route("/api/publish", with_session(model_routes.api_publish), methods=post),
        Route("/api/download", with_session(model_routes.download)),
        Route("/api/delete", with_session(model_routes.delete_my_data), methods=post),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]


def create_app(settings: Settings | None = None, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The web app as an ASGI application (run it with ``serve`` or any ASGI server).

    Args:
        settings: defaults and limits (base model shown in the form, upload size, warm models).
        allowed_hosts: the ``Host`` headers to answer (None: any); ``serve`` passes the local names
            when bound to 127.0.0.1, so that a web page elsewhere cannot reach the app by DNS rebinding.
    """
    state = AppState(settings or Settings())

    async def sweeper() -> None:
        while True:
            try:
                await run_in_threadpool(state.sessions.sweep)
            except Exception:  # noqa: BLE001 - a failed sweep is tried again at the next turn
                log.exception("deleting expired sessions failed")
            await asyncio.sleep(SWEEP_SECONDS)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()
            await run_in_threadpool(state.close)

    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    app = Starlette(routes=routes(), middleware=middleware, lifespan=lifespan)
    app.state.ht = state
    return app


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``, for ``serve``.

    Raises:
        UsageError: the port is taken (another app is on it), not allowed, or the address is not this
            machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a port left in TIME_WAIT by a server that just stopped may be taken again, a
    # port another program listens on may not.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        shown = f"[{host}]" if ":" in host else host
        if e.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {shown} is already in use (another `huggingtweets app`?): stop "
                             f"that program, or pass --port with a free port") from None
        if e.errno == errno.EACCES:
            raise UsageError(f"not allowed to listen on port {port}: pass --port 1024 or above") from None
        raise UsageError(f"cannot listen on {shown}:{port} ({e.strerror or e}): pass --host with an address "
                         f"of this machine, such as 127.0.0.1") from None
    return sock


def serve(host: str = "127.0.0.1", port: int = 7860, settings: Settings | None = None,
          sock: socket.socket | None = None) -> None:
    """Run the app until Ctrl-C; a running training job is stopped with a checkpoint on the way out.

    Args:
        sock: a socket from ``listen(host, port)`` (default: made here).

    Raises:
        UsageError: the port is taken (see ``listen``).
    """
    import warnings

    import uvicorn

    from ..api import DataWarning

    sock = sock or listen(host, port)
    # The page shows these notes itself; the server's console need not repeat them.
    warnings.filterwarnings("ignore", category=DataWarning)
    local = host in ("127.0.0.1", "localhost", "::1")
    os.umask(0o077)  # visitors' files (uploads, stores, models) are readable by this user only
    allowed = ["127.0.0.1", "localhost", "[::1]", "::1"] if local else None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = uvicorn.Config(create_app(settings, allowed_hosts=allowed), log_level="warning")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
