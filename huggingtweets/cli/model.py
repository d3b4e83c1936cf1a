"""``train``, ``generate`` and ``run``: from a dataset (or sources) to a model folder, and to new posts.

torch and transformers are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any, Callable, Iterator

import click

from .. import paths
from ..bot_folder import BotFolder
from ..evaluation import TRAIN_POSTS
from ..training.recipes import DEFAULT_RECIPE, DEVICES, EMBEDDED, PACKINGS, PRECISIONS, RECIPES
from .data import (build_dataset_options, build_source_options, dataset_options, format_table,
                   progress_factory, renamed, source_options)
from .evaluate import progress_bars


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _say(msg: str = "", err: bool = False) -> None:
    if _is_main_process():
        click.echo(msg, err=err)


def training_options(recipe_default: str) -> Callable[[Callable], Callable]:
    """Options that pick the recipe and override its settings (shared by train and run)."""

    def wrap(f: Callable) -> Callable:
        opts = [
            click.option("-o", "--output", type=click.Path(file_okay=False),
                         help="Model folder [default: ~/.huggingtweets/bots/BOT_NAME, or BOT_NAME-2, ... "
                              "when taken]."),
            click.option("--base-model", metavar="MODEL",
                         help=f"Hub id (gpt2), local folder, or 'embedded' [default: the embedded "
                              f"{EMBEDDED}]."),
            click.option("--recipe", type=click.Choice(list(RECIPES)), default=recipe_default,
                         show_default=True,
                         help="Starting settings: huggingtweets (the original's), default (tuned), "
                              "quick (demo)."),
            click.option("--lora", is_flag=True, default=None, help="Train LoRA adapters on all linear layers."),
            click.option("--lora-r", type=click.IntRange(1), help="Rank of the LoRA adapters [default: 16]."),
            click.option("--no-merge", is_flag=True, help="With --lora, save adapters, not merged weights."),
            click.option("--epochs", type=click.IntRange(1), help="Passes over the training posts."),
            click.option("--max-steps", type=click.IntRange(1), help="Stop after N optimizer steps."),
            click.option("--lr", type=click.FloatRange(0, min_open=True), help="Peak learning rate."),
            click.option("--warmup", type=click.FloatRange(0, 1, max_open=True),
                         help="Share of the steps that warm the learning rate up [recipe's]."),
            click.option("--batch-size", type=click.IntRange(1), help="Blocks per step (per process)."),
            click.option("--block-size", type=click.IntRange(0), help="Tokens per block (0: fit to the posts)."),
            click.option("--packing", type=click.Choice(PACKINGS),
                         help="How posts fill blocks: epoch (cut where a block ends), posts (whole), "
                              "stream (the original's) [recipe's]."),
            click.option("--isolate-posts/--shared-context", default=None,
                         help="Each post in a block attends only to itself, as it is scored and "
                              "generated, or also to the posts before it [recipe's]."),
            click.option("--precision", type=click.Choice(PRECISIONS),
                         help="Arithmetic [recipe's; auto: bf16 where native]."),
            click.option("--training-seed", type=int, help="Seed of the data order and weights [default: 42]."),
            click.option("--device", type=click.Choice(DEVICES),
                         help="Where to train: auto (a CUDA GPU when there is one), cpu or cuda [auto]."),
            click.option("--freeze-embeddings", is_flag=True, default=None, help="Keep token embeddings fixed."),
            click.option("--freeze-layers", type=click.FloatRange(0),
                         help="Keep the lowest N transformer blocks fixed, or below 1 that share of "
                              "them (faster steps) [recipe's]."),
            click.option("--checkpoint-steps", type=click.IntRange(0), help="Save a checkpoint every N steps."),
            click.option("--keep-checkpoints", is_flag=True, default=None, help="Keep checkpoints after success."),
            click.option("--resume", is_flag=True, help="Continue from the last checkpoint in the model folder."),
            click.option("--overwrite", is_flag=True,
                         help="Replace the dataset and the bot already in their folders (without it, a taken "
                              "default folder gives way to NAME-2, NAME-3, ...)."),
            click.option("--tracker", type=click.Choice(["auto", "wandb", "none"]), default="auto",
                         show_default=True,
                         help="Experiment tracking: auto is W&B (offline without a login; sync later "
                              "with `wandb sync`), none turns it off."),
            click.option("--no-card", is_flag=True,
                         help="Do not write sample posts, the model card and the preview image."),
            click.option("--eval-posts", type=click.IntRange(0, 1000), default=TRAIN_POSTS, show_default=True,
                         help="After training, measure the bot on this many generated posts, as "
                              "`huggingtweets evaluate` does (0: no evaluation)."),
        ]
        for o in reversed(opts):
            f = o(f)
        return f

    return wrap


def build_training_config(kw: dict):
    """Pop the training options from ``kw``; return the resolved config."""
    from ..training.recipes import resolve_config

    overrides = {
        "base_model": kw.pop("base_model"), "lora": kw.pop("lora"), "epochs": kw.pop("epochs"),
        "max_steps": kw.pop("max_steps"), "learning_rate": kw.pop("lr"), "warmup_ratio": kw.pop("warmup"),
        "lora_r": kw.pop("lora_r"), "device": kw.pop("device"), "batch_size": kw.pop("batch_size"),
        "block_size": kw.pop("block_size"),
        "packing": kw.pop("packing"), "isolate_posts": kw.pop("isolate_posts"), "precision": kw.pop("precision"), "seed": kw.pop("training_seed"),
        "freeze_embeddings": kw.pop("freeze_embeddings"), "freeze_layers": kw.pop("freeze_layers"),
        "checkpoint_steps": kw.pop("checkpoint_steps"),
        "keep_checkpoints": kw.pop("keep_checkpoints"),
    }
    if kw.pop("no_merge"):
        overrides["merge_lora"] = False
    return resolve_config(kw.pop("recipe"), overrides)


def _announce_conversion(cfg) -> None:
    from ..training import base_models

    if cfg.model.base_model.lower() in base_models.EMBEDDED_ALIASES:
        try:
            folder = base_models.embedded_folder()
        except Exception:
            return  # resolve() reports it properly
        if not (folder / "model.safetensors").is_file():
            _say(f"Converting the embedded base model {EMBEDDED} once (about 30 s; later runs load it in "
                 f"seconds)...", err=True)


def _train(inputs: tuple[str, ...], output: str | None, quiet: bool, resume: bool, kw: dict, *,
           prompt: str = "My dream is", count: int = 10, seed: int | None = None):
    from ..pipeline import make_bot
    from ..training.hardware import init_distributed

    tracker, card = kw.pop("tracker"), not kw.pop("no_card")
    eval_posts, overwrite = kw.pop("eval_posts"), kw.pop("overwrite")
    cfg = build_training_config(kw)
    opts = build_source_options(kw)
    clean, split, min_chars = build_dataset_options(kw)

    def on_progress(record: dict[str, Any]) -> None:
        if record.get("stage") == "prepared":
            ds = record["dataset"]
            if ds.instead_of is not None:
                click.echo(renamed(ds.instead_of, ds.path), err=True)
            for note in ds.warnings:
                click.echo(f"Warning: {note}", err=True)
            click.echo(format_table(ds.stats.users))
            click.echo(f"Dataset {'already in' if ds.reused else 'written to'} {ds.path}"
                       + (" (the same posts)" if ds.reused else ""))
        elif record.get("stage") == "output":
            _say(renamed(record["instead_of"], record["output"]), err=True)
        elif record.get("stage") == "training":
            _announce_conversion(cfg)

    d = init_distributed()  # under torchrun: joined once here, for preparing and training alike
    try:
        result = make_bot(list(inputs), output, cfg, clean=clean, split=split, source_options=opts,
                          min_chars=min_chars, fetch_progress=progress_factory(quiet), on_progress=on_progress,
                          resume=resume, overwrite=overwrite, progress=not quiet, tracker=tracker, card=card,
                          prompt=prompt, n_predictions=count, seed=seed, eval_posts=eval_posts or None,
                          eval_progress=progress_bars(quiet))
    finally:
        if d.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()
    if result.evaluation is not None:
        # On stderr, with the other notes: stdout ends with the "Trained:" line.
        _say(f"Evaluation: {result.evaluation.summary()} (`huggingtweets evaluate` for more)", err=True)
    if card and _is_main_process():
        _say(f"Model card and preview: {result.output / 'README.md'}, {result.output / 'predictions.png'}")
    _say(f"Trained: {result.summary}")
    return result.dataset, result


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="SOURCE_OR_DATASET...")
@training_options(DEFAULT_RECIPE)
@source_options
@dataset_options
def train(inputs: tuple[str, ...], output: str | None, quiet: bool, resume: bool, **kw: Any) -> None:
    """Fine-tune a base model on a dataset folder, or on sources (fetched and prepared first)."""
    _train(inputs, output, quiet, resume, kw)


def _print_posts(bot_name: str, handles: list[str], posts: list[dict], copies: str, has_index: bool) -> None:
    who = ", ".join(f"@{h}" for h in handles) if handles else "the account"
    click.echo(f"Generated by the bot {bot_name} (a language model trained on posts by {who}; not written "
               f"by them):")
    for i, p in enumerate(posts, 1):
        mark = "  [copies a training post]" if p.get("copy") else ""
        text = p["text"].replace("\n", "\n     ")  # a prompt's own line breaks stay inside its post
        click.echo(f"{i:>3}. {text}{mark}")
    if copies != "keep" and not has_index:
        click.echo("(this model folder has no copy index, so copies of training posts were not checked)")


def _handles(bot) -> list[str]:
    from ..errors import DatasetError

    try:
        return [u.handle for u in BotFolder(bot.folder).stats.users]
    except DatasetError:
        return []


def generation_options(seed_flag: str) -> Callable[[Callable], Callable]:
    """Sampling options (shared by generate and run, where --seed is the split's)."""

    def wrap(f: Callable) -> Callable:
        for o in reversed(_generation_opts(seed_flag)):
            f = o(f)
        return f

    return wrap


def _generation_opts(seed_flag: str) -> list:
    return [
        click.option("-n", "count", type=click.IntRange(1, 1000), default=10, show_default=True,
                     help="How many posts."),
        click.option("--temperature", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True),
        click.option("--top-p", type=click.FloatRange(0, 1, min_open=True), default=0.95, show_default=True),
        click.option("--max-new-tokens", type=click.IntRange(1), default=100, show_default=True,
                     help="Longest post, in tokens."),
        click.option(seed_flag, "gen_seed", type=int, help="Make the samples reproducible."),
        click.option("--copies", type=click.Choice(["mark", "drop", "keep"]), default="mark", show_default=True,
                     help="Outputs that copy a training post: mark them, drop them, or do not check."),
    ]


@click.command()
@click.argument("model")
@click.argument("prompt", required=False, default="My dream is")
@generation_options("--seed")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects with text, copy, ...")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def generate(model: str, prompt: str, count: int, temperature: float, top_p: float, max_new_tokens: int,
             gen_seed: int | None, copies: str, as_json: bool, quiet: bool) -> None:
    """Write new posts with a trained model folder (or a bot's name) from a prompt."""
    from ..generate import Bot, resolve_model_folder

    folder = resolve_model_folder(model)  # a wrong name is said before anything else
    share = _thread_share()  # before torch is imported: its pools are sized then
    if not quiet:
        click.echo(f"Writing {count} post{'s' if count != 1 else ''}{share}...", err=True)
    bot = Bot.load(folder)
    with _progress_bar(count, quiet) as on_post:
        generated = bot.generate(prompt, count, temperature=temperature, top_p=top_p,
                                 max_new_tokens=max_new_tokens, seed=gen_seed, copies=copies, on_post=on_post)
    note = _dropped_note(count, len(generated), generated.samples, generated.dropped)
    posts = [g.to_dict() for g in generated]
    if as_json:
        click.echo(json.dumps(posts, ensure_ascii=False, indent=2))
    else:
        _print_posts(bot.name, _handles(bot), posts, copies, bot.copies is not None)
    if note:
        click.echo(note, err=True)


def _thread_share() -> str:
    """Use the cores other processes leave free (``training.hardware``'s rule); say so when it is not all."""
    from ..training.hardware import busy_cores, generation_threads, usable_cores, use_threads

    cores = usable_cores()
    threads = generation_threads(cores, busy_cores())
    use_threads(threads, busy=threads < cores)
    return f" (the machine is busy: on {threads} of its {cores} cores)" if threads < cores else ""


@contextlib.contextmanager
def _progress_bar(total: int, quiet: bool) -> Iterator[Callable[[Any], None]]:
    """A tqdm bar on stderr counting posts and tokens as each post ends (hidden off a terminal and with
    --quiet); yields the ``on_post`` callback of ``Bot.generate``."""
    from tqdm import tqdm

    bar = tqdm(desc="Writing", total=total, unit=" posts", file=sys.stderr, leave=False, disable=True if quiet
               else None, dynamic_ncols=True)
    tokens = 0

    def on_post(post) -> None:
        nonlocal tokens
        tokens += post.tokens
        bar.set_postfix_str(f"{tokens} tokens", refresh=False)
        bar.update(1)

    try:
        yield on_post
    finally:
        bar.close()


def _dropped_note(asked: int, got: int, samples: int, dropped: int) -> str | None:
    """The stderr note of ``--copies drop``; raises when no post is left.

    Raises:
        GenerationError: every sample copied a training post.
    """
    from ..errors import GenerationError

    if not dropped:
        return None
    if not got:
        raise GenerationError(
            f"every one of the {samples} samples copied a training post, so no post is left: the bot has "
            f"learnt its posts by heart. Try a higher --temperature (e.g. 1.3) or another prompt, or train "
            f"it on more posts or for fewer --epochs; --copies mark shows the copies, marked")
    copied = f"{dropped} of {samples} samples copied a training post and were dropped"
    if got < asked:
        return f"Note: only {got} of {asked} posts: {copied} (a higher --temperature or another prompt helps)."
    return f"Note: {copied}; others were written in their place."


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@training_options("quick")
@generation_options("--generate-seed")
@click.option("--prompt", default="My dream is", show_default=True, help="Prompt of the sample posts.")
@source_options
@dataset_options
def run(sources: tuple[str, ...], output: str | None, quiet: bool, resume: bool, prompt: str, count: int,
        temperature: float, top_p: float, max_new_tokens: int, gen_seed: int | None, copies: str,
        **kw: Any) -> None:
    """Fetch, prepare, train (quick recipe) and write posts for "My dream is": the whole job."""
    from ..generate import Bot

    no_card = kw["no_card"]
    ds, result = _train(sources, output, quiet, resume, kw, prompt=prompt, count=count, seed=gen_seed)
    if not _is_main_process():
        return
    bot = Bot.load(result.output)
    defaults = temperature == 1.0 and top_p == 0.95 and max_new_tokens == 100 and copies == "mark"
    if no_card or not defaults:
        posts = [g.to_dict() for g in bot.generate(prompt, count, temperature=temperature, top_p=top_p,
                                                   max_new_tokens=max_new_tokens, seed=gen_seed, copies=copies)]
    else:
        posts = result.predictions  # the card's own sample, generated with these same settings
    click.echo()
    _print_posts(bot.name, _handles(bot), posts, copies, bot.copies is not None)
    click.echo()
    click.echo(f"Dataset: {ds.path}")
    click.echo(f"Model:   {result.output}")
    if not no_card:
        click.echo(f"Card:    {result.output / 'README.md'} (preview: {result.output / 'predictions.png'})")
    # By name when the bot is where names are looked up, else by its folder.
    ref = result.output.name if result.output.parent == paths.bots_dir() else result.output
    click.echo(f"More posts: huggingtweets generate {ref} \"{prompt}\" -n 10")


def register(group: click.Group) -> None:
    group.add_command(train)
    group.add_command(generate)
    group.add_command(run)
