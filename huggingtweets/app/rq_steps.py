"""Steps 1 and 3 of the page on the queue on Redis (``app --queue``): prepare and generate jobs.

With ``--queue``, the server runs no pipeline code itself: a prepare (step 1) and a request for posts
(step 3) become RQ jobs too, each on a queue of its own (``rq_queue.JOB_QUEUES``), and the server's
thread waits for the job's answer, so the page sees the same JSON as without the queue.

- **The server's side**, ``RQSteps``: ``prepare`` has ``steps.prepare_dataset``'s signature and answer
  (``data_routes.run_prepare`` calls one or the other), ``generate`` has ``Generators.generate``'s
  (``model_routes.write_posts`` calls one or the other). While the job runs, what its worker writes to
  the job's ``meta`` reaches the page as without the queue: the posts counted per account (``progress``),
  and each post as it ends (``posts``). A job no worker takes (none listens to its queue) is cancelled
  after ``wait_seconds`` with ``NoWorkerError``, which says to start ``huggingtweets worker``.
- **The worker's side**, ``prepare_job`` and ``generate_job``: the same code as the embedded mode,
  ``steps.prepare_dataset`` (``api.prepare``) and ``runner.load_bot`` + ``runner.answer``
  (``Bot.generate``, copies of training posts dropped and written again). Paths travel relative to the
  shared folder, as training's do. The visitor's mistakes (``HuggingTweetsError``) come back as the
  page's one-line message, computed on the worker, and are not retried; a crash is retried by RQ (three
  tries, as training), a worker that dies mid-job too once RQ's maintenance finds it.

A worker takes the queues in the order generate, prepare, train (``huggingtweets worker --jobs``), so a
visitor waiting for posts never waits behind a training run that a free worker could leave for later.
Each generate job loads the model (seconds for a small one): the warm processes of the embedded mode
(``generation``) do not survive RQ's fork per job.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import HuggingTweetsError, NoWorkerError, QueueError
from ..sources import LOCAL_SCHEMES  # (an upload travels as a path inside the shared folder)
from .generation import GeneratorsBusyError
from .rq_queue import _GONE, _WAITING, JOB_QUEUES, TRIES, _exc_line, connect, redacted, shared_root

log = logging.getLogger("huggingtweets.app")

PREPARE_JOB = "huggingtweets.app.rq_steps.prepare_job"
GENERATE_JOB = "huggingtweets.app.rq_steps.generate_job"
TIMEOUTS = {"prepare": 4 * 3600, "generate": 600}
"""Seconds one try may run (a download from a live source may wait out a rate limit)."""
KEEP_SECONDS = 3600
"""How long Redis keeps a finished or failed job: the server reads its answer at once."""
WAIT_SECONDS = 30.0
"""How long a job may wait while no worker listens to its queue (``--queue-wait-seconds``)."""
PUBLISH_SECONDS = 0.5


class QueuedStepError(HuggingTweetsError):
    """The visitor's mistake, as a worker put it in the page's words (``web_errors``)."""


def relative_source(spec: str, root: Path) -> str:
    """A source for a worker: an upload's path made relative to the shared folder ``root``."""
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in LOCAL_SCHEMES and Path(rest).is_absolute():
        return f"{scheme}:{Path(rest).resolve().relative_to(root.resolve())}"
    return spec


def resolved_source(spec: str, root: Path) -> str:
    """``relative_source``'s inverse, on the worker: the upload's path in this machine's shared folder."""
    scheme, sep, rest = spec.partition(":")
    if sep and scheme in LOCAL_SCHEMES and not Path(rest).is_absolute():
        return f"{scheme}:{root / rest}"
    return spec


# -- the server's side ------------------------------------------------------------------------------


class RQSteps:
    """Prepare and generate jobs on RQ, waited for in the caller's thread (see the module)."""

    def __init__(self, url: str, *, wait_seconds: float = WAIT_SECONDS, poll_seconds: float = 0.2,
                 max_queued: int = 100, root: Path | None = None):
        from rq import Queue

        self.url = url
        self.conn = connect(url)
        self.queues = {kind: Queue(JOB_QUEUES[kind], connection=self.conn) for kind in ("prepare", "generate")}
        self.wait_seconds, self.poll_seconds, self.max_queued = wait_seconds, poll_seconds, max_queued
        self._root = root

    @property
    def root(self) -> Path:
        return self._root or shared_root()

    def _relative(self, path: Path) -> str:
        return str(Path(path).resolve().relative_to(self.root.resolve()))

    def prepare(self, folder: Path, specs: list[str], handle: str | None, out: Path,
                progress: Callable[[str], Any] | None = None) -> dict[str, Any]:
        """``steps.prepare_dataset`` on a worker: the dataset of the session in ``folder`` written to ``out``.

        Raises:
            QueuedStepError: the visitor's mistake (in the page's words); NoWorkerError, QueueError: below.
        """
        bars: dict[str, Any] = {}
        counts: dict[str, int] = {}

        def on_meta(meta: dict[str, Any]) -> None:
            for desc, n in (meta.get("progress") or {}).items():
                if progress is None:
                    return
                if desc not in bars:
                    bars[desc], counts[desc] = progress(desc), 0
                if n > counts[desc]:  # a retry counts again from 0: the page keeps the larger count
                    bars[desc].update(n - counts[desc])
                    counts[desc] = n

        args = (self._relative(folder), [relative_source(s, self.root) for s in specs], handle, self._relative(out))
        return self._run("prepare", PREPARE_JOB, args, on_meta)["dataset"]

    def generate(self, folder: Path, prompt: str, n: int = 10, seed: int | None = None,
                 log_path: Path | None = None, on_post: Callable[[dict[str, Any]], None] | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """``Generators.generate`` on a worker: ``n`` posts of the model in ``folder``, none a copy of a
        training post; ``on_post`` and ``on_event`` hear the same events (``log_path`` is the worker's own).

        Raises:
            GeneratorsBusyError: ``max_queued`` requests for posts wait already (503).
            QueuedStepError, NoWorkerError, QueueError: as ``prepare``.
        """
        queue = self.queues["generate"]
        if queue.count >= self.max_queued:
            raise GeneratorsBusyError(f"the app is writing posts for {queue.count} visitors already; try again "
                                      f"in a minute", 503)
        heard = 0

        def on_meta(meta: dict[str, Any]) -> None:
            nonlocal heard
            posts = meta.get("posts") or []
            for event in posts[heard:]:
                if on_post is not None:
                    on_post({k: event[k] for k in ("text", "prompt", "copy", "tokens")})
                if on_event is not None:
                    on_event(event)
            heard = max(heard, len(posts))

        answer = self._run("generate", GENERATE_JOB, (self._relative(folder), prompt, n, seed), on_meta)
        if on_event is not None:
            on_event({"event": "done", **{k: v for k, v in answer.items() if k != "predictions"}})
        return answer["predictions"]

    def forget(self, folder: Path) -> None:
        """Nothing to stop: a worker loads the model for each job."""

    def close(self) -> None:
        """Nothing to stop: the jobs belong to the workers."""

    def _run(self, kind: str, function: str, args: tuple, on_meta: Callable[[dict[str, Any]], None]) -> dict:
        from rq import Retry

        rq_job = self.queues[kind].enqueue(
            function, args=args, job_id=f"{kind}-{secrets.token_hex(8)}", retry=Retry(max=TRIES - 1),
            job_timeout=TIMEOUTS[kind], result_ttl=KEEP_SECONDS, failure_ttl=KEEP_SECONDS, meta={"tries": 0},
            description=f"{kind} {Path(args[-1] if kind == 'prepare' else args[0]).name}")
        answer = self._wait(kind, rq_job, on_meta)
        if "error" in answer:
            raise QueuedStepError(answer["error"])
        return answer

    def _wait(self, kind: str, rq_job, on_meta: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """The job's answer, once a worker has run it; what the worker writes meanwhile goes to ``on_meta``."""
        from rq.exceptions import InvalidJobOperation, NoSuchJobError

        started = waiting_since = time.monotonic()
        limit = TIMEOUTS[kind] * TRIES + self.wait_seconds
        while True:
            try:
                status = rq_job.get_status()
                meta = rq_job.get_meta()
            except (NoSuchJobError, InvalidJobOperation):
                raise QueueError(f"the queue no longer knows this {kind} job; try again") from None
            on_meta(meta)
            if status == "finished":
                answer = rq_job.return_value(refresh=True)
                if not isinstance(answer, dict):
                    raise QueueError(f"the {kind} job ended without an answer; try again")
                return answer
            if status == "failed":
                raise QueueError(f"the {kind} job failed {max(int(meta.get('tries') or 0), 1)} time(s) on the "
                                 f"workers; the last time: {_exc_line(rq_job) or 'unknown error'}")
            if status in _GONE:
                raise QueueError(f"the {kind} job was cancelled on the queue; try again")
            now = time.monotonic()
            if status not in _WAITING:
                waiting_since = now
            elif now - waiting_since > self.wait_seconds and not self._listening(kind):
                self._drop(rq_job)
                error = NoWorkerError(kind, self.wait_seconds, redacted(self.url))
                log.error("%s", error)
                raise error
            if now - started > limit:
                self._drop(rq_job)
                raise QueueError(f"the {kind} job did not end within {limit:,.0f} s; try again later")
            time.sleep(self.poll_seconds)

    def _listening(self, kind: str) -> bool:
        """Whether a live worker takes jobs of ``kind`` (a dead one's key has expired)."""
        from rq import Worker

        return bool(Worker.all(queue=self.queues[kind]))

    @staticmethod
    def _drop(rq_job) -> None:
        from rq.exceptions import InvalidJobOperation, NoSuchJobError

        try:
            rq_job.cancel()
        except (NoSuchJobError, InvalidJobOperation):
            pass


# -- the worker's side ------------------------------------------------------------------------------


def _start_try():
    """(the RQ job, the shared folder) of a job starting on this worker; its try is counted in ``meta``."""
    from rq import get_current_job

    from .rq_worker import die_with_parent, worker_root

    die_with_parent(signal.SIGKILL)  # RQ's work horse: gone with its worker
    rq_job = get_current_job()
    rq_job.meta.update(tries=int(rq_job.meta.get("tries") or 0) + 1, worker=os.environ.get("RQ_WORKER_ID"))
    rq_job.save_meta()
    return rq_job, worker_root()


def _session(folder: Path):
    """The session in ``folder`` as ``web_errors`` needs it (its folder; no id is known here)."""
    from .sessions import Session

    return Session(id=folder.name, folder=folder)


class _MetaProgress:
    """``api.prepare``'s progress on a worker: posts counted per account, written to the job's ``meta``
    at most every ``PUBLISH_SECONDS`` (``RQSteps.prepare`` hands them to the page)."""

    def __init__(self, rq_job):
        self.rq_job = rq_job
        self.counts: dict[str, int] = {}
        self.last = 0.0

    def __call__(self, desc: str) -> "_MetaProgress._Bar":
        self.counts.setdefault(desc, 0)
        self.publish()
        return self._Bar(self, desc)

    def publish(self) -> None:
        self.rq_job.meta["progress"] = dict(self.counts)
        self.rq_job.save_meta()
        self.last = time.monotonic()

    class _Bar:
        def __init__(self, owner: "_MetaProgress", desc: str):
            self.owner, self.desc = owner, desc

        def update(self, n: int) -> None:
            self.owner.counts[self.desc] += n
            if time.monotonic() - self.owner.last >= PUBLISH_SECONDS:
                self.owner.publish()

        def close(self) -> None:
            self.owner.publish()


def prepare_job(session: str, specs: list[str], handle: str | None, out: str) -> dict[str, Any]:
    """The RQ job of step 1: ``steps.prepare_dataset``, paths relative to the shared folder. Returns
    ``{"dataset": ...}``, or ``{"error": the page's words}`` for the visitor's mistake."""
    from .steps import prepare_dataset
    from .web_errors import web_message

    rq_job, root = _start_try()
    folder, target = root / session, root / out
    if target.exists():
        shutil.rmtree(target)  # what a crashed try left: the folder is this job's own
    progress = _MetaProgress(rq_job)
    try:
        dataset = prepare_dataset(folder, [resolved_source(s, root) for s in specs], handle, target, progress)
    except HuggingTweetsError as e:
        shutil.rmtree(target, ignore_errors=True)
        return {"error": web_message(e, _session(folder))}
    finally:
        progress.publish()
    return {"dataset": dataset}


def generate_job(folder: str, prompt: str, n: int, seed: int | None) -> dict[str, Any]:
    """The RQ job of step 3: ``runner.load_bot`` and ``runner.answer``, as the embedded generation process
    runs them; each post goes to the job's ``meta`` as it ends. Returns ``runner.answer``'s final message
    (``{"predictions", "samples", "dropped", "threads", "note"?}``), or ``{"error": ...}``."""
    from .runner import answer, load_bot
    from .web_errors import web_text

    rq_job, root = _start_try()
    model = root / folder
    posts: list[dict[str, Any]] = []

    def emit(event: dict[str, Any]) -> None:
        if event.get("event") == "post":
            posts.append(event)
            rq_job.meta["posts"] = posts
            rq_job.save_meta()

    try:
        bot = load_bot(model)
        return answer(bot, {"prompt": prompt, "n": n, "seed": seed}, emit)
    except HuggingTweetsError as e:  # as the embedded process says it (its line, in web words)
        return {"error": web_text(str(e), _session(model.parent.parent))}
