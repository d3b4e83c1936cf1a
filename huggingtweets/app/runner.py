"""The web app's worker processes: training and generation run here, never in the server.

The server stays light (it never imports torch), a crash here cannot take it down, and cancelling a
training run is a SIGTERM, which the training loop turns into a checkpoint at the next step.

    python -m huggingtweets.app.runner train JOB.json
        Trains as JOB.json says ({"dataset", "output", "config", "resume"}) and writes one JSON object
        per line on stdout: {"event": "log", ...}, then "done", "interrupted" or "error".
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


class StepEstimate:
    """Total steps and time left, from the training loop's log records.

    A record's ``epoch`` is ``epoch_index + steps_done_in_epoch / steps_in_epoch`` and its ``step`` is
    ``epoch_index * steps_in_epoch + steps_done_in_epoch``, so ``step / epoch`` gives the steps of one
    epoch (exactly when epochs have equal steps); times the epochs, capped by ``max_steps``, is the run.
    A record's own ``total_steps``, when the loop gives one, wins.
    """

    def __init__(self, epochs: int, max_steps: int):
        self.epochs, self.max_steps = max(1, epochs), max_steps
        self.total: int | None = max_steps or None
        self._first: tuple[int, float] | None = None

    def update(self, record: dict[str, Any], now: float) -> dict[str, Any]:
        step = int(record.get("step", 0))
        if record.get("total_steps"):
            self.total = int(record["total_steps"])
        elif record.get("epoch"):
            per_epoch = max(1, round(step / record["epoch"]))
            natural = per_epoch * self.epochs
            self.total = min(natural, self.max_steps) if self.max_steps else natural
        if self.total is not None:
            self.total = max(self.total, step)
        eta = None
        if self._first is None:
            self._first = (step, now)
        elif step > self._first[0] and self.total:
            per_step = (now - self._first[1]) / (step - self._first[0])
            eta = round(per_step * (self.total - step), 1)
        return {"total": self.total, "eta_s": eta}


def run_training(job_file: Path, emit: Callable[[dict[str, Any]], None]) -> int:
    from ..errors import HuggingTweetsError, TrainingInterrupted

    job = orjson.loads(job_file.read_bytes())
    emit({"event": "start", "pid": os.getpid()})
    try:
        from ..training import TrainConfig, train

        cfg = TrainConfig.from_dict(job["config"])
        estimate = StepEstimate(cfg.data.epochs, cfg.run.max_steps)

        def on_log(record: dict[str, Any]) -> None:
            clean = {k: v for k, v in record.items() if not (isinstance(v, float) and not math.isfinite(v))}
            emit({"event": "log", **clean, **(estimate.update(record, time.monotonic()) if "loss" in record
                                              else {})})

        result = train(job["dataset"], job["output"], cfg, resume=bool(job.get("resume")), on_log=on_log)
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
