"""The whole job after ``prepare``: track, train, write sample posts, the card and the preview.

``train_bot`` is what ``huggingtweets train`` and ``run`` call; three lines of Python do the same:

    ds = huggingtweets.prepare(["archive:twitter-archive.zip"])
    bot = huggingtweets.train_bot(ds)
    print(bot.predictions)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .api import Dataset
from .bot_folder import CONFIG_FILE
from .card.card import DEFAULT_PROMPT
from .evaluation import TRAIN_POSTS, Evaluation


@dataclass
class BotResult:
    output: Path
    """The model folder, a complete Hugging Face model repository with its card."""
    metrics: dict[str, Any]
    predictions: list[dict] = field(default_factory=list)
    """Posts generated for the prompt after training (``text``, ``copy``, ...)."""
    summary: str = ""
    evaluation: Evaluation | None = None
    """What ``huggingtweets.evaluate`` measured after training (``None`` with ``eval_posts=None``)."""


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def raw_posts(stats: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The stored posts behind a dataset, as records for the tracker's ``raw-dataset``."""
    from .store import Store

    with Store() as store:
        for u in stats["users"]:
            if not u.get("account"):
                continue
            for p in store.posts(u["network"], u["account"]):
                yield {"handle": u["handle"], "id": p.id, "created_at": p.created_at, "kind": p.kind,
                       "text": p.text, "raw": p.raw}


def track_preprocess(ds: Dataset, tracker: str | None = "auto") -> None:
    """Log the preprocess run: the raw posts (``raw-dataset``) and the dataset (``train-dataset``)."""
    from . import tracking

    if tracking.resolve_tracker(tracker) == "none":
        return
    run = tracking.start_preprocess_run(ds.path, raw_posts(ds.stats), tracker=tracker,
                                        config={"dataset": ds.stats["settings"], "hash": ds.hash})
    run.finish()


def _base_model_for_tracker(cfg) -> str:
    from .training import base_models

    ref = base_models.resolve(cfg.model.base_model)
    if ref.kind == "embedded":
        return str(base_models.embedded_gguf())
    return ref.location


Progress = Callable[[dict[str, Any]], None]
"""Called with each record of the job: the training loop's (``step``, ``total_steps``, ``loss``, ... or
``eval_loss``), then ``{"stage": "evaluating"}`` and ``{"stage": "card"}`` as the later stages begin."""


def train_bot(dataset: Dataset | str | Path, output: str | Path | None = None, config=None, *,
              resume: bool = False, progress: bool = False, tracker: str | None = "auto",
              card: bool = True, prompt: str = DEFAULT_PROMPT, n_predictions: int = 10,
              seed: int | None = None, eval_posts: int | None = TRAIN_POSTS,
              eval_progress: Any = None, on_progress: Progress | None = None) -> BotResult:
    """Train a bot on a dataset folder, evaluate it, then write sample posts, its card and its preview.

    Args:
        dataset: a folder from ``prepare`` (or the ``Dataset`` it returned).
        output: the model folder (default: ``~/.huggingtweets/bots/<bot name>``).
        config: a ``TrainConfig`` (default: the ``default`` recipe; see ``resolve_config``).
        tracker: ``auto`` (W&B, offline without a login), ``wandb`` or ``none``.
        card: generate ``n_predictions`` posts for ``prompt`` and write README.md and predictions.png.
        eval_posts: measure the bot with ``huggingtweets.evaluate`` on this many generated posts (0:
            validation only; ``None``: no evaluation) and write it into ``metrics.json`` (key
            ``evaluation``), the run's summary and the card.
        eval_progress: progress bars for the evaluation (see ``evaluation.ProgressFactory``).
        on_progress: called with each progress record (see ``Progress``); the CLI, the Python API and
            the web app's worker all run the job through this function.
    Raises:
        HuggingTweetsError subclasses (bad dataset, base model, checkpoint, diverged training ...).
    """
    from . import tracking
    from .training import resolve_config, train

    cfg = config or resolve_config()
    ds_path = Path(dataset.path if isinstance(dataset, Dataset) else dataset)
    main = _is_main_process()
    say = on_progress or (lambda record: None)
    # The run is told about the model folder only after training: training refuses a folder that
    # already holds files it did not write. Its configuration starts as the settings asked for and ends
    # as training_config.json, with what training resolved (block size, precision, device).
    run = (tracking.start_train_run({"config": cfg.to_dict()}, dataset=ds_path, tracker=tracker,
                                    base_model=_base_model_for_tracker(cfg))
           if main else tracking.NoTracker())

    def on_log(record: dict[str, Any]) -> None:
        run.log_metrics(record)
        say(record)

    try:
        result = train(ds_path, output, cfg, resume=resume, progress=progress, on_log=on_log)
        bot = BotResult(result.output, result.metrics, summary=result.summary())
        if not main:
            return bot
        run.log_config(json.loads((result.output / CONFIG_FILE).read_text(encoding="utf-8")))
        run.log_summary(result.metrics)
        run.log_model(result.output, kind="finetuned")
        tracking.write_tracking_info(result.output, run.info())
        loaded = None
        if card or eval_posts is not None:
            from .generate import Bot

            loaded = Bot.load(result.output)  # once, for the card's posts and the evaluation
        if card:
            # Before the evaluation, which seeds the generator: the sample is what it was without one.
            posts = loaded.generate(prompt, n_predictions, seed=seed)
            bot.predictions = [p.to_dict() for p in posts]
        if eval_posts is not None:
            from .evaluation import METRICS_KEY, evaluate, save_evaluation

            say({"stage": "evaluating"})
            bot.evaluation = evaluate(loaded, ds_path, eval_posts, progress=eval_progress)
            save_evaluation(result.output, bot.evaluation)
            bot.metrics = {**bot.metrics, METRICS_KEY: bot.evaluation.to_dict(posts=False)}
            run.log_summary({METRICS_KEY: bot.metrics[METRICS_KEY]})
        if card:
            from .card import finalize_bot

            say({"stage": "card"})
            # A post that copies a training post is never shown on the card or the preview.
            shown = [p["text"] for p in bot.predictions if not p.get("copy")] or [p["text"] for p in bot.predictions]
            finalize_bot(result.output, shown, prompt, tracker=run)
    except BaseException:
        run.finish(failed=True)
        raise
    run.finish()
    return bot
