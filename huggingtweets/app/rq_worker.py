"""The worker side of the queue on Redis (``huggingtweets worker``): RQ workers that run the web app's
jobs: generate, prepare and train (``--jobs``, taken in that order; ``rq_steps`` has the first two).

Each training job runs as in the embedded queue: ``runner train job.json`` in a process of its own (so
``pipeline.make_bot``, the one orchestrator, with evaluation, card and preview), its progress lines read
by ``jobs.TrainingQueue``'s own code. What the queue on Redis adds:

- the job's progress goes to Redis (the RQ job's ``meta``) every half second, where the server reads it;
- a try starts from the last checkpoint in the bot's folder when an earlier try left one (``resume``),
  so a worker killed mid-training costs the steps since that checkpoint, not the run; the worker decides
  how often checkpoints are written (``--checkpoint-minutes``, ``--checkpoint-steps``), which does not
  change the weights;
- the job's processes die with their worker: RQ's work horse is killed when the worker dies
  (``PR_SET_PDEATHSIG``), the training process is then asked to stop (SIGTERM: it saves a checkpoint),
  so a retried try never races a leftover one;
- a failed try raises ``TryFailed`` for RQ to retry, unless the error would happen again (the runner's
  ``permanent`` errors: bad settings, too little data): that one ends the job at once, with its reason.

With ``--gpus N`` and ``--concurrency C``, each of the C worker processes gets N / C GPUs
(``CUDA_VISIBLE_DEVICES``), and a job with more than one runs under ``torch.distributed.run`` (DDP).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import orjson

from . import jobs as jobs_mod
from .jobs import TrainingJob, TrainingQueue, _child_env
from .rq_queue import CANCEL_KEY, JOB_QUEUES, shared_root

ENV_SHARED = "HUGGINGTWEETS_SHARED_DIR"
ENV_CHECKPOINT_STEPS = "HUGGINGTWEETS_WORKER_CHECKPOINT_STEPS"
ENV_CHECKPOINT_MINUTES = "HUGGINGTWEETS_WORKER_CHECKPOINT_MINUTES"
ENV_JOBS = "HUGGINGTWEETS_WORKER_JOBS"
"""The kinds of job this worker takes (``--jobs``): some of ``rq_queue.JOB_QUEUES``, comma-separated."""
ENV_PROCS = "HUGGINGTWEETS_WORKER_PROCS"
"""Processes (GPUs) one job of this worker trains on: more than one runs it under torch.distributed.run."""
DDP_LAUNCH = "torchrun --standalone --nproc_per_node {procs}"
"""How a job with several GPUs is started (``torchrun`` is ``python -m torch.distributed.run``)."""
PUBLISH_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1


class TryFailed(Exception):
    """One try of a job failed in a way another try may not (a crash): RQ tries it again."""


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Have Linux send ``sig`` to this process when its parent dies (nothing elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):
        return


def _term_with_parent() -> None:  # preexec_fn of the training process
    die_with_parent(signal.SIGTERM)


def worker_root() -> Path:
    """The shared folder as this machine mounts it (``--shared-dir``; default the local app folder)."""
    env = os.environ.get(ENV_SHARED)
    return Path(env).expanduser() if env else shared_root()


def runner_command(job_file: Path, procs: int, python: str | None = None) -> list[str]:
    """The training process of one job: the runner, under torch.distributed.run for several GPUs."""
    python = python or sys.executable
    runner = ["-m", "huggingtweets.app.runner", "train", str(job_file)]
    if procs <= 1:
        return [python, *runner]
    return [python, "-m", "torch.distributed.run", *DDP_LAUNCH.format(procs=procs).split()[1:], *runner]


class _WorkerRun(TrainingQueue):
    """One job of this worker, run by the embedded queue's code, its process started this worker's way."""

    def __init__(self, procs: int = 1):
        super().__init__()
        self.procs = procs
        self.final: dict[str, Any] | None = None

    def _start(self, job: TrainingJob) -> subprocess.Popen:
        with open(job.folder / "train.log", "ab") as errors:
            return subprocess.Popen(runner_command(job.folder / "job.json", self.procs, self.python),
                                    stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL,
                                    env=_child_env("train"), preexec_fn=_term_with_parent)

    def _conclude(self, job: TrainingJob, final: dict[str, Any] | None, code: int) -> None:
        self.final = final
        super()._conclude(job, final, code)


def resolved_spec(spec: dict[str, Any], root: Path) -> dict[str, Any]:
    """The job's spec with paths in this machine's shared folder and this worker's checkpoint settings."""
    out = {**spec, "dataset": str(root / spec["dataset"]), "output": str(root / spec["output"])}
    config = orjson.loads(orjson.dumps(spec["config"]))
    run = config.setdefault("run", {})
    if os.environ.get(ENV_CHECKPOINT_STEPS):
        run["checkpoint_steps"] = int(os.environ[ENV_CHECKPOINT_STEPS])
    if os.environ.get(ENV_CHECKPOINT_MINUTES):
        run["checkpoint_minutes"] = float(os.environ[ENV_CHECKPOINT_MINUTES])
    out["config"] = config
    return out


def prepare_output(spec: dict[str, Any], tries: int) -> int:
    """Set ``spec`` to resume from the last checkpoint an earlier try left; return its step (0: none).

    A later try that finds no checkpoint starts over: what the earlier one left is removed (the server
    emptied the folder when the job was submitted, and only this job writes there).
    """
    from ..training.checkpoints import checkpoint_dirs

    output = Path(spec["output"])
    found = checkpoint_dirs(output)
    if found:
        spec["resume"] = True
        return int(found[-1].name.split("-")[-1])
    if tries > 1 and not spec.get("resume") and output.exists():
        shutil.rmtree(output)
    return 0


class _Publisher:
    """Writes the job's progress to its RQ ``meta`` and watches for the server's request to cancel."""

    def __init__(self, rq_job, job: TrainingJob, run: _WorkerRun):
        self.rq_job, self.job, self.run = rq_job, job, run
        self._stop = threading.Event()
        # One writer at a time, and none from the thread once it is told to stop: a turn of its loop that
        # read the view before the end must not overwrite the final one written after ``__exit__``.
        self._lock = threading.RLock()
        self._thread = threading.Thread(target=self._loop, name="publish", daemon=True)
        self.cancel_key = CANCEL_KEY.format(rq_job.id)

    def cancelled(self) -> bool:
        return bool(self.rq_job.connection.exists(self.cancel_key))

    def publish(self, **extra: Any) -> None:
        with self._lock:
            self.rq_job.meta.update(view=self.job.view(), checkpoint=self.job.checkpoint, **extra)
            self.rq_job.save_meta()

    def _loop(self) -> None:
        asked = False
        while not self._stop.wait(PUBLISH_SECONDS):
            try:
                if not asked and self.cancelled():
                    asked = True
                    self.run.cancel(self.job)
                with self._lock:
                    if self._stop.is_set():
                        return
                    self.publish()
            except Exception:  # noqa: BLE001 - Redis away for a moment: the next turn tries again
                pass

    def __enter__(self) -> "_Publisher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:  # after this, the thread writes nothing more
            self._stop.set()
        self._thread.join(5)


def train_job(spec: dict[str, Any], job_folder: str, job_id: str) -> dict[str, Any]:
    """The RQ job: one try of a training run (see the module). Returns what the page shows.

    Raises:
        TryFailed: this try failed and another may succeed (RQ retries while tries are left).
    """
    from rq import get_current_job

    die_with_parent(signal.SIGKILL)  # RQ's work horse: gone with its worker, and so the training
    rq_job = get_current_job()
    root = worker_root()
    spec = resolved_spec(spec, root)
    job = TrainingJob(job_id, root / job_folder, spec)
    tries = int(rq_job.meta.get("tries") or 0) + 1
    resumed_from = prepare_output(spec, tries)
    run = _WorkerRun(int(os.environ.get(ENV_PROCS) or 1))
    job.status, job.message = jobs_mod.RUNNING, "Loading the base model…"
    publisher = _Publisher(rq_job, job, run)
    publisher.publish(tries=tries, state="running", error=None, resumed_from=resumed_from,
                      worker=os.environ.get("RQ_WORKER_ID"))
    if publisher.cancelled():
        job.status, job.message = jobs_mod.CANCELLED, "Cancelled before it started."
        publisher.publish(state="ended")
        return job.view()
    job.folder.mkdir(parents=True, exist_ok=True)
    (job.folder / "job.json").write_bytes(orjson.dumps(spec, option=orjson.OPT_INDENT_2))
    run._running = job  # so that run.cancel() reaches its process
    with publisher:
        try:
            run._run(job)
        except Exception as e:  # noqa: BLE001 - as the embedded queue: one line for the page
            job.status, job.message = jobs_mod.FAILED, f"training could not start: {type(e).__name__}: {e}"
    if job.status == jobs_mod.FAILED and not (run.final or {}).get("permanent"):
        publisher.publish(state="failed", error=job.message)
        raise TryFailed(job.message)
    publisher.publish(state="ended", error=job.message if job.status == jobs_mod.FAILED else None)
    return job.view()


def job_kinds(text: str | None) -> list[str]:
    """The kinds of job named in ``text`` (``"generate,train"``; empty: all), in the order a worker takes
    them: generate, prepare, train.

    Raises:
        ValueError: an unknown kind (the message names the known ones).
    """
    asked = {k.strip() for k in (text or "").split(",") if k.strip()} or set(JOB_QUEUES)
    unknown = sorted(asked - set(JOB_QUEUES))
    if unknown:
        raise ValueError(f"unknown job kind(s) {', '.join(unknown)}: choose among {', '.join(JOB_QUEUES)}")
    return [k for k in JOB_QUEUES if k in asked]


def work(url: str, *, name: str | None = None, burst: bool = False, monitor_seconds: int = 10,
         maintenance_seconds: int = 30, jobs: list[str] | None = None) -> bool:
    """Run one RQ worker in this process until it is stopped (or, with ``burst``, until its queues are
    empty), on the queues of ``jobs`` (default: ``$HUGGINGTWEETS_WORKER_JOBS``, else all three), which it
    takes in the order generate, prepare, train. Returns whether it worked through jobs."""
    from rq import Queue, Worker

    from .rq_queue import connect

    conn = connect(url)
    kinds = job_kinds(",".join(jobs) if jobs else os.environ.get(ENV_JOBS))
    # An idle RQ worker looks at its maintenance between two waits for a job, each worker_ttl - 15 s long
    # (6.75 minutes by default): this TTL makes it look every maintenance_seconds, so that a job of a
    # dead worker is taken back soon after its heartbeat has expired (monitor_seconds + 60 s).
    worker = Worker([Queue(JOB_QUEUES[k], connection=conn) for k in kinds], connection=conn, name=name,
                    job_monitoring_interval=monitor_seconds, maintenance_interval=maintenance_seconds,
                    worker_ttl=maintenance_seconds + 15)
    return worker.work(burst=burst, with_scheduler=False, logging_level="INFO")


def gpu_slots(gpus: int, concurrency: int) -> list[str | None]:
    """``CUDA_VISIBLE_DEVICES`` of each of ``concurrency`` worker processes sharing ``gpus`` GPUs (None: the
    CPU). Each gets ``gpus // concurrency`` of them (GPUs left over stay unused); with fewer GPUs than
    processes, they take turns (two jobs share a GPU)."""
    if gpus <= 0:
        return [None] * concurrency
    if gpus < concurrency:
        return [str(i % gpus) for i in range(concurrency)]
    per = max(1, gpus // concurrency)
    return [",".join(str(g) for g in range(i * per, (i + 1) * per)) for i in range(concurrency)]


def worker_env(slot: str | None, shared_dir: Path | None, checkpoint_minutes: float | None,
               checkpoint_steps: int | None, jobs: list[str] | None = None) -> dict[str, str]:
    """The environment of one worker process."""
    env = dict(os.environ)
    if jobs:
        env[ENV_JOBS] = ",".join(jobs)
    if slot is not None:
        env["CUDA_VISIBLE_DEVICES"] = slot
        env[ENV_PROCS] = str(len(slot.split(",")))
    if shared_dir is not None:
        env[ENV_SHARED] = str(shared_dir)
    if checkpoint_minutes is not None:
        env[ENV_CHECKPOINT_MINUTES] = str(checkpoint_minutes)
    if checkpoint_steps:
        env[ENV_CHECKPOINT_STEPS] = str(checkpoint_steps)
    root = str(Path(__file__).resolve().parents[2])  # this very package, also from a source checkout
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def main(argv: list[str] | None = None) -> int:
    """``python -m huggingtweets.app.rq_worker URL [--burst] [MONITOR MAINTENANCE]``: one worker process, as
    ``huggingtweets worker`` starts each (its settings come in the environment)."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m huggingtweets.app.rq_worker REDIS_URL [--burst] [MONITOR_S MAINTENANCE_S]",
              file=sys.stderr)
        return 2
    burst = "--burst" in args
    rest = [a for a in args[1:] if a != "--burst"]
    monitor, maintenance = (int(rest[0]), int(rest[1])) if len(rest) == 2 else (10, 30)
    die_with_parent(signal.SIGKILL)  # `huggingtweets worker` killed: so are its workers and their jobs
    work(args[0], burst=burst, monitor_seconds=monitor, maintenance_seconds=maintenance)
    return 0


if __name__ == "__main__":
    sys.exit(main())
