"""A session's training job beyond one request: what its end changes in the session, and finding it again
after the server restarted (``training_routes`` submits it, ``views`` shows it)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from . import jobs as jobs_mod
from .jobs import TrainingJob
from .sessions import Session
from .web import AppState


def training_finished(app: AppState, session: Session, output: Path) -> Callable[[TrainingJob], None]:
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


def reattach(app: AppState, session: Session) -> TrainingJob | None:
    """The session's job submitted before the server restarted, when its queue still runs it (the queue on
    Redis does; the embedded one never: ``reattach``). Call with the session's lock held."""
    spec, job_id = session.data.get("training_spec"), (session.data.get("training") or {}).get("id")
    if not spec or not job_id:
        return None
    output = Path(spec["output"])
    job = TrainingJob(job_id, session.jobs / job_id, spec, training_finished(app, session, output))
    if not app.queue.reattach(job):
        return None
    session.live["job"] = job
    return job
