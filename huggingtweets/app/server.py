"""The web app's routes: one page, and a small JSON API that the page calls.

Every route works on the caller's own session (from the cookie) and nothing else: no route takes a
session id, a folder or a file name from the request, so one visitor cannot reach another's files.
Errors come back as ``{"error": "one line"}``, which the page shows as is.
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Awaitable, Callable

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..dataset.folder import AccountStats, DatasetFolder
from ..errors import HuggingTweetsError, UsageError
from ..generate import DEFAULT_PROMPT
from ..training.recipes import EMBEDDED, RECIPES
from . import jobs as jobs_mod
from .generation import Generators
from .jobs import TrainingJob, TrainingQueue
from .sessions import COOKIE, Session, Sessions
from .share import printable, share_links

log = logging.getLogger("huggingtweets.app")

MAX_SOURCES = 3
N_PREDICTIONS = 10
N_SAMPLES = 5
MAX_PROMPT_CHARS = 500
NETWORKS = {"x": "X handle", "mastodon": "Mastodon (@user@server)", "bsky": "Bluesky handle",
            "upload": "Archive or file"}
ARCHIVE_SUFFIXES = (".zip", ".js")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; script-src 'self'; "
                               "style-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    # Share links open other sites; they need not learn which local page sent the visitor.
    "Referrer-Policy": "no-referrer",
}


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


class AppState:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.sessions = Sessions()
        self.queue = TrainingQueue(settings.python)
        self.generators = Generators(settings.max_generators, settings.python)

    def close(self) -> None:
        self.queue.close()
        self.generators.close()


# --- helpers --------------------------------------------------------------------------------------


def one_line(message: str, session: Session | None = None, secret: str | None = None) -> str:
    """A message as the page shows it: one line, no secret, paths relative to the session folder."""
    text = " ".join(str(message).split())
    if session is not None:
        text = text.replace(str(session.folder.resolve()) + "/", "").replace(str(session.folder) + "/", "")
    if secret:
        text = text.replace(secret, "***")
    return text


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


Handler = Callable[[Request, Session], Awaitable[Response]]


def with_session(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Find the caller's session (or start one, setting the cookie) and turn errors into one line."""

    async def endpoint(request: Request) -> Response:
        app: AppState = request.app.state.ht
        session = app.sessions.get(request.cookies.get(COOKIE))
        new = session is None
        if session is None:
            session = app.sessions.create()
        try:
            response = await handler(request, session)
        except HuggingTweetsError as e:
            response = _error(one_line(str(e), session))
        except Exception as e:  # noqa: BLE001 - the page gets one line, the log the traceback
            log.exception("%s %s failed", request.method, request.url.path)
            response = _error(f"unexpected error ({type(e).__name__}); the server's log has the details", 500)
        if new:
            response.set_cookie(COOKIE, session.id, max_age=30 * 24 * 3600, httponly=True, samesite="strict",
                                path="/")
        return response

    return endpoint


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise UsageError("the request is not valid JSON; reload the page") from None
    if not isinstance(data, dict):
        raise UsageError("the request is not a JSON object; reload the page")
    return data


def _handles(session: Session) -> list[str]:
    return [u["handle"] for u in (session.data.get("dataset") or {}).get("users", [])]


def _job(app: AppState, session: Session) -> TrainingJob | None:
    return session.live.get("job")


def _prepare_view(session: Session) -> dict[str, Any]:
    prepare = dict(session.data.get("prepare") or {"status": "idle"})
    if "progress" in session.live:
        prepare["progress"] = dict(session.live["progress"])
    elif prepare["status"] == "running":
        # Saved while a download was going on, and no thread is on it: the server stopped since.
        prepare = {"status": "error", "error": "the server stopped during the download; press Download again"}
    return prepare


def _training_view(app: AppState, session: Session) -> dict[str, Any]:
    job = _job(app, session)
    if job is not None:
        return {**job.view(), "position": app.queue.position(job)}
    training = session.data.get("training") or {"status": "idle"}
    if training.get("status") in (jobs_mod.QUEUED, jobs_mod.RUNNING, jobs_mod.CANCELLING):
        # Saved while a run was going on: the server stopped since (it stops runs with a checkpoint).
        from ..training.checkpoints import checkpoint_dirs

        spec = session.data.get("training_spec") or {}
        kept = bool(spec) and bool(checkpoint_dirs(Path(spec["output"])))
        training = {"status": jobs_mod.CANCELLED, "resumable": kept, "message": (
            "The server stopped during training; the last checkpoint is kept: press Resume to go on."
            if kept else "The server stopped during training; nothing was saved: press Train to start again.")}
    return training


def view(app: AppState, session: Session) -> dict[str, Any]:
    """Everything the page shows for this session."""
    with session.lock:
        d = session.data
        prepare = _prepare_view(session)
        training = _training_view(app, session)
        return {
            "sources": d.get("sources", []),
            "prepare": prepare,
            "dataset": d.get("dataset"),
            "training": training,
            "model": d.get("model"),
            "prompt": d.get("prompt", DEFAULT_PROMPT),
            "predictions": d.get("predictions", []),
            "preview": d.get("preview"),
            "publish": d.get("publish"),
            "options": {
                "networks": NETWORKS, "max_sources": MAX_SOURCES, "recipes": list(RECIPES),
                "default_recipe": "quick", "base_model": app.settings.default_base_model,
                "default_prompt": DEFAULT_PROMPT,
            },
        }


def _state(app: AppState, session: Session, status: int = 200) -> JSONResponse:
    return JSONResponse(view(app, session), status_code=status, headers=SECURITY_HEADERS)


# --- step 1: sources to a dataset -----------------------------------------------------------------


def table(users: list[AccountStats]) -> dict[str, Any]:
    """The card's table (the rows of ``dataset.counts``), one column per account; a count the source
    could not tell is ``"unknown"``."""
    from ..dataset.counts import counts_table

    return {"header": ["Data"] + [f"@{u.handle}" for u in users],
            "rows": [[label] + ["unknown" if v is None else v for v in values]
                     for label, _, values in counts_table(users)]}


def samples(folder: Path, n: int = N_SAMPLES) -> list[dict[str, str]]:
    """A few training posts (each once: balancing copies left out), picked the same way every time."""
    posts = [{"handle": row.get("handle", ""), "text": row["text"]}
             for row in DatasetFolder.open(folder).rows("train") if not row.get("copy")]
    return random.Random(0).sample(posts, min(n, len(posts)))


def _source_spec(session: Session, kind: str, value: str, upload: UploadFile | None, max_bytes: int,
                 index: int) -> tuple[str, str] | None:
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
    if kind not in ("x", "mastodon", "bsky"):
        raise UsageError(f"source {index + 1}: unknown network {kind!r}; choose one of "
                         f"{', '.join(NETWORKS.values())}")
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


def run_prepare(session: Session, specs: list[str], handle: str | None) -> None:
    """Fetch, clean and write the session's dataset (in a thread); the outcome goes into the session."""
    from ..api import prepare
    from ..sources import SourceOptions
    from ..store import Store

    out = session.datasets / secrets.token_hex(4)
    store = None
    try:
        store = Store(session.store_path)
        ds = prepare(specs, out, source_options=SourceOptions(handle=handle or None), store=store,
                     progress=lambda desc: _Progress(session, desc))
        users = ds.stats.users
        dataset = {"bot": ds.name, "folder": out.name, "users": [
            {k: getattr(u, k) for k in ("handle", "name", "network", "downloaded", "retweets", "short", "kept")}
            for u in users], "table": table(users), "samples": samples(out), "warnings": ds.warnings,
            "hash": ds.hash}
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
        session.update(prepare={"status": "error", "error": one_line(str(e), session)})
    except Exception as e:  # noqa: BLE001
        log.exception("preparing a dataset failed")
        session.clear_folder(out)
        session.update(prepare={"status": "error", "error": f"unexpected error ({type(e).__name__}); the "
                                                            f"server's log has the details"})
    finally:
        if store is not None:
            store.close()
        with session.lock:
            session.live.pop("progress", None)


async def api_prepare(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    with session.lock:
        if _prepare_view(session)["status"] == "running" or session.live.get("receiving"):
            raise UsageError("a download is already running; wait for it to finish")
        job = _job(app, session)
        if job is not None and job.status not in jobs_mod.FINISHED:
            raise UsageError("a training run is queued or running on the current data; cancel it first")
        session.live["receiving"] = True  # two quick clicks must not start two downloads
    try:
        form = await request.form(max_files=MAX_SOURCES, max_fields=4 * MAX_SOURCES + 4)
        try:
            chosen = []
            for i in range(MAX_SOURCES):
                upload = form.get(f"file{i}")
                got = await run_in_threadpool(
                    _source_spec, session, str(form.get(f"kind{i}") or ""), str(form.get(f"value{i}") or ""),
                    upload if isinstance(upload, UploadFile) else None, app.settings.max_upload_bytes, i)
                if got is not None:
                    chosen.append(got)
            handle = str(form.get("handle") or "").strip() or None
        finally:
            await form.close()
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
    threading.Thread(target=run_prepare, args=(session, [spec for spec, _ in chosen], handle),
                     name=f"prepare-{session.id[:8]}", daemon=True).start()
    return _state(app, session, 202)


# --- step 2: training -----------------------------------------------------------------------------


def _int_or_none(data: dict[str, Any], key: str, low: int) -> int | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{key.replace('_', ' ')} must be a whole number (got {value!r})") from None
    if number < low:
        raise UsageError(f"{key.replace('_', ' ')} must be at least {low} (got {number})")
    return number


def _training_finished(app: AppState, session: Session, output: Path) -> Callable[[TrainingJob], None]:
    def done(job: TrainingJob) -> None:
        with session.lock:
            session.data["training"] = job.view()
            if job.status == jobs_mod.DONE:
                session.data.update(model={"bot": output.name, "folder": output.name, "message": job.message},
                                    predictions=[], preview=None, publish=None)
            session.save()
        if job.status == jobs_mod.DONE:
            app.generators.forget(output)

    return done


async def api_train(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    data = await _json(request)
    from ..training.recipes import resolve_config

    with session.lock:
        dataset = session.data.get("dataset")
        if not dataset:
            raise UsageError("no data yet: download posts in step 1 first")
        job = _job(app, session)
        if job is not None and job.status not in jobs_mod.FINISHED:
            raise UsageError("your training run is already queued or running; cancel it to start another")
        if _prepare_view(session)["status"] == "running":
            raise UsageError("a download is running; wait for it to finish before training")
        resume = bool(data.get("resume"))
        previous = session.data.get("training_spec")
        if resume:
            if not previous or not _training_view(app, session).get("resumable"):
                raise UsageError("nothing to resume: press Train to start")
            config = previous["config"]
        else:
            recipe = str(data.get("recipe") or "quick")
            base_model = str(data.get("base_model") or "").strip() or app.settings.default_base_model
            overrides = {"base_model": base_model, "max_steps": _int_or_none(data, "max_steps", 1),
                         "epochs": _int_or_none(data, "epochs", 1)}
            config = resolve_config(recipe, overrides).to_dict()
        output = session.inside(session.bots / dataset["bot"])
        if not resume:
            app.generators.forget(output)
            session.clear_folder(output)
        job_id = secrets.token_hex(6)
        spec = {"dataset": str(session.datasets / dataset["folder"]), "output": str(output), "config": config,
                "resume": resume, "tracker": app.settings.tracker}
        job = TrainingJob(job_id, session.jobs / job_id, spec, _training_finished(app, session, output))
        session.live["job"] = job
        session.data.update(training={"status": "queued"}, training_spec=spec)
        session.save()
    app.queue.submit(job)
    return _state(app, session, 202)


async def api_cancel(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    job = _job(app, session)
    if job is None or job.status in jobs_mod.FINISHED:
        raise UsageError("no training run to cancel")
    app.queue.cancel(job)
    return _state(app, session)


# --- step 3: predictions, preview, publish --------------------------------------------------------


def _model_folder(session: Session) -> Path:
    model = session.data.get("model")
    if not model:
        raise UsageError("no model yet: train one in step 2 first")
    folder = session.inside(session.bots / model["folder"])
    if not folder.is_dir():
        raise UsageError("the model folder is gone; train again in step 2")
    return folder


async def api_generate(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    data = await _json(request)
    prompt = str(data.get("prompt", DEFAULT_PROMPT))
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UsageError(f"the prompt is {len(prompt)} characters long; keep it under {MAX_PROMPT_CHARS}")
    with session.lock:
        folder = _model_folder(session)
    seed = _int_or_none(data, "seed", 0)
    posts = await run_in_threadpool(app.generators.generate, folder, prompt, N_PREDICTIONS, seed,
                                    session.folder / "generate.log")
    handles = _handles(session)
    # Shown, shared and drawn as printable text: stray control characters break share links and fonts.
    texts = [(printable(p["text"]), p.get("copy")) for p in posts]
    predictions = [{"text": text, "copy": copy, "share": share_links(text, handles)} for text, copy in texts]
    session.update(prompt=prompt, predictions=predictions, preview=None)
    return _state(app, session)


def write_preview(folder: Path, predictions: list[dict[str, Any]], prompt: str, chosen: int) -> None:
    """Draw ``predictions.png`` with the chosen post and write the card that shows it as its thumbnail."""
    from ..card import redraw_preview, write_card

    redraw_preview(folder, pick=[chosen + 1], predictions=[p["text"] for p in predictions], prompt=prompt)
    write_card(folder)


async def api_preview(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    data = await _json(request)
    with session.lock:
        folder = _model_folder(session)
        predictions = session.data.get("predictions") or []
        prompt = session.data.get("prompt", DEFAULT_PROMPT)
    index = _int_or_none(data, "index", 0)
    if index is None or index >= len(predictions):
        raise UsageError("choose one of the predictions shown for the preview")
    await run_in_threadpool(write_preview, folder, predictions, prompt, index)
    session.update(preview={"index": index, "version": int(time.time() * 1000)})
    return _state(app, session)


async def preview_png(request: Request, session: Session) -> Response:
    path = _model_folder(session) / "predictions.png"
    if not path.is_file():
        return _error("no preview yet: choose a prediction for it", 404)
    return FileResponse(path, media_type="image/png", headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


async def card_text(request: Request, session: Session) -> Response:
    path = _model_folder(session) / "README.md"
    if not path.is_file():
        return _error("no card yet: choose a prediction for the preview", 404)
    return Response(path.read_text(encoding="utf-8"), media_type="text/plain; charset=utf-8",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


async def api_publish(request: Request, session: Session) -> Response:
    """Publish the model folder. The token is used for this call only: never stored, logged or echoed."""
    app: AppState = request.app.state.ht
    data = await _json(request)
    token = str(data.pop("token", "") or "").strip()
    repo_id = str(data.get("repo_id") or "").strip()
    if not token:
        raise UsageError("paste a Hugging Face token with write access (huggingface.co/settings/tokens)")
    if not repo_id:
        raise UsageError("name the model repository, e.g. your-name/huggingtweets-" +
                         (session.data.get("dataset") or {}).get("bot", "bot"))
    with session.lock:
        folder = _model_folder(session)
    try:
        from ..hub import publish

        result = await run_in_threadpool(lambda: publish(folder, repo_id=repo_id, token=token))
    except HuggingTweetsError as e:
        return _error(one_line(str(e), session, token))
    except Exception as e:  # noqa: BLE001 - no traceback: a library's message or locals might hold the token
        log.error("publishing failed: %s", type(e).__name__)
        return _error(f"publishing failed ({type(e).__name__}): " + one_line(str(e), session, token), 502)
    url = getattr(result, "url", None) or (result.get("url") if isinstance(result, dict) else None) or \
        f"https://huggingface.co/{repo_id}"
    session.update(publish={"repo_id": repo_id, "url": str(url)})
    return _state(app, session)


async def api_state(request: Request, session: Session) -> Response:
    return _state(request.app.state.ht, session)


async def index(request: Request, session: Session) -> Response:
    html = resources.files("huggingtweets.app").joinpath("static/index.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def create_app(settings: Settings | None = None, *, allowed_hosts: list[str] | None = None) -> Starlette:
    """The web app as an ASGI application (run it with ``serve`` or any ASGI server).

    Args:
        settings: defaults and limits (base model shown in the form, upload size, warm models).
        allowed_hosts: the ``Host`` headers to answer (None: any); ``serve`` passes the local names
            when bound to 127.0.0.1, so that a web page elsewhere cannot reach the app by DNS rebinding.
    """
    state = AppState(settings or Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        try:
            yield
        finally:
            await run_in_threadpool(state.close)

    static = str(resources.files("huggingtweets.app").joinpath("static"))
    routes = [
        Route("/", with_session(index)),
        Route("/api/state", with_session(api_state)),
        Route("/api/prepare", with_session(api_prepare), methods=["POST"]),
        Route("/api/train", with_session(api_train), methods=["POST"]),
        Route("/api/cancel", with_session(api_cancel), methods=["POST"]),
        Route("/api/generate", with_session(api_generate), methods=["POST"]),
        Route("/api/preview", with_session(api_preview), methods=["POST"]),
        Route("/api/preview.png", with_session(preview_png)),
        Route("/api/card", with_session(card_text)),
        Route("/api/publish", with_session(api_publish), methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=static), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)] if allowed_hosts else []
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.ht = state
    return app


def serve(host: str = "127.0.0.1", port: int = 7860, settings: Settings | None = None) -> None:
    """Run the app until Ctrl-C; a running training job is stopped with a checkpoint on the way out."""
    import warnings

    import uvicorn

    from ..api import DataWarning

    # The page shows these notes itself; the server's console need not repeat them.
    warnings.filterwarnings("ignore", category=DataWarning)
    local = host in ("127.0.0.1", "localhost", "::1")
    allowed = ["127.0.0.1", "localhost", "[::1]", "::1"] if local else None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    uvicorn.run(create_app(settings, allowed_hosts=allowed), host=host, port=port, log_level="warning")
