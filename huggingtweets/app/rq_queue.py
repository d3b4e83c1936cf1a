"""Training jobs on a distributed task queue: RQ on Redis (``huggingtweets app --queue redis://...``).

With ``--queue`` the page's other two steps go to the queue too (prepare and generate jobs, each kind on
a queue of its own: ``JOB_QUEUES``); ``rq_steps`` has them. This module has training's side.

The server enqueues each job and follows it; ``huggingtweets worker`` processes, on this machine or
others, take jobs from Redis and run them (``rq_worker``). The routes see the same small interface as the
embedded ``jobs.TrainingQueue`` (``submit``, ``position``, ``cancel``, ``reattach``, ``close``) and the same
``TrainingJob`` objects, whose fields a thread here keeps up to date from Redis, so they change nothing.

What lives where:

- Redis holds the queue, each job's state (RQ's registries) and its progress: the worker writes the
  job's ``meta`` (``view``: what the page shows; ``tries``, ``state``, ``error``, ``checkpoint``,
  ``resumed_from``) every half second; the server only reads it. A restarted server finds its jobs again
  by id (``reattach``), with their progress.
- The files (uploads, datasets, the bots the workers write) live in the shared folder: the server's
  ``$HUGGINGTWEETS_HOME/app``, which a worker on another machine mounts and names with ``--shared-dir``.
  Jobs carry paths relative to it, so the mount point may differ between machines.
- Faults: a job is tried three times (RQ's ``Retry(max=2)``); a worker that dies mid-job stops its
  heartbeats, and the server (``sweep``, every ``SWEEP_SECONDS``) or RQ's maintenance in an idle worker
  requeues the abandoned job, which resumes from its last checkpoint. An error that would happen again (``HuggingTweetsError``: bad settings, too little
  data) is not retried. Cancelling a running job sets a key that its worker polls; it then stops the
  training with SIGTERM, which keeps a checkpoint.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import QueueError, QueueFullError
from . import jobs as jobs_mod
from .jobs import TrainingJob

log = logging.getLogger("huggingtweets.app")

QUEUE_NAME = "huggingtweets-train"
PREPARE_QUEUE = "huggingtweets-prepare"
GENERATE_QUEUE = "huggingtweets-generate"
JOB_QUEUES = {"generate": GENERATE_QUEUE, "prepare": PREPARE_QUEUE, "train": QUEUE_NAME}
"""The queues by kind of job, in the order a worker takes them: a visitor waiting for posts first, then
one waiting for their data, then the long training runs (``rq_steps`` runs the first two)."""
JOB_FUNCTION = "huggingtweets.app.rq_worker.train_job"
TRIES = 3
"""Tries of one job in all: the first and RQ's two retries."""
JOB_TIMEOUT = 48 * 3600
"""Seconds one try may run (RQ's default, 180 s, is far too short for training)."""
SWEEP_SECONDS = 10.0
"""How often the server looks for jobs whose worker died (``sweep``)."""
KEEP_SECONDS = 7 * 24 * 3600
"""How long Redis keeps a finished or failed job (its result, progress and reason)."""
CANCEL_KEY = "huggingtweets:cancel:{}"
SESSION_KEY = "huggingtweets:session:{}"
_WAITING = ("queued", "scheduled", "deferred")
_GONE = ("canceled", "stopped")


def shared_root() -> Path:
    """The folder the server shares with its workers: ``$HUGGINGTWEETS_HOME/app`` (sessions live in it)."""
    return paths.home() / "app"


SHARED_MARK = ".huggingtweets-queue"
"""A file in the shared folder holding a random token that the server also puts in Redis
(``SHARED_MARK_KEY``): a worker checks it at start, so that one given the wrong ``--shared-dir`` (a mount
missing, another folder) stops with one line instead of telling visitors that their files are gone."""
SHARED_MARK_KEY = "huggingtweets:shared-mark"


def mark_shared(conn, root: Path) -> str:
    """Put the shared folder's token (made once, kept in ``root/SHARED_MARK``) in Redis; return it."""
    import secrets

    root.mkdir(parents=True, exist_ok=True)
    path = root / SHARED_MARK
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        token = ""
    if not token:
        token = secrets.token_hex(16)
        path.write_text(token + "\n", encoding="utf-8")
    conn.set(SHARED_MARK_KEY, token)
    return token


def check_shared(conn, root: Path) -> None:
    """Raise ``QueueError`` if ``root`` is not the shared folder of the app whose queue ``conn`` is (its
    token differs from the one the server put in Redis). Nothing to compare before a server has started."""
    expected = conn.get(SHARED_MARK_KEY)
    if not expected:
        return
    try:
        found = (root / SHARED_MARK).read_text(encoding="utf-8").strip()
    except OSError:
        found = ""
    if found != expected.decode():
        why = "it is not there" if not found else "it is another app's"
        raise QueueError(f"{root} is not the shared folder of the app on this queue ({SHARED_MARK}: {why}): "
                         f"mount the server's $HUGGINGTWEETS_HOME/app there and pass it as --shared-dir")


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def connect(url: str):
    """A Redis connection for ``url`` (``redis://HOST:PORT/DB``), checked with a PING.

    Raises:
        QueueError: rq or redis is not installed, the URL is not a Redis URL, or Redis does not answer.
    """
    try:
        import redis
        import rq  # noqa: F401 - checked here, used by the callers
    except ImportError as e:
        raise QueueError(f"--queue needs RQ and the Redis client ({e.name} is missing): pip install "
                         f"'huggingtweets[queue]'") from None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise QueueError(f"--queue {redacted(url)}: not a Redis URL; give redis://HOST:PORT/DB")
    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
        conn.ping()
    except (redis.RedisError, ValueError) as e:
        raise QueueError(f"cannot reach the queue at {redacted(url)} ({type(e).__name__}: {e}); start "
                         f"redis-server there, or fix --queue") from None
    return conn


def relative_spec(spec: dict[str, Any], root: Path) -> dict[str, Any]:
    """The job's spec with its dataset and output as paths inside the shared folder ``root``."""
    out = dict(spec)
    for key in ("dataset", "output"):
        out[key] = str(Path(spec[key]).resolve().relative_to(root.resolve()))
    return out


def session_key(job: TrainingJob, root: Path) -> str:
    """The name of the job's session folder (``sessions/<key>/jobs/<id>``)."""
    parts = job.folder.resolve().relative_to(root.resolve()).parts
    return parts[1] if len(parts) > 1 and parts[0] == "sessions" else parts[0]


class RQTrainingQueue:
    """Training jobs on RQ: the embedded queue's interface, the jobs run by ``huggingtweets worker``."""

    def __init__(self, url: str, *, max_per_session: int = 1, max_queued: int = 100, poll_seconds: float = 0.5,
                 root: Path | None = None):
        from rq import Queue

        self.url = url
        self.conn = connect(url)
        self.rq = Queue(QUEUE_NAME, connection=self.conn)
        self.max_per_session, self.max_queued = max_per_session, max_queued
        self.poll_seconds = poll_seconds
        self._root = root
        self._jobs: dict[str, TrainingJob] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        mark_shared(self.conn, self.root)
        self._swept = 0.0
        self._away = False  # Redis could not be read at the last turn
        self._start_following()

    @property
    def root(self) -> Path:
        return self._root or shared_root()

    @staticmethod
    def rq_id(job: TrainingJob) -> str:
        return f"train-{job.id}"

    # -- the interface the routes use -------------------------------------------------------------------

    def check(self, job: TrainingJob) -> None:
        """Raise ``QueueFullError`` if the visitor or the queue has no room for ``job``, or the Redis
        client's ``ConnectionError`` if Redis cannot be reached (the page says to try again): called before
        anything is changed for the job."""
        self._check_room(session_key(job, self.root))

    def submit(self, job: TrainingJob) -> TrainingJob:
        """Enqueue ``job`` (its files stay in the shared folder).

        Raises:
            QueueFullError: the visitor has ``max_per_session`` jobs waiting or running, or the queue holds
                ``max_queued``; the job is then marked failed with that reason.
        """
        from rq import Retry

        key = session_key(job, self.root)
        try:
            self._check_room(key)
        except QueueFullError as e:
            job.status, job.message, job.finished_at = jobs_mod.FAILED, str(e), time.time()
            self._finish(job)
            raise
        job.folder.mkdir(parents=True, exist_ok=True)
        rq_id = self.rq_id(job)
        self.rq.enqueue(JOB_FUNCTION, args=(relative_spec(job.spec, self.root),
                                            str(job.folder.resolve().relative_to(self.root.resolve())), job.id),
                        job_id=rq_id, retry=Retry(max=TRIES - 1), job_timeout=JOB_TIMEOUT, result_ttl=KEEP_SECONDS,
                        failure_ttl=KEEP_SECONDS, meta={"session": key, "tries": 0},
                        description=f"train {Path(job.spec['output']).name}")
        self.conn.sadd(SESSION_KEY.format(key), rq_id)
        self.conn.expire(SESSION_KEY.format(key), KEEP_SECONDS)
        job.status, job.message = jobs_mod.QUEUED, "Waiting for a free worker…"
        self._track(job)
        return job

    def position(self, job: TrainingJob) -> int:
        """The job's place in the line (1: the next to start), 0 once it runs or has finished."""
        if job.status != jobs_mod.QUEUED:
            return 0
        try:
            index = self.rq.get_job_position(self.rq_id(job))
        except Exception:  # noqa: BLE001 - Redis away: the page shows no place rather than an error
            return 0
        return 0 if index is None else index + 1

    def cancel(self, job: TrainingJob) -> None:
        """A waiting job leaves the queue; a running one is asked to stop (its worker keeps a checkpoint)."""
        from rq.exceptions import InvalidJobOperation, NoSuchJobError
        from rq.job import Job

        rq_id = self.rq_id(job)
        self.conn.set(CANCEL_KEY.format(rq_id), 1, ex=KEEP_SECONDS)  # read by the worker, at any moment
        try:
            rq_job = Job.fetch(rq_id, connection=self.conn)
            if rq_job.get_status() in _WAITING:
                rq_job.cancel()
        except (NoSuchJobError, InvalidJobOperation):
            pass
        if job.status == jobs_mod.QUEUED:
            job.status, job.message = jobs_mod.CANCELLED, "Cancelled before it started."
        elif job.status == jobs_mod.RUNNING:
            job.status, job.message = jobs_mod.CANCELLING, "Stopping at the next step and saving a checkpoint…"
        self.refresh(rq_id)

    def reattach(self, job: TrainingJob) -> bool:
        """Follow ``job`` again after a restart of the server: False when Redis no longer knows it."""
        from rq.exceptions import NoSuchJobError
        from rq.job import Job

        try:
            Job.fetch(self.rq_id(job), connection=self.conn)
        except NoSuchJobError:
            return False
        self._track(job)
        self.refresh(self.rq_id(job))
        return True

    def close(self) -> None:
        """Stop following the jobs; they go on in the workers (a restarted server finds them again)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    # -- following the jobs -----------------------------------------------------------------------------

    def _check_room(self, key: str) -> None:
        from rq.job import Job

        members = [m.decode() for m in self.conn.smembers(SESSION_KEY.format(key))]
        live = 0
        for rq_id, rq_job in zip(members, Job.fetch_many(members, connection=self.conn)):
            if rq_job is not None and rq_job.get_status(refresh=False) in (*_WAITING, "started"):
                live += 1
            else:
                self.conn.srem(SESSION_KEY.format(key), rq_id)
        if live >= self.max_per_session:
            raise QueueFullError(f"you already have {live} training run(s) queued or running, as many as this "
                                 f"app allows; wait for one to finish")
        if self.rq.count >= self.max_queued:
            raise QueueFullError(f"the queue is full ({self.rq.count} training runs waiting); try again later")

    def _track(self, job: TrainingJob) -> None:
        with self._lock:
            self._jobs[self.rq_id(job)] = job
        self._start_following()

    def _start_following(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._follow, name="rq-follow", daemon=True)
                self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                if time.monotonic() - self._swept >= SWEEP_SECONDS:
                    self._swept = time.monotonic()
                    self.sweep()
                self.refresh()
                self._away = False
            except Exception as e:  # noqa: BLE001 - Redis away for a while: try again at the next turn
                if not self._away:  # one line per outage, not one every half second
                    log.warning("reading the jobs' progress from Redis failed (%s: %s); trying again",
                                type(e).__name__, e)
                self._away = True

    def sweep(self) -> None:
        """Put back in their queue (or fail, after their last try) the jobs of every kind whose worker
        died: RQ's own clean-up of its started-job registries (a job is abandoned once its worker's
        heartbeat has expired, about a minute). RQ's workers do it too, but only between two jobs; the
        server does it every ``SWEEP_SECONDS`` so that a job of a dead worker goes back in line even when
        every live worker is busy with a long training run, or before any page asks after it."""
        from rq.registry import StartedJobRegistry

        for name in JOB_QUEUES.values():
            StartedJobRegistry(name, connection=self.conn).cleanup()

    def refresh(self, only: str | None = None) -> None:
        """Read every followed job's state and progress from Redis (or the one with RQ id ``only``); finish
        the ones that ended."""
        from rq.job import Job

        with self._lock:
            followed = {k: v for k, v in self._jobs.items() if only is None or k == only}
        if not followed:
            return
        ended = []
        for rq_id, rq_job in zip(followed, Job.fetch_many(list(followed), connection=self.conn)):
            job = followed[rq_id]
            if rq_job is None:  # expired or deleted: what was last read stays
                if job.status in (jobs_mod.QUEUED, jobs_mod.RUNNING, jobs_mod.CANCELLING):
                    job.status, job.message = jobs_mod.FAILED, "the queue no longer knows this training run"
                ended.append(rq_id)
                continue
            status = rq_job.get_status(refresh=False)
            apply_state(job, status, rq_job.meta or {}, _exc_line(rq_job) if status == "failed" else None,
                        _return_value(rq_job) if status == "finished" else None)
            if job.status in jobs_mod.FINISHED:
                ended.append(rq_id)
        for rq_id in ended:
            with self._lock:
                job = self._jobs.pop(rq_id, None)
            if job is not None:
                job.finished_at = job.finished_at or time.time()
                self._finish(job)

    @staticmethod
    def _finish(job: TrainingJob) -> None:
        if job.on_finish is not None:
            try:
                job.on_finish(job)
            except Exception:  # noqa: BLE001
                log.exception("after training job %s", job.id)


def _exc_line(rq_job) -> str | None:
    """The last line of the job's failure, as RQ keeps it (None: it has not failed)."""
    try:
        result = rq_job.latest_result()
    except Exception:  # noqa: BLE001
        return None
    text = getattr(result, "exc_string", None) if result is not None else None
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def _return_value(rq_job) -> dict[str, Any] | None:
    """What a finished job returned (``rq_worker.train_job``: the page's last view of it), or None."""
    try:
        value = rq_job.return_value()
    except Exception:  # noqa: BLE001 - gone, or not readable: the meta's view stands
        return None
    return value if isinstance(value, dict) else None


def apply_state(job: TrainingJob, status: str, meta: dict[str, Any], exc: str | None,
                result: dict[str, Any] | None = None) -> None:
    """Set ``job``'s fields from its RQ status and the ``meta`` its worker wrote; for a finished job, from
    what it returned (``result``), which is written with its status, where the last ``meta`` may be of a
    moment before its end."""
    view = (result if status == "finished" and result else None) or meta.get("view") or {}
    tries = int(meta.get("tries") or 0)
    for key in ("step", "total", "loss", "eval_loss", "eta_s"):
        if key in view:
            setattr(job, key, view[key])
    job.checkpoint = meta.get("checkpoint") or job.checkpoint
    if status in _WAITING:
        if job.status != jobs_mod.CANCELLED:
            job.status = jobs_mod.QUEUED
            job.message = (f"Waiting for a worker to try again (try {tries + 1} of {TRIES}): {failure(meta)}"
                           if tries else "Waiting for a free worker…")
    elif status == "started":
        now = view.get("status") or jobs_mod.RUNNING
        if now in jobs_mod.FINISHED:  # what the last try left: this one has not written yet
            now = jobs_mod.RUNNING
        if job.status == jobs_mod.CANCELLING and now == jobs_mod.RUNNING:
            return  # its worker has not seen the request yet
        job.status, job.message = now, view.get("message") or "Starting on a worker…"
    elif status == "finished":  # RQ's word is final: a view still "running" is one written before the end
        ended = view.get("status") in jobs_mod.FINISHED
        job.status = view.get("status") if ended else jobs_mod.DONE
        job.message = (view.get("message") if ended else None) or job.message
    elif status == "failed":
        job.status, job.eta_s = jobs_mod.FAILED, None
        reason = failure(meta) if meta.get("state") else (exc or "unknown error")
        job.message = f"Training failed {max(tries, 1)} time(s); the last time: {reason}"
    elif status in _GONE:
        job.status = jobs_mod.CANCELLED
        job.message = job.message or "Cancelled before it started."


def failure(meta: dict[str, Any]) -> str:
    """Why the last try ended: its error, or its worker's death (it never said how it ended)."""
    if meta.get("state") == "running":
        return "the worker running it stopped (killed, or its machine went down)"
    return str(meta.get("error") or "unknown error")
