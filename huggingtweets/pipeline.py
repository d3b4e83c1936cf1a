"""The whole job, from sources to a finished bot: the one path that the CLI, the Python API and the web
app all take.

``make_bot`` runs it all (fetch and prepare the sources, track the data, train, evaluate, write sample
posts, the card and the preview) and reports progress through one callback; ``train_bot`` is its second
half, from a dataset folder. ``huggingtweets train`` and ``run`` call ``make_bot``, and so does the web
app's worker. Two lines of Python do the same:

    bot = huggingtweets.make_bot(["archive:twitter-archive.zip"])
    print(bot.output, [p["text"] for p in bot.predictions])
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .api import Dataset, ProgressFactory
from .bot_folder import CONFIG_FILE, DEFAULT_PROMPT, read_json
from .dataset.folder import DatasetStats
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
    dataset: Dataset | None = None
    """The dataset folder the bot was trained on (set by ``make_bot``)."""
    instead_of: Path | None = None
    """The default bot folder found taken, when the bot was written to a new name (``jane-2``)."""


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def raw_posts(stats: DatasetStats) -> Iterator[dict[str, Any]]:
    """The stored posts behind a dataset, as records for the tracker's ``raw-dataset``."""
    from .store import Store

    with Store() as store:
        for u in stats.users:
            if not u.account:
                continue
            for p in store.posts(u.network, u.account):
                yield {"handle": u.handle, "id": p.id, "created_at": p.created_at, "kind": p.kind,
                       "text": p.text, "raw": p.raw}


def track_preprocess(ds: Dataset, tracker: str | None = "auto") -> None:
    """Log the preprocess run: the raw posts (``raw-dataset``) and the dataset (``train-dataset``)."""
    from . import tracking

    if tracking.resolve_tracker(tracker) == "none":
        return
    run = tracking.start_preprocess_run(ds.path, raw_posts(ds.stats), tracker=tracker,
                                        config={"dataset": ds.stats.settings, "hash": ds.hash})
    run.finish()


def _base_model_for_tracker(cfg) -> str:
    from .training import base_models

    ref = base_models.resolve(cfg.model.base_model)
    if ref.kind == "embedded":
        return str(base_models.embedded_gguf())
    return ref.location


Progress = Callable[[dict[str, Any]], None]
"""Called with each record of the job: ``{"stage": "output", "output": Path, "instead_of": Path}`` when the
default bot folder is taken and a new name is used, ``{"stage": "training"}``, the training loop's
(``step``, ``total_steps``, ``loss``, ... or ``eval_loss``), then ``{"stage": "evaluating"}`` and
``{"stage": "card"}`` as the later stages begin."""


def train_bot(dataset: Dataset | str | Path, output: str | Path | None = None, config=None, *,
              resume: bool = False, progress: bool = False, tracker: str | None = "auto",
              card: bool = True, prompt: str = DEFAULT_PROMPT, n_predictions: int = 10,
              seed: int | None = None, eval_posts: int | None = TRAIN_POSTS,
              eval_progress: Any = None, on_progress: Progress | None = None,
              overwrite: bool = False, run_config: dict[str, Any] | None = None) -> BotResult:
    """Train a bot on a dataset folder, evaluate it, then write sample posts, its card and its preview.

    Args:
        dataset: a folder from ``prepare`` (or the ``Dataset`` it returned).
        output: the model folder (default: ``~/.huggingtweets/bots/<bot name>``, or ``<bot name>-2``,
            ... when taken: see ``_output``).
        config: a ``TrainConfig`` (default: the ``default`` recipe; see ``resolve_config``).
        overwrite: replace the bot in ``output`` (or in the default folder).
        tracker: ``auto`` (W&B, offline without a login), ``wandb`` or ``none``.
        card: generate ``n_predictions`` posts for ``prompt`` and write README.md and predictions.png.
        eval_posts: measure the bot with ``huggingtweets.evaluate`` on this many generated posts (0:
            validation only; ``None``: no evaluation) and write it into ``metrics.json`` (key
            ``evaluation``), the run's summary and the card.
        eval_progress: progress bars for the evaluation (see ``evaluation.ProgressFactory``).
        on_progress: called with each progress record (see ``Progress``); the CLI, the Python API and
            the web app's worker all run the job through this function.
        run_config: more keys for the tracked run's configuration (``update`` adds ``continued_from``).
    Raises:
        HuggingTweetsError subclasses (bad dataset, base model, checkpoint, diverged training ...).
    """
    from . import tracking
    from .training import resolve_config, train

    cfg = config or resolve_config()
    ds = dataset if isinstance(dataset, Dataset) else Dataset.open(dataset)
    ds_path = ds.path
    main = _is_main_process()
    say = on_progress or (lambda record: None)
    output, instead_of = _output(ds, output, overwrite, resume, say)
    # The run is told about the model folder only after training: training refuses a folder that
    # already holds files it did not write. Its configuration starts as the settings asked for and ends
    # as training_config.json, with what training resolved (block size, precision, device).
    run = (tracking.start_train_run({"config": cfg.to_dict(), **(run_config or {})}, dataset=ds_path,
                                    tracker=tracker, base_model=_base_model_for_tracker(cfg))
           if main else tracking.NoTracker())

    def on_log(record: dict[str, Any]) -> None:
        run.log_metrics(record)
        say(record)

    try:
        say({"stage": "training"})
        result = train(ds_path, output, cfg, resume=resume, progress=progress, on_log=on_log, overwrite=overwrite)
        bot = BotResult(result.output, result.metrics, summary=result.summary(), instead_of=instead_of)
        if not main:
            return bot
        # Exactly the file, key for key: the run and the folder say the same.
        run.log_config(read_json(result.output / CONFIG_FILE))
        run.log_summary(result.metrics)
        run.log_model(result.output, kind="finetuned")
        tracking.write_tracking_info(result.output, run.info())
        loaded = None
        if card or eval_posts is not None:
            from .generate import Bot

            loaded = Bot.load(result.output)  # once, for the card's posts and the evaluation
        if card:
            # Before the evaluation, which seeds the generator: the sample is what it was without one.
            bot.predictions = _card_posts(loaded, prompt, n_predictions, seed)
        if eval_posts is not None:
            from .evaluation import METRICS_KEY, evaluate, save_evaluation

            say({"stage": "evaluating"})
            bot.evaluation = evaluate(loaded, ds_path, eval_posts, progress=eval_progress)
            save_evaluation(result.output, bot.evaluation)
            bot.metrics = {**bot.metrics, METRICS_KEY: bot.evaluation.to_dict(posts=False)}
            run.log_summary({METRICS_KEY: bot.metrics[METRICS_KEY]})
        if card:
            _write_card(result.output, bot.predictions, prompt, n_predictions, run, say)
    except BaseException:
        run.finish(failed=True)
        raise
    run.finish()
    return bot


def _card_posts(loaded, prompt: str, n: int, seed: int | None) -> list[dict]:
    """The card's sample: ``n`` posts, copies of a training post kept and marked (the terminal shows
    them so), then, when copies leave fewer than ``n`` others, more samples in their place, copies
    dropped, up to ``3 * n`` samples in all."""
    from .generate import DROP_SAMPLES

    posts = loaded.generate(prompt, n, seed=seed)
    missing = n - sum(1 for p in posts if not p.copy)
    if missing:
        posts += loaded.generate(prompt, missing, copies="drop", max_samples=(DROP_SAMPLES - 1) * n)
    return [p.to_dict() for p in posts]


def _write_card(folder: Path, predictions: list[dict], prompt: str, n: int, run, say: Progress) -> None:
    """Store the sample, write the card and draw the preview with the posts that copy no training post:
    a copy is never shown, not even when every post is one (then the preview shows the prompt alone,
    and the ``card`` record carries a ``note`` that says why)."""
    from .card import finalize_bot

    shown = [p for p in predictions if not p.get("copy")][:n]
    note = None if shown else ("every sample post copied a training post, so the card and its preview "
                               "show none: the bot has learnt its posts by heart; train it on more posts, "
                               "or for fewer --epochs")
    say({"stage": "card", **({"note": note} if note else {})})
    finalize_bot(folder, shown, prompt, tracker=run)


def _output(ds: Dataset, output: str | Path | None, overwrite: bool, resume: bool,
            say: Progress) -> tuple[Path, Path | None]:
    """The bot folder to write and the default one kept, if any (``training.output.choose_output``),
    checked before a tracked run starts, which would end as a failed run.

    Raises:
        FolderExistsError: ``output`` holds a bot, without ``overwrite`` or ``resume``; see
            ``training.output.check_output`` for the rest.
    """
    from .training.output import check_output, choose_output

    path, instead_of = choose_output(ds.stats, output, overwrite=overwrite, resume=resume)
    check_output(path, resume=resume, overwrite=overwrite)
    if instead_of is not None:
        say({"stage": "output", "output": path, "instead_of": instead_of})
    return path, instead_of


def _is_dataset_folder(value: str | Path) -> bool:
    """A folder here, or anything that is not a source (``SCHEME:VALUE``): opening it says what is wrong."""
    from .errors import UsageError
    from .sources import split_spec

    if isinstance(value, Path) or Path(value).expanduser().is_dir():
        return True
    try:
        split_spec(value)
    except UsageError:
        return True
    return False


def make_bot(inputs: Sequence[str | Path] | Dataset | str | Path, output: str | Path | None = None,
             config=None, *, clean=None, split=None, source_options=None, min_chars: int | None = None,
             fetch_progress: ProgressFactory | None = None, on_progress: Progress | None = None,
             overwrite: bool = False, **train_options: Any) -> BotResult:
    """The whole job: sources (or a dataset folder) in, a finished bot folder out.

    With sources (``"archive:x.zip"``, ``"x:jane"``, ...): fetch and prepare them (``api.prepare``, with
    ``clean``, ``split``, ``source_options`` and ``min_chars``), record the preprocess run, then
    ``train_bot``. With a dataset folder (a path, or the ``Dataset`` that ``prepare`` returned): only
    ``train_bot``. Under ``torchrun`` the first process prepares and the others train on its folder.

    Args:
        inputs: sources, or one dataset folder.
        output: the bot folder (default: ``~/.huggingtweets/bots/<bot name>``).
        config: a ``TrainConfig`` (default: the ``default`` recipe).
        fetch_progress: progress bars for fetching, one per account (the CLI passes tqdm).
        on_progress: called with ``{"stage": "preparing"}``, then ``{"stage": "prepared", "dataset":
            Dataset}`` (its ``warnings`` say what the user should know, its ``instead_of`` whether the
            default dataset folder was kept and another name used), then every record of ``train_bot``
            (see ``Progress``).
        overwrite: replace the dataset and the bot already in their folders; without it neither is ever
            replaced: a default folder that is taken gives way to ``NAME-2``, ``NAME-3``, ..., and an
            explicit one is refused.
        train_options: passed to ``train_bot`` (``tracker``, ``card``, ``prompt``, ``eval_posts``, ...).
    Raises:
        UsageError: a dataset folder mixed with sources; HuggingTweetsError subclasses from each stage.

    Example:
        >>> import huggingtweets as ht
        >>> bot = ht.make_bot(["archive:twitter-archive.zip"], config=ht.resolve_config("quick"),
        ...                   on_progress=lambda r: print(r.get("stage") or f"step {r.get('step')}"))
        >>> bot.output, bot.dataset.stats.users[0].kept, bot.metrics["eval_bits_per_char"]
    """
    from .errors import UsageError

    say = on_progress or (lambda record: None)
    if isinstance(inputs, (Dataset, str, Path)):
        inputs = [inputs]
    inputs = list(inputs)
    folders = [i for i in inputs if isinstance(i, Dataset) or _is_dataset_folder(i)]
    if folders and len(inputs) > 1:
        from .sources import bare_path_error

        for f in folders:  # a file or an export without its scheme: "did you mean `archive:x.zip`?"
            if not isinstance(f, Dataset) and (err := bare_path_error(str(f), "given without a scheme")):
                raise err
        raise UsageError(f"{getattr(folders[0], 'path', folders[0])} is a dataset folder: pass one dataset "
                         f"folder alone, or only sources (SCHEME:VALUE)")
    if folders:
        ds = folders[0] if isinstance(folders[0], Dataset) else Dataset.open(folders[0])
    else:
        ds = _prepare_once([str(i) for i in inputs], say, train_options.get("tracker", "auto"), clean=clean,
                           split=split, source_options=source_options, min_chars=min_chars,
                           progress=fetch_progress, overwrite=overwrite)
    result = train_bot(ds, output, config, on_progress=on_progress, overwrite=overwrite, **train_options)
    result.dataset = ds
    return result


def _prepare_once(specs: list[str], say: Progress, tracker: str | None, **options: Any) -> Dataset:
    """Prepare (and track) on the first process; under DDP the others wait for its folder's path."""
    import warnings

    from .api import DataWarning, prepare

    box: list[Any] = [None]
    if _is_main_process():
        say({"stage": "preparing"})
        with warnings.catch_warnings():
            # Said once, through the "prepared" record (``Dataset.warnings``), not as Python warnings.
            warnings.simplefilter("ignore", DataWarning)
            ds = prepare(specs, **options)
        say({"stage": "prepared", "dataset": ds})
        track_preprocess(ds, tracker)
        box = [str(ds.path)]
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from .training.hardware import init_distributed

        d = init_distributed()  # joined once; training uses the same group
        import torch.distributed as dist

        dist.broadcast_object_list(box, 0)
        if not d.main:
            ds = Dataset.open(box[0])
    return ds
