"""Step 3 of the page and the visitor's own data: write posts, choose the preview, read the card, publish,
download the model, delete everything.

Posts are written by ``app.generators``: this machine's warm generation processes (``generation``), or
with ``--queue`` a worker's generate job (``rq_steps.RQSteps``), which both run ``runner.answer``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from ..errors import HuggingTweetsError, UsageError
from ..generate import DEFAULT_PROMPT
from . import my_data
from .card_page import IMAGE_NAME, card_view
from .sessions import Session
from .views import N_PREDICTIONS, handles, prediction, state_response
from .web import SECURITY_HEADERS, AppState, error, forget_cookie, int_or_none, read_json
from .web_errors import web_message

log = logging.getLogger("huggingtweets.app")

MAX_PROMPT_CHARS = 500
NO_STORE = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


def model_folder(session: Session) -> Path:
    model = session.data.get("model")
    if not model:
        raise UsageError("no model yet: train one in step 2 first")
    folder = session.inside(session.bots / model["folder"])
    if not folder.is_dir():
        raise UsageError("the model is gone: train again in step 2")
    return folder


def write_posts(app: AppState, session: Session, folder: Path, prompt: str, seed: int | None,
                who: list[str]) -> tuple[list[dict[str, Any]], str | None]:
    """(``N_PREDICTIONS`` posts from the session's model as the page shows them, the workers' note).

    While they are written, ``session.live["writing"]`` holds the posts finished so far (the workers
    call ``on_post`` with each as it ends), which ``/api/state`` passes to the page. The note says how
    many posts that copied a training post were left out and written again (None: none).
    """
    writing: dict[str, Any] = {"n": N_PREDICTIONS, "posts": []}
    note: list[str] = []

    def on_post(post: dict[str, Any]) -> None:
        with session.lock:
            writing["posts"].append(prediction(post, who))

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "done" and event.get("note"):
            note.append(str(event["note"]))

    with session.lock:
        session.live["writing"] = writing
    try:
        posts = app.generators.generate(folder, prompt, N_PREDICTIONS, seed, session.folder / "generate.log",
                                        on_post=on_post, on_event=on_event)
    finally:
        with session.lock:
            session.live.pop("writing", None)
    return [prediction(p, who) for p in posts], (note[0] if note else None)


async def api_generate(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    data = await read_json(request)
    prompt = str(data.get("prompt", DEFAULT_PROMPT))
    if len(prompt) > MAX_PROMPT_CHARS:
        raise UsageError(f"the prompt is {len(prompt)} characters long; keep it under {MAX_PROMPT_CHARS}")
    seed = int_or_none(data, "seed", 0)
    who = handles(session)
    with session.lock:
        folder = model_folder(session)
        if session.live.get("writing"):
            raise UsageError("posts are being written; wait for them")
        # Claimed under the lock, before the thread starts: requests at once (two quick clicks, tabs)
        # must not all pass the check above and write at the same time.
        session.live["writing"] = {"n": N_PREDICTIONS, "posts": []}
    try:
        predictions, note = await run_in_threadpool(write_posts, app, session, folder, prompt, seed, who)
    finally:
        with session.lock:
            session.live.pop("writing", None)
    session.update(prompt=prompt, predictions=predictions, preview=None, generate_note=note)
    return state_response(app, session)


def write_preview(folder: Path, predictions: list[dict[str, Any]], prompt: str, chosen: int) -> None:
    """Draw ``predictions.png`` with the chosen post and write the card that shows it as its thumbnail.

    Only posts that copy no training post are stored beside the model (the card shows the chosen one).
    """
    from ..card import redraw_preview, write_card

    own = [i for i, p in enumerate(predictions) if not p.get("copy")]
    redraw_preview(folder, pick=[own.index(chosen) + 1], predictions=[predictions[i]["text"] for i in own],
                   prompt=prompt)
    write_card(folder)


async def api_preview(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    data = await read_json(request)
    with session.lock:
        folder = model_folder(session)
        predictions = session.data.get("predictions") or []
        prompt = session.data.get("prompt", DEFAULT_PROMPT)
    index = int_or_none(data, "index", 0)
    if index is None or index >= len(predictions):
        raise UsageError("choose one of the posts shown for the preview")
    if predictions[index].get("copy"):
        raise UsageError("that post copies a training post: choose another for the preview")
    await run_in_threadpool(write_preview, folder, predictions, prompt, index)
    session.update(preview={"index": index, "version": int(time.time() * 1000)})
    return state_response(app, session)


async def preview_png(request: Request, session: Session) -> Response:
    path = model_folder(session) / "predictions.png"
    if not path.is_file():
        return error("no preview yet: choose a post for it", 404)
    return FileResponse(path, media_type="image/png", headers=NO_STORE)


async def model_image(request: Request, session: Session) -> Response:
    """A picture beside the model's card (its preview, an avatar), by file name only."""
    name = request.path_params["name"]
    path = model_folder(session) / name if IMAGE_NAME.match(name) else None
    if path is None or path.is_symlink() or not path.is_file():
        return error("no such picture beside the card", 404)
    return FileResponse(path, headers=NO_STORE)


async def card(request: Request, session: Session) -> Response:
    """The model card: ``{"markdown", "html"}``, the HTML rendered from it and sanitised."""
    shown = await run_in_threadpool(card_view, model_folder(session), session)
    if shown is None:
        return error("no card yet: choose a post for the preview", 404)
    return JSONResponse(shown, headers=NO_STORE)


async def api_publish(request: Request, session: Session) -> Response:
    """Publish the model folder. The token is used for this call only: never stored, logged or echoed."""
    app: AppState = request.app.state.ht
    data = await read_json(request)
    token = str(data.pop("token", "") or "").strip()
    repo_id = str(data.get("repo_id") or "").strip()
    if not token:
        raise UsageError("paste a Hugging Face token with write access (huggingface.co/settings/tokens)")
    if not repo_id:
        raise UsageError("name the model repository, e.g. your-name/huggingtweets-" +
                         (session.data.get("dataset") or {}).get("bot", "bot"))
    with session.lock:
        folder = model_folder(session)
    try:
        from ..hub import publish

        result = await run_in_threadpool(lambda: publish(folder, repo_id=repo_id, token=token))
    except HuggingTweetsError as e:
        return error(web_message(e, session, token))
    except Exception as e:  # noqa: BLE001 - no traceback: a library's message or locals might hold the token
        log.error("publishing failed: %s", type(e).__name__)
        return error(f"publishing failed ({type(e).__name__}): " + web_message(e, session, token), 502)
    url = getattr(result, "url", None) or (result.get("url") if isinstance(result, dict) else None) or \
        f"https://huggingface.co/{repo_id}"
    session.update(publish={"repo_id": repo_id, "url": str(url)})
    return state_response(app, session)


async def download(request: Request, session: Session) -> Response:
    """The model as a zip of the files that may be published, streamed."""
    with session.lock:
        folder = model_folder(session)
    name = my_data.zip_name(folder)  # safe_filename's letters, digits, '.', '_' and '-': no quoting needed
    return StreamingResponse(my_data.zip_chunks(folder, session), media_type="application/zip",
                             headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'})


async def delete_my_data(request: Request, session: Session) -> Response:
    """Delete everything of the session; the cookie goes too, and the next visit starts afresh."""
    app: AppState = request.app.state.ht
    await run_in_threadpool(my_data.delete, app, session)
    response = JSONResponse({"deleted": True}, headers=NO_STORE)
    forget_cookie(request, response)
    return response
