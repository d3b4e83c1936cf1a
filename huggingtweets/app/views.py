"""What the page shows of a session (``/api/state`` and every action's answer): JSON, with no path, no
session id and no secret but the page's own CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse

from ..generate import DEFAULT_PROMPT
from ..training.recipes import RECIPES
from . import jobs as jobs_mod
from .sessions import Session
from .share import printable, share_links
from .web import SECURITY_HEADERS, AppState
from .web_errors import web_text

MAX_SOURCES = 3
NETWORKS = {"x": "X handle", "mastodon": "Mastodon (@user@server)", "bsky": "Bluesky handle",
            "upload": "Archive or file"}
N_PREDICTIONS = 10


def base_model_label(name: str) -> str:
    """The base model as the form shows it: a folder on the server by its last part only (its path is
    the server's business), a Hub id or the embedded model's name as is."""
    path = Path(name).expanduser()
    return path.name if ("/" in name or "\\" in name) and path.exists() else name


def prepare_view(session: Session) -> dict[str, Any]:
    """Step 1's state (call with the session's lock held)."""
    prepare = dict(session.data.get("prepare") or {"status": "idle"})
    if "progress" in session.live:
        prepare["progress"] = dict(session.live["progress"])
    elif prepare["status"] == "running":
        # Saved while a download was going on, and no thread is on it: the server stopped since.
        prepare = {"status": "error", "error": "the server stopped during the download; press Download again"}
    return prepare


def training_view(app: AppState, session: Session) -> dict[str, Any]:
    """Step 2's state (call with the session's lock held); messages in web words."""
    job = session.live.get("job")
    if job is None and (session.data.get("training") or {}).get("status") in jobs_mod.UNFINISHED:
        from .training_state import reattach

        job = reattach(app, session)  # a restarted server finds its jobs on the queue (``rq_queue``)
    if job is not None:
        training = {**job.view(), "position": app.queue.position(job)}
    else:
        training = dict(session.data.get("training") or {"status": "idle"})
    if job is None and training.get("status") in jobs_mod.UNFINISHED:
        # Saved while a run was going on: the server stopped since (it stops runs with a checkpoint).
        from ..training.checkpoints import checkpoint_dirs

        spec = session.data.get("training_spec") or {}
        kept = bool(spec) and bool(checkpoint_dirs(Path(spec["output"])))
        training = {"status": jobs_mod.CANCELLED, "resumable": kept, "message": (
            "The server stopped during training; the last checkpoint is kept: press Resume to go on."
            if kept else "The server stopped during training; nothing was saved: press Train to start again.")}
    if training.get("message"):
        training["message"] = web_text(training["message"], session)
    return training


def prediction(post: dict[str, Any], handles: list[str]) -> dict[str, Any]:
    """A written post as the page shows it: printable text, and share links unless it copies a training
    post (a copy is never shared, nor drawn in the preview)."""
    # Shown, shared and drawn as printable text: stray control characters break share links and fonts.
    text, copy = printable(str(post.get("text", ""))), bool(post.get("copy"))
    return {"text": text, "copy": copy, "share": {} if copy else share_links(text, handles)}


def handles(session: Session) -> list[str]:
    return [u["handle"] for u in (session.data.get("dataset") or {}).get("users", [])]


def _predictions(session: Session) -> list[dict[str, Any]]:
    # Saved by an older version, a copy may still hold share links: they are never shown.
    return [{**p, "share": {}} if p.get("copy") else p for p in session.data.get("predictions", [])]


def view(app: AppState, session: Session) -> dict[str, Any]:
    """Everything the page shows for this session."""
    with session.lock:
        d = session.data
        writing = session.live.get("writing")
        return {
            "sources": d.get("sources", []),
            "prepare": prepare_view(session),
            "dataset": d.get("dataset"),
            "training": training_view(app, session),
            "model": d.get("model"),
            "prompt": d.get("prompt", DEFAULT_PROMPT),
            "predictions": _predictions(session),
            "generate_note": d.get("generate_note"),
            "writing": {"n": writing["n"], "posts": list(writing["posts"])} if writing else None,
            "preview": d.get("preview"),
            "publish": d.get("publish"),
            "csrf": session.csrf,
            "options": {
                "networks": NETWORKS, "max_sources": MAX_SOURCES, "recipes": list(RECIPES),
                "default_recipe": "quick", "base_model": base_model_label(app.settings.default_base_model),
                "default_prompt": DEFAULT_PROMPT, "n_predictions": N_PREDICTIONS,
            },
        }


def state_response(app: AppState, session: Session, status: int = 200) -> JSONResponse:
    return JSONResponse(view(app, session), status_code=status, headers=SECURITY_HEADERS)
