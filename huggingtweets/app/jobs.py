"""Training jobs: a queue that runs one at a time, each in its own process (``runner train``).

One at a time because a small machine has the cores (or the GPU memory) for one training run; the
others wait their turn and the page shows their place in the queue. Cancelling a queued job removes it;
cancelling a running one sends SIGTERM, which the training loop turns into a checkpoint at the next
step, so "Resume" can continue from there.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

log = logging.getLogger("huggingtweets.app")

QUEUED, RUNNING, CANCELLING, DONE, CANCELLED, FAILED = ("queued", "running", "cancelling", "done",
                                                        "cancelled", "error")
FINISHED = (DONE, CANCELLED, FAILED)
UNFINISHED = (QUEUED, RUNNING, CANCELLING)


STAGE_MESSAGES = {"evaluating": "Measuring the bot on posts it writes…",
                  "card": "Writing sample posts, the model card and its preview…"}
"""What the page says while the job runs the stages after training (``pipeline.train_bot``'s)."""


@dataclass
class TrainingJob:
    """One training run of one session, as the page sees it."""

    id: str
    folder: Path
    """The job's folder: ``job.json`` (what to train) and ``train.log`` (the process's stderr)."""
    spec: dict[str, Any]
    """``{"dataset", "output", "config", "resume", "tracker"}``, as the runner reads it."""
    on_finish: Callable[["TrainingJob"], None] | None = None
    status: str = QUEUED
    step: int = 0
    total: int | None = None
    loss: float | None = None
    eval_loss: float | None = None
    eta_s: float | None = None
    message: str = ""
    checkpoint: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    pid: int | None = None
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    def view(self) -> dict[str, Any]:
        """What the page shows (no paths)."""
        return {"id": self.id, "status": self.status, "step": self.step, "total": self.total,
                "loss": self.loss, "eval_loss": self.eval_loss, "eta_s": self.eta_s, "message": self.message,
                "resumable": self.status in (CANCELLED, FAILED) and self.checkpoint is not None}


class TrainingQueue:
    """Runs submitted jobs one after another in worker processes."""

    def __init__(self, python: str | None = None, stop_timeout: float = 60.0):
        self.python = python or sys.executable
        self.stop_timeout = stop_timeout
        self._queue: collections.deque[TrainingJob] = collections.deque()
        self._running: TrainingJob | None = None
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def check(self, job: TrainingJob) -> None:
        """Raise if ``job`` could not be submitted now (called before anything is changed for it)."""
        if self._closed:
            raise RuntimeError("the training queue is closed")

    def submit(self, job: TrainingJob) -> TrainingJob:
        job.folder.mkdir(parents=True, exist_ok=True)
        (job.folder / "job.json").write_bytes(orjson.dumps(job.spec, option=orjson.OPT_INDENT_2))
        with self._cond:
            if self._closed:
                raise RuntimeError("the training queue is closed")
            job.status = QUEUED
            self._queue.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="training-queue", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return job

    def position(self, job: TrainingJob) -> int:
        """How many jobs run or wait before this one (0: it is running or finished)."""
        with self._cond:
            if job not in self._queue:
                return 0
            return list(self._queue).index(job) + (1 if self._running is not None else 0)

    def cancel(self, job: TrainingJob) -> None:
        with self._cond:
            if job in self._queue:
                self._queue.remove(job)
                job.status, job.message = CANCELLED, "Cancelled before it started."
                job.finished_at = time.time()
                self._finish(job)
                return
            if job is self._running and job.status == RUNNING and job._proc is not None:
                job.status, job.message = CANCELLING, "Stopping at the next step and saving a checkpoint…"
                _signal(job._proc, signal.SIGTERM)

    def reattach(self, job: TrainingJob) -> bool:
        """Follow a job submitted before the server restarted: never here (the server's stop ends its
        jobs); the queue on Redis can (``rq_queue``)."""
        return False

    def close(self) -> None:
        """Cancel the waiting jobs, stop the running one (it keeps a checkpoint) and wait for it."""
        with self._cond:
            self._closed = True
            waiting, running = list(self._queue), self._running
            self._cond.notify_all()
        for job in waiting:
            self.cancel(job)
        if running is not None:
            self.cancel(running)
        if self._thread is not None:
            self._thread.join(self.stop_timeout)
            proc = running._proc if running is not None else None
            if self._thread.is_alive() and proc is not None:
                _signal(proc, signal.SIGKILL)
                self._thread.join(5)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed and not self._queue:
                    return
                job = self._queue.popleft()
                self._running = job
                job.status, job.message, job.started_at = RUNNING, "Loading the base model…", time.time()
            try:
                self._run(job)
            except Exception as e:  # noqa: BLE001 - the queue must go on with the next job
                log.exception("training job %s failed to run", job.id)
                job.status, job.message = FAILED, f"training could not start: {type(e).__name__}: {e}"
            finally:
                job.finished_at = time.time()
                with self._cond:
                    self._running = None
                self._finish(job)

    def _start(self, job: TrainingJob) -> subprocess.Popen:
        """The training process of ``job`` (the queue on Redis starts it its own way: ``rq_worker``)."""
        with open(job.folder / "train.log", "ab") as errors:
            return subprocess.Popen(
                [self.python, "-m", "huggingtweets.app.runner", "train", str(job.folder / "job.json")],
                stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C meant for the server reaches the job only as our SIGTERM.
                start_new_session=True, env=_child_env("train"))

    def _run(self, job: TrainingJob) -> None:
        proc = self._start(job)
        with self._cond:
            job._proc, job.pid = proc, proc.pid
            if self._closed:
                job.status = CANCELLING
                _signal(proc, signal.SIGTERM)
        final: dict[str, Any] | None = None
        assert proc.stdout is not None
        for raw in proc.stdout:
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            kind = event.get("event")
            if kind == "log":
                job.step = int(event.get("step", job.step))
                if "loss" in event:
                    job.loss = event["loss"]
                    job.total = event.get("total") or job.total
                    job.eta_s = event.get("eta_s")
                if "eval_loss" in event:
                    job.eval_loss = event["eval_loss"]
                if job.status == RUNNING:
                    job.message = "Training…"
            elif kind == "stage" and job.status == RUNNING:
                job.eta_s = None
                job.message = STAGE_MESSAGES.get(event.get("stage"), job.message)
            elif kind in ("done", "interrupted", "error"):
                final = event
        code = proc.wait()
        job._proc = None
        self._conclude(job, final, code)

    def _conclude(self, job: TrainingJob, final: dict[str, Any] | None, code: int) -> None:
        kind = (final or {}).get("event")
        if kind == "done":
            job.status, job.eta_s = DONE, 0
            job.step = final.get("steps") or job.step
            job.total = job.step
            job.eval_loss = final.get("eval_loss", job.eval_loss)
            job.message = f"Trained for {job.step} steps" + (
                f"; validation loss {job.eval_loss:.3f}." if job.eval_loss is not None else ".")
        elif kind == "interrupted":
            job.status, job.eta_s = CANCELLED, None
            job.checkpoint = final.get("checkpoint")
            job.step = final.get("step", job.step)
            job.message = (f"Cancelled at step {job.step}; the last checkpoint is kept: press Resume to go on."
                           if job.checkpoint else f"Cancelled at step {job.step}; no checkpoint had been saved.")
        elif kind == "error":
            job.status, job.eta_s = FAILED, None
            job.message = final.get("message") or "training failed"
        elif job.status == CANCELLING:
            job.status, job.message = CANCELLED, "Cancelled before the first step; nothing was saved."
        else:
            job.status = FAILED
            job.message = (f"the training process ended unexpectedly (exit code {code}); "
                           f"see {job.folder / 'train.log'}")

    def _finish(self, job: TrainingJob) -> None:
        if job.on_finish is not None:
            try:
                job.on_finish(job)
            except Exception:  # noqa: BLE001
                log.exception("after training job %s", job.id)


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass


def _child_env(role: str = "train") -> dict[str, str]:
    """The environment of a worker process (``train`` or ``generate``): its threads are sized before it
    imports torch, so a training run and a visitor's posts share the cores (``hardware.worker_env``)."""
    from ..training.hardware import worker_env

    env = dict(os.environ)
    # The worker must import this very package, also when the server runs from a source checkout.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.update(worker_env(role))
    return env
