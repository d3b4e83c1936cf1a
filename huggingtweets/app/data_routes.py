"""Step 1 of the page: sources (handles, or an uploaded archive or file) to the session's dataset.

The server receives the uploads; the dataset itself is made by ``steps.prepare_dataset``, in a thread of
the server, or with ``--queue`` by a worker (``rq_steps``), whose progress reaches the page the same way.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from .. import paths
from ..errors import HuggingTweetsError, UsageError
from . import jobs as jobs_mod
from .sessions import Session
from .steps import prepare_dataset
from .views import MAX_SOURCES, NETWORKS, prepare_view, state_response
from .web import QUEUE_AWAY, AppState, BadRequest, Settings, queue_unreachable, unexpected
from .web_errors import web_message

log = logging.getLogger("huggingtweets.app")

ARCHIVE_SUFFIXES = (".zip", ".js")
FORM_SLACK = 1024**2  # bytes: the form's fields and part headers, beside the files themselves
LIVE = ("x", "mastodon", "bsky")


def _source_spec(session: Session, kind: str, value: str, upload: UploadFile | None, max_bytes: int,
                 index: int, settings: Settings) -> tuple[str, str] | None:
    """(spec, label) for one row of the form, or None when the row is empty."""
    value = (value or "").strip()
    if kind == "upload":
        if upload is None or not upload.filename:
            return None
        path = session.save_upload(upload.filename, upload.file, max_bytes)
        name = path.name.lower()
        scheme = "archive" if name.endswith(ARCHIVE_SUFFIXES) or name.endswith("outbox.json") else "file"
        return f"{scheme}:{path}", path.name.split("-", 1)[1]
    if not value:
        return None
    if kind not in LIVE:
        raise UsageError(f"source {index + 1}: unknown network {kind!r}; choose one of "
                         f"{', '.join(NETWORKS.values())}")
    if not settings.allow_live_sources:
        raise UsageError(f"source {index + 1}: this app does not download from {NETWORKS.get(kind, kind)} for "
                         f"visitors (it would spend its owner's API keys); upload an archive instead")
    return f"{kind}:{value}", f"{kind}:{value}"


class _Progress:
    """Counts posts per account as pages arrive, for the page's progress line."""

    def __init__(self, session: Session, desc: str):
        self.session, self.desc = session, desc
        with session.lock:
            session.live.setdefault("progress", {})[desc] = 0

    def update(self, n: int) -> None:
        with self.session.lock:
            self.session.live["progress"][self.desc] += n

    def close(self) -> None:
        pass


def run_prepare(session: Session, specs: list[str], handle: str | None,
                prepare: Callable[..., dict[str, Any]] = prepare_dataset) -> None:
    """Fetch, clean and write the session's dataset (in a thread); the outcome goes into the session.

    ``prepare`` is ``steps.prepare_dataset`` itself (the embedded mode), or with ``--queue`` the call that
    has a worker run it (``rq_steps.RQSteps.prepare``): same arguments, same answer, same errors.
    """
    out = session.datasets / secrets.token_hex(4)
    try:
        dataset = prepare(session.folder, specs, handle, out, lambda desc: _Progress(session, desc))
        with session.lock:
            old = (session.data.get("dataset") or {}).get("folder")
            session.data.update(dataset=dataset, prepare={"status": "done"}, model=None, predictions=[],
                                preview=None, publish=None, training={"status": "idle"})
            session.live.pop("job", None)
            session.save()
        if old and old != out.name:
            session.clear_folder(session.datasets / old)
    except HuggingTweetsError as e:
        session.clear_folder(out)
        session.update(prepare={"status": "error", "error": web_message(e, session)})
    except Exception as e:  # noqa: BLE001
        session.clear_folder(out)
        if queue_unreachable(e):
            log.warning("preparing a dataset: the queue cannot be reached (%s)", e)
            session.update(prepare={"status": "error", "error": QUEUE_AWAY})
        else:
            log.exception("preparing a dataset failed")
            session.update(prepare={"status": "error", "error": unexpected(e)})
    finally:
        with session.lock:
            session.live.pop("progress", None)


class _TooLarge(Exception):
    pass


async def read_form(request: Request, limit: int) -> FormData:
    """The request's multipart form, read while counting: a body over ``limit`` bytes is refused from
    its ``Content-Length`` before anything is read, or as soon as the count passes the limit (413);
    a body that is not a readable form is a 400 or 415, never a 500.

    Raises:
        BadRequest: as above, one line.
    """
    content_type = request.headers.get("content-type", "").lower()
    multipart = content_type.startswith("multipart/form-data")
    if not multipart and not content_type.startswith("application/x-www-form-urlencoded"):
        raise BadRequest("the request is not a form; reload the page and try again", 415)
    too_large = BadRequest(f"the upload is larger than this app accepts ({limit:,} bytes); whoever runs the "
                           f"app can raise it with --max-upload-mb", 413)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise too_large if length.isdigit() else BadRequest("the request's Content-Length is not a number")

    async def counted():
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit:
                raise _TooLarge
            yield chunk

    parser = (MultiPartParser(request.headers, counted(), max_files=MAX_SOURCES, max_fields=4 * MAX_SOURCES + 4)
              if multipart else FormParser(request.headers, counted()))
    try:
        return await parser.parse()
    except _TooLarge:
        raise too_large from None
    except MultiPartException as e:
        raise BadRequest(f"the upload could not be read ({e.message}); reload the page and try again") from None
    except Exception as e:  # noqa: BLE001 - whatever a broken body makes the parser raise is the sender's
        log.info("unreadable form: %r", e)
        raise BadRequest("the upload could not be read; reload the page and try again") from None


def _room(session: Session, settings: Settings) -> int:
    """Bytes this session may still upload: the upload limit, or what is left of its disk allowance."""
    left = settings.max_session_bytes - paths.folder_bytes(session.folder)
    if left <= 0:
        raise BadRequest(f"your session on this app is full ({settings.max_session_bytes // 1024**2:,} MB); "
                         f"delete your data to start again", 413)
    return min(settings.max_upload_bytes, left)


async def _chosen_sources(request: Request, session: Session, app: AppState) -> tuple[list, str | None]:
    """([(spec, label)], handle) from the form, uploads saved in the session's folder."""
    room = await run_in_threadpool(_room, session, app.settings)
    form = await read_form(request, room + FORM_SLACK)
    try:
        chosen = []
        for i in range(MAX_SOURCES):
            upload = form.get(f"file{i}")
            got = await run_in_threadpool(
                _source_spec, session, str(form.get(f"kind{i}") or ""), str(form.get(f"value{i}") or ""),
                upload if isinstance(upload, UploadFile) else None, room, i, app.settings)
            if got is not None:
                chosen.append(got)
        return chosen, str(form.get("handle") or "").strip() or None
    finally:
        await form.close()


async def api_prepare(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    with session.lock:
        if prepare_view(session)["status"] == "running" or session.live.get("receiving"):
            raise UsageError("a download is already running; wait for it to finish")
        job = session.live.get("job")
        if job is not None and job.status not in jobs_mod.FINISHED:
            raise UsageError("a training run is queued or running on the current data; cancel it first")
        session.live["receiving"] = True  # two quick clicks must not start two downloads
    try:
        chosen, handle = await _chosen_sources(request, session, app)
        if not chosen:
            raise UsageError("add at least one source: a handle with its network, or an archive or file to "
                             "upload")
        with session.lock:
            session.data.update(sources=[label for _, label in chosen], prepare={"status": "running"})
            session.live["progress"] = {}
            session.save()
    finally:
        with session.lock:
            session.live.pop("receiving", None)
    threading.Thread(target=run_prepare, args=(session, [spec for spec, _ in chosen], handle, app.prepare),
                     name="prepare", daemon=True).start()
    return state_response(app, session, 202)
