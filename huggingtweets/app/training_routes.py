"""Step 2 of the page: train a model on the session's dataset (queued, one run at a time), cancel, resume."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..errors import UsageError
from . import jobs as jobs_mod
from .jobs import TrainingJob
from .sessions import Session
from .training_state import training_finished as _training_finished
from .views import prepare_view, state_response, training_view
from .web import AppState, int_or_none, read_json


def _config(app: AppState, session: Session, data: dict[str, Any], resume: bool) -> dict[str, Any]:
    """The training settings of the form (or of the run to resume), resolved."""
    from ..training.recipes import resolve_config

    if resume:
        previous = session.data.get("training_spec")
        if not previous or not training_view(app, session).get("resumable"):
            raise UsageError("nothing to resume: press Train to start")
        return previous["config"]
    recipe = str(data.get("recipe") or "quick")
    base_model = str(data.get("base_model") or "").strip() or app.settings.default_base_model
    if base_model != app.settings.default_base_model and not app.settings.allow_local_models \
            and (base_model.startswith((".", "/", "~", "\\")) or Path(base_model).expanduser().exists()):
        raise UsageError("this app does not train from a folder on its machine for visitors; give a Hub "
                         "model id, such as HuggingFaceTB/SmolLM2-135M-Instruct")
    overrides = {"base_model": base_model, "max_steps": int_or_none(data, "max_steps", 1, "Stop after steps"),
                 "epochs": int_or_none(data, "epochs", 1, "Epochs")}
    return resolve_config(recipe, overrides).to_dict()


async def api_train(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    data = await read_json(request)
    with session.lock:
        dataset = session.data.get("dataset")
        if not dataset:
            raise UsageError("no data yet: download posts in step 1 first")
        job = session.live.get("job")
        if job is not None and job.status not in jobs_mod.FINISHED:
            raise UsageError("your training run is already queued or running; cancel it to start another")
        if prepare_view(session)["status"] == "running":
            raise UsageError("a download is running; wait for it to finish before training")
        resume = bool(data.get("resume"))
        config = _config(app, session, data, resume)
        output = session.inside(session.bots / dataset["bot"])
        job_id = secrets.token_hex(6)
        spec = {"dataset": str(session.datasets / dataset["folder"]), "output": str(output), "config": config,
                "resume": resume, "tracker": app.settings.tracker}
        job = TrainingJob(job_id, session.jobs / job_id, spec, _training_finished(app, session, output))
        # The queue must take the run before the previous model is removed: a queue that is full or cannot
        # be reached leaves the visitor's model as it was.
        app.queue.check(job)
        if not resume:
            app.generators.forget(output)
            session.clear_folder(output)
        session.live["job"] = job
        session.data.update(training={"status": "queued", "id": job_id}, training_spec=spec)
        session.save()
    try:
        app.queue.submit(job)
    except BaseException as e:
        with session.lock:  # no run left "queued" that no queue holds
            session.live.pop("job", None)
            session.data.update(training={"status": jobs_mod.FAILED, "id": job_id,
                                          "message": "the run could not be queued: " + str(e)[:200]})
            session.save()
        raise
    return state_response(app, session, 202)


async def api_cancel(request: Request, session: Session) -> Response:
    app: AppState = request.app.state.ht
    job = session.live.get("job")
    if job is None or job.status in jobs_mod.FINISHED:
        raise UsageError("no training run to cancel")
    app.queue.cancel(job)
    return state_response(app, session)
