"""The web app's worker processes: training and generation run here, never in the server.

The server stays light (it never imports torch), a crash here cannot take it down, and cancelling a
training run is a SIGTERM, which the training loop turns into a checkpoint at the next step.

    python -m huggingtweets.app.runner train JOB.json
        Runs the job as JOB.json says ({"dataset", "output", "config", "resume", "tracker"}) through
        ``pipeline.make_bot``, as `huggingtweets train` does, and writes one JSON object per line on
        stdout: {"event": "log", ...} and {"event": "stage", "stage"}, then "done", "interrupted" or
        "error".
    python -m huggingtweets.app.runner generate MODEL_FOLDER
        Loads the model once, writes {"event": "ready"}, then answers each request line on stdin
        ({"prompt", "n", "seed"}, optionally "copies": "drop" (the default), "mark" or "keep"): one
        {"event": "post", "text", "prompt", "copy", "tokens", "done", "n"} line as each post ends
        (shorter posts first; ``done`` counts the posts so far), then {"predictions": [...], "samples",
        "dropped", "threads"} (plus "note" when copies were left out), or {"error": "..."}.
        Posts that copy a training post are left out and replaced by more samples (up to 3 x n), so
        nothing the page shows, shares or draws copies one; "note" says what to tell the visitor.

A worker of the queue on Redis (``app --queue``) answers a request with the same ``load_bot`` and
``answer`` in its job (``rq_steps.generate_job``).

Each worker computes on its share of the cores (``training.hardware``: the rule): the training worker's
is sized by the server before it starts (``jobs._child_env``), the generation worker's at each request.
Anything the libraries print goes to stderr, so stdout carries only these lines.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

import orjson


def _event_stream() -> TextIO:
    """stdout kept for events; file descriptor 1 then points at stderr, so stray prints go there."""
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return events


def _emitter(stream: TextIO) -> Callable[[dict[str, Any]], None]:
    quiet = int(os.environ.get("RANK", "0")) != 0  # under torchrun (a worker's GPUs): rank 0 speaks

    def emit(event: dict[str, Any]) -> None:
        if quiet:
            return
        stream.write(orjson.dumps(event, option=orjson.OPT_SERIALIZE_NUMPY).decode() + "\n")
        stream.flush()
    return emit


class TimeLeft:
    """Seconds left in training, from the steps done so far: the loop's records carry the step count
    (``total_steps``), so only the pace is measured here, from the first record on."""

    def __init__(self) -> None:
        self._first: tuple[int, float] | None = None

    def update(self, record: dict[str, Any], now: float) -> dict[str, Any]:
        step, total = int(record.get("step", 0)), record.get("total_steps")
        eta = None
        if self._first is None:
            self._first = (step, now)
        elif step > self._first[0] and total:
            per_step = (now - self._first[1]) / (step - self._first[0])
            eta = round(per_step * (int(total) - step), 1)
        return {"total": total, "eta_s": eta}


def run_training(job_file: Path, emit: Callable[[dict[str, Any]], None]) -> int:
    from ..errors import HuggingTweetsError, TrainingInterrupted

    job = orjson.loads(job_file.read_bytes())
    emit({"event": "start", "pid": os.getpid()})
    try:
        from ..pipeline import make_bot
        from ..training import TrainConfig

        cfg = TrainConfig.from_dict(job["config"])
        time_left = TimeLeft()

        def on_progress(record: dict[str, Any]) -> None:
            if "stage" in record:
                emit({"event": "stage", "stage": record["stage"]})  # the dataset, if any, stays here
                return
            clean = {k: v for k, v in record.items() if not (isinstance(v, float) and not math.isfinite(v))}
            emit({"event": "log", **clean, **(time_left.update(record, time.monotonic()) if "loss" in record
                                              else {})})

        # The same job as `huggingtweets train`: tracking, evaluation, sample posts, card and preview.
        result = make_bot(job["dataset"], job["output"], cfg, resume=bool(job.get("resume")),
                          tracker=job.get("tracker", "auto"), on_progress=on_progress)
    except TrainingInterrupted as e:
        emit({"event": "interrupted", "step": e.step, "checkpoint": e.checkpoint})
        return 130
    except HuggingTweetsError as e:
        # "permanent": the same job would fail the same way again (a queue does not retry it).
        emit({"event": "error", "message": str(e), "permanent": True})
        return 1
    except MemoryError:
        emit({"event": "error", "message": "out of memory: choose a smaller base model, or a recipe with "
                                           "LoRA, and train again"})
        return 1
    except Exception as e:  # noqa: BLE001 - reported to the page as one line; the traceback goes to the log
        import traceback

        traceback.print_exc()
        emit({"event": "error", "message": f"training failed: {type(e).__name__}: {e}".splitlines()[0]})
        return 1
    metrics = result.metrics
    emit({"event": "done", "steps": metrics.get("steps"), "eval_loss": metrics.get("eval_loss"),
          "eval_bits_per_char": metrics.get("eval_bits_per_char")})
    return 0


def load_bot(folder: Path):
    """The bot in ``folder``, loaded to write posts (``answer``): here, and in a queue worker's job
    (``rq_steps.generate_job``).

    Raises:
        HuggingTweetsError: torch is missing, or the folder holds no usable model.
    """
    from ..generate import Bot
    from ..training.base_models import require
    from ..training.hardware import usable_cores, use_threads

    require("torch")  # first: the pools keep their size until each request sets its share
    use_threads(usable_cores())
    return Bot.load(folder)


def run_generation(folder: Path, requests: TextIO, emit: Callable[[dict[str, Any]], None]) -> int:
    from ..errors import HuggingTweetsError

    try:
        bot = load_bot(folder)
    except HuggingTweetsError as e:
        emit({"event": "error", "error": str(e)})
        return 1
    emit({"event": "ready"})
    for line in requests:
        if not line.strip():
            continue
        try:
            emit(answer(bot, orjson.loads(line), emit))
        except HuggingTweetsError as e:
            emit({"error": str(e)})
        except Exception as e:  # noqa: BLE001 - one request failing must not end the worker
            import traceback

            traceback.print_exc()
            emit({"error": f"generation failed: {type(e).__name__}: {e}".splitlines()[0]})
    return 0


def answer(bot, req: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """One request: each post emitted as it ends, and the final message returned (see the module)."""
    from ..training.hardware import generation_threads, use_threads

    n = int(req.get("n", 10))
    threads = use_threads(generation_threads())  # a training run may have started since the last one
    done = 0

    def on_post(post) -> None:
        nonlocal done
        done += 1
        emit({"event": "post", **post.to_dict(), "done": done, "n": n})

    posts = bot.generate(req.get("prompt", ""), n, seed=req.get("seed"), copies=req.get("copies", "drop"),
                         on_post=on_post)
    final: dict[str, Any] = {"predictions": [p.to_dict() for p in posts], "samples": posts.samples,
                             "dropped": posts.dropped, "threads": threads}
    note = copies_note(n, len(posts), posts.samples, posts.dropped)
    if note:
        final["note"] = note
    return final


def copies_note(asked: int, got: int, samples: int, dropped: int) -> str | None:
    """What to tell a visitor when posts that copy a training post were left out (None: none were)."""
    if not dropped:
        return None
    if not got:
        return (f"Every one of the {samples} posts written copied a post of the account, so none is shown: "
                f"the bot has learnt those posts by heart. Try another prompt, or train again on more posts.")
    if got < asked:
        return (f"Only {got} of {asked} posts: {dropped} of the {samples} written copied a post of the "
                f"account and were left out.")
    if dropped == 1:
        return "1 post that copied a post of the account was left out and written again."
    return f"{dropped} posts that copied a post of the account were left out and written again."


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("train", "generate"):
        print("usage: python -m huggingtweets.app.runner train JOB.json | generate MODEL_FOLDER",
              file=sys.stderr)
        return 2
    events = _event_stream()
    emit = _emitter(events)
    if args[0] == "train":
        from ..training.hardware import lower_priority

        lower_priority()  # on 2-3 cores, a visitor's posts go first (the rule: training.hardware)
        return run_training(Path(args[1]), emit)
    return run_generation(Path(args[1]), sys.stdin, emit)


if __name__ == "__main__":
    sys.exit(main())
