"""``worker``: run the jobs of a web app started with ``huggingtweets app --queue`` (RQ on Redis): writing
posts, preparing datasets and training, or only some of them (``--jobs``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import click


@click.command()
@click.option("--queue", "queue_url", envvar="HUGGINGTWEETS_QUEUE", required=True, metavar="URL",
              help="The app's queue: redis://HOST:PORT/DB (or the HUGGINGTWEETS_QUEUE variable).")
@click.option("--jobs", "jobs", default="generate,prepare,train", show_default=True, metavar="KINDS",
              help="The jobs this worker takes, comma-separated, always in the order generate (a visitor "
                   "waiting for posts), prepare (for their data), train: e.g. `--jobs generate,prepare` for a "
                   "light worker beside the training ones.")
@click.option("--concurrency", type=click.IntRange(1), default=1, show_default=True,
              help="Jobs this machine runs at once (one worker process each).")
@click.option("--gpus", type=click.IntRange(0), default=0, show_default=True,
              help="GPUs of this machine to use, shared among the --concurrency jobs; a job given several "
                   "trains on them with DDP (torch.distributed.run). 0: train on the CPU or the default device.")
@click.option("--shared-dir", type=click.Path(file_okay=False, path_type=Path), envvar="HUGGINGTWEETS_SHARED_DIR",
              default=None, help="Where this machine mounts the server's $HUGGINGTWEETS_HOME/app folder (the "
                                 "visitors' data and bots) [default: this machine's own, for a worker beside the "
                                 "server].")
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Save a checkpoint this often, so that a job whose worker dies resumes from there.")
@click.option("--checkpoint-steps", type=click.IntRange(0), default=0, show_default=True,
              help="Also save a checkpoint every N steps (0: by time only).")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty (for benchmarks and batch runs).")
@click.option("--monitor-seconds", type=click.IntRange(1), default=10, show_default=True,
              help="Heartbeat of a running job; a worker silent for this plus 60 s is taken for dead and its "
                   "job is retried elsewhere.")
@click.option("--maintenance-seconds", type=click.IntRange(1), default=30, show_default=True,
              help="How often a worker looks for jobs of dead workers (RQ's maintenance).")
def worker(queue_url: str, jobs: str, concurrency: int, gpus: int, shared_dir: Path | None, checkpoint_minutes: float,
           checkpoint_steps: int, burst: bool, monitor_seconds: int, maintenance_seconds: int) -> None:
    """Run the web app's jobs from its queue (writing posts, preparing data, training), on this machine or
    another one."""
    from ..app.rq_queue import check_shared, connect, redacted
    from ..app.rq_worker import gpu_slots, job_kinds, worker_env, worker_root
    from ..errors import UsageError

    try:
        kinds = job_kinds(jobs)
    except ValueError as e:
        raise UsageError(f"--jobs {jobs}: {e}") from None
    conn = connect(queue_url)  # a wrong URL or a Redis away: one line now, not one per worker process
    if shared_dir is not None and not shared_dir.expanduser().is_dir():
        raise UsageError(f"--shared-dir {shared_dir}: no such folder; mount the server's "
                         f"$HUGGINGTWEETS_HOME/app folder there")
    check_shared(conn, shared_dir.expanduser() if shared_dir is not None else worker_root())
    cmd = [sys.executable, "-m", "huggingtweets.app.rq_worker", queue_url, str(monitor_seconds),
           str(maintenance_seconds)] + (["--burst"] if burst else [])
    slots = gpu_slots(gpus, concurrency)
    shared = shared_dir.expanduser().resolve() if shared_dir is not None else None
    # Each in a process group of its own: Ctrl-C reaches them once, from here (RQ reads a second one as
    # "stop now"); they die with this command (rq_worker.main).
    procs = [subprocess.Popen(cmd, env=worker_env(slot, shared, checkpoint_minutes, checkpoint_steps, kinds),
                              preexec_fn=os.setpgrp) for slot in slots]
    click.echo(f"huggingtweets worker: {len(procs)} process(es) on {redacted(queue_url)}, "
               f"{', '.join(kinds)} jobs" + (f", GPUs {' | '.join(s for s in slots if s)}" if gpus else "")
               + " (Ctrl-C stops them)", err=True)

    asked = []

    def forward(signum, frame):  # the first: each worker finishes its job, then stops; a second: now
        asked.append(signum)
        if len(asked) == 1 and signum == signal.SIGINT:
            click.echo("huggingtweets worker: finishing the jobs running, then stopping; press Ctrl-C again "
                       "to stop now (a training run then resumes from its last checkpoint on another try)",
                       err=True)
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    codes = [p.wait() for p in procs]
    if any(codes):
        raise SystemExit(max(abs(c) for c in codes))


def register(group: click.Group) -> None:
    group.add_command(worker)
