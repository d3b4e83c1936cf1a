"""Generation workers: one process per model folder (``runner generate``), loaded once, kept warm.

The first prompt pays for starting the process and loading the model (seconds); later prompts only
for sampling. At most ``max_workers`` models stay loaded; the least recently used idle one is stopped
to make room, so many visitors cannot fill the machine's memory. When every worker is busy, one more
starts rather than make a visitor wait, up to ``max_busy`` in all; beyond that a visitor is told the
app is busy (``GeneratorsBusyError``, 503), so many visitors with many bots cannot start a process each.

Posts come back free of copies of training posts (the worker leaves them out and writes others), so
what the page shows, shares and draws never repeats the account's own posts. ``on_post`` hears each
post (``{"text", "prompt", "copy", "tokens"}``) as it ends, to show it at once; ``on_event`` hears the
worker's lines themselves (``runner``'s docstring):

    {"event": "post", "text", "prompt", "copy", "tokens", "done", "n"}    one per post, shorter first
    {"event": "done", "samples", "dropped", "threads", "note"?}           then the list is returned

The returned list holds the same posts in the order they were sampled.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import orjson

from ..errors import GenerationError
from .jobs import _child_env
from .sessions import SessionLimitError


class Worker:
    def __init__(self, folder: Path, python: str, log_path: Path):
        self.folder = folder
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as errors:
            self.proc = subprocess.Popen(
                [python, "-m", "huggingtweets.app.runner", "generate", str(folder)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, start_new_session=True,
                env=_child_env("generate"))
        self.ready = False
        self.log_path = log_path

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise GenerationError(f"the generation process stopped (exit code {code}); "
                                  f"see {self.log_path}")
        return orjson.loads(line)

    def generate(self, prompt: str, n: int, seed: int | None,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        with self.lock:
            self.last_used = time.monotonic()
            if not self.ready:
                first = self._read()
                if first.get("event") != "ready":
                    self.stop()
                    raise GenerationError(first.get("error") or "the model could not be loaded")
                self.ready = True
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(orjson.dumps({"prompt": prompt, "n": n, "seed": seed}) + b"\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                raise GenerationError(f"the generation process stopped; see {self.log_path}") from None
            answer = self._read()
            while answer.get("event") == "post":  # each post as it ends, then the answer
                if on_event is not None:
                    on_event(answer)
                answer = self._read()
            self.last_used = time.monotonic()
        if "error" in answer:
            raise GenerationError(answer["error"])
        if on_event is not None:
            on_event({"event": "done", **{k: v for k, v in answer.items() if k != "predictions"}})
        return answer["predictions"]

    def busy(self) -> bool:
        return self.lock.locked()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()
            except OSError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class GeneratorsBusyError(SessionLimitError):
    """Every generation worker is writing for someone, and no more may start (503)."""


class Generators:
    """The warm generation workers, by model folder: ``max_workers`` kept loaded, ``max_busy`` (default
    twice as many) writing at once."""

    def __init__(self, max_workers: int = 2, python: str | None = None, max_busy: int | None = None):
        self.max_workers = max(1, max_workers)
        self.max_busy = max(self.max_workers, max_busy or 2 * self.max_workers)
        self.python = python or sys.executable
        self._workers: dict[Path, Worker] = {}
        self._lock = threading.Lock()

    def generate(self, folder: Path, prompt: str, n: int = 10, seed: int | None = None,
                 log_path: Path | None = None, on_post: Callable[[dict[str, Any]], None] | None = None,
                 on_event: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Write ``n`` posts with the model in ``folder``; start its worker if needed.

        None of them copies a training post: such samples are left out and others written (``on_event``'s
        ``done`` event says how many, and its ``note`` what to tell the visitor).

        Args:
            on_post: called (in this thread) with each post as it ends, as the returned list holds it.
            on_event: called (in this thread) with each ``post`` event as the post ends, then ``done``.
        Raises:
            GenerationError: the worker could not load the model or stopped.
            GeneratorsBusyError: ``max_busy`` workers are writing for others.
            UsageError: a bad setting (from ``Bot.generate``).
        """
        folder = folder.resolve()
        with self._lock:
            w = self._workers.get(folder)
            if w is not None and not w.alive():
                del self._workers[folder]
                w = None
            if w is None:
                self._make_room()
                w = self._workers[folder] = Worker(folder, self.python,
                                                   log_path or folder.parent / "generate.log")

        def heard(event: dict[str, Any]) -> None:
            if on_post is not None and event.get("event") == "post":
                on_post({k: event[k] for k in ("text", "prompt", "copy", "tokens")})
            if on_event is not None:
                on_event(event)

        try:
            return w.generate(prompt, n, seed, heard if on_post or on_event else None)
        except GenerationError:
            with self._lock:
                if self._workers.get(folder) is w and not w.alive():
                    del self._workers[folder]
            raise

    def _make_room(self) -> None:
        while len(self._workers) >= self.max_workers:
            idle = [w for w in self._workers.values() if not w.busy()]
            if not idle:
                if len(self._workers) >= self.max_busy:
                    raise GeneratorsBusyError(f"the app is writing posts for {len(self._workers)} bots already; "
                                              f"try again in a minute", 503)
                return  # all busy: run one more for now rather than make a visitor wait
            oldest = min(idle, key=lambda w: w.last_used)
            del self._workers[oldest.folder]
            oldest.stop()

    def forget(self, folder: Path) -> None:
        """Stop the worker of a model that is about to change (trained again or deleted)."""
        with self._lock:
            w = self._workers.pop(folder.resolve(), None)
        if w is not None:
            w.stop()

    def close(self) -> None:
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for w in workers:
            w.stop()
