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
        ({"prompt", "n", "seed"}) with {"predictions": [...]} or {"error": "..."}.

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
    def emit(event: dict[str, Any]) -> None:
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
        emit({"event": "error", "message": str(e)})
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


def run_generation(folder: Path, requests: TextIO, emit: Callable[[dict[str, Any]], None]) -> int:
    from ..errors import HuggingTweetsError
    from ..generate import Bot

    try:
        bot = Bot.load(folder)
    except HuggingTweetsError as e:
        emit({"event": "error", "error": str(e)})
        return 1
    emit({"event": "ready"})
    for line in requests:
        if not line.strip():
            continue
        try:
            req = orjson.loads(line)
            posts = bot.generate(req.get("prompt", ""), int(req.get("n", 10)), seed=req.get("seed"))
            emit({"predictions": [p.to_dict() for p in posts]})
        except HuggingTweetsError as e:
            emit({"error": str(e)})
        except Exception as e:  # noqa: BLE001 - one request failing must not end the worker
            import traceback

            traceback.print_exc()
            emit({"error": f"generation failed: {type(e).__name__}: {e}".splitlines()[0]})
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("train", "generate"):
        print("usage: python -m huggingtweets.app.runner train JOB.json | generate MODEL_FOLDER",
              file=sys.stderr)
        return 2
    events = _event_stream()
    emit = _emitter(events)
    if args[0] == "train":
        return run_training(Path(args[1]), emit)
    return run_generation(Path(args[1]), sys.stdin, emit)


if __name__ == "__main__":
    sys.exit(main())
