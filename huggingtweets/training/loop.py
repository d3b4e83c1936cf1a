"""The training loop: one function for full fine-tuning and LoRA, on CPU or GPU, alone or under DDP.

A plain PyTorch loop: the data is small and fixed, so packing, order, checkpoints and resume are simpler
(and cheaper) written out than configured. ``torchrun --nproc_per_node N -m huggingtweets train ...``
runs it unchanged: each process takes its share of every global batch and DDP averages the gradients.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..bot_folder import CHECKPOINTS
from ..errors import CheckpointError, TrainingDivergedError, TrainingInterrupted
from . import base_models
from .checkpoints import load_checkpoint, save_checkpoint
from .data import batch_blocks, build_schedule, fit_block_size, load_posts, steps_in
from .evaluate import EvalResult, evaluate
from .export import model_max_length, save_output
from .hardware import (Dist, agree, autocast_for, init_distributed, keep_freed_memory, resolve_device,
                       resolve_precision)
from .output import choose_output, prepare_output
from .recipes import TrainConfig, describe, resolve_config
from .strategy import apply_strategy, trainable


@dataclass
class TrainResult:
    output: Path
    """The model folder."""
    config: TrainConfig
    """The resolved configuration (as saved in ``training_config.json``)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """As saved in ``metrics.json``: ``eval_loss``, ``eval_bits_per_char``, ``wall_seconds``, ..."""

    @property
    def bits_per_char(self) -> float | None:
        return self.metrics.get("eval_bits_per_char")

    def summary(self) -> str:
        m = self.metrics
        val = (f"validation loss {m['eval_loss']:.3f}, {m['eval_bits_per_char']:.3f} bits/char"
               if m.get("eval_loss") is not None else "no validation split")
        return f"{val}, {m['wall_seconds']:.0f} s, {m['tokens_per_second']:.0f} tokens/s -> {self.output}"


# --- schedule ----------------------------------------------------------------------------------------


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based) of ``total``: linear warm-up, then the decay."""
    o = cfg.optim
    warmup = int(round(o.warmup_ratio * total))
    if step < warmup:
        return o.learning_rate * (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, total - warmup)
    if o.schedule == "cosine":
        return o.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))
    if o.schedule == "linear":
        return o.learning_rate * (1 - progress)
    return o.learning_rate


def collate(blocks: list[list[int]], pad_id: int, isolate_posts: bool = False) -> dict[str, Any]:
    """The model's keyword arguments for one batch of blocks: ``input_ids``, ``labels`` (``-100`` on
    padding), and either a padding ``attention_mask`` or, with ``isolate_posts``, ``position_ids`` that
    restart at 0 on every end-of-text token (``pad_id``), from which transformers builds a mask that keeps
    each post to itself (its packed-sequence format: no ``attention_mask`` given). Padding is on the
    right, so no real token ever attends to it either way."""
    import torch

    width = max(len(b) for b in blocks)
    ids = torch.full((len(blocks), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(blocks), width), dtype=torch.long)
    for i, b in enumerate(blocks):
        ids[i, : len(b)] = torch.tensor(b, dtype=torch.long)
        mask[i, : len(b)] = 1
    labels = ids.masked_fill(mask == 0, -100)
    if not isolate_posts:
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
    starts = ids == pad_id
    starts[:, 0] = True
    index = torch.arange(width).expand_as(ids)
    # Position = distance from the last start at or before it (a running max of the starts' indices).
    last_start = torch.where(starts, index, torch.zeros_like(index)).cummax(dim=1).values
    return {"input_ids": ids, "position_ids": index - last_start, "labels": labels}


# --- the run -----------------------------------------------------------------------------------------


class _StopFlag:
    """Ctrl-C (or SIGTERM) asks the loop to stop at the next step boundary, where a checkpoint is
    consistent; a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.set = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> "_StopFlag":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.set:
            raise KeyboardInterrupt
        self.set = True

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _peak_rss_mb() -> float:
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024 if sys.platform != "darwin" else kb / 2**20
    except ImportError:
        return float("nan")


def train(dataset: Any, output: str | Path | None = None, config: TrainConfig | None = None, *,
          resume: bool = False, progress: bool = False,
          on_log: Callable[[dict[str, Any]], None] | None = None, overwrite: bool = False) -> TrainResult:
    """Fine-tune a base model on a dataset folder and write a complete model folder.

    Args:
        dataset: a dataset folder from ``prepare`` (a path, or the ``Dataset`` it returned).
        output: the model folder (default: ``$HUGGINGTWEETS_HOME/bots/<bot name>``, or when a bot is
            there, the first free ``<bot name>-2``, ``-3``, ...; see ``training.output``).
        config: the resolved settings (default: the ``default`` recipe); see ``resolve_config``.
        resume: continue from the last checkpoint in ``output/checkpoints``.
        overwrite: replace the bot already in ``output`` (or in the default folder).
        progress: show a progress bar on stderr (loss, tokens/s, time left).
        on_log: called with each logged record (training loss every few steps, each evaluation).
    Returns:
        The folder, the resolved config and the metrics.
    Raises:
        DatasetError: the dataset folder is missing or malformed.
        BaseModelError: the base model cannot be found or loaded.
        TrainingDataError: too little text for one block.
        CheckpointError: ``resume`` without a checkpoint, or with one made with other settings; or old
            checkpoints without ``resume`` or ``overwrite``.
        FolderExistsError: ``output`` holds a trained bot, without ``resume`` or ``overwrite``.
        TrainingDivergedError: the loss became NaN or infinite (the last good checkpoint is kept).
        TrainingInterrupted: Ctrl-C or SIGTERM; a checkpoint was saved.

    Example:
        >>> ds = huggingtweets.prepare(["archive:twitter-archive.zip"])
        >>> train(ds, config=resolve_config("quick")).output
    """
    started = time.perf_counter()
    # A copy: the run fills in what was left to it (block size, precision, device).
    cfg = copy.deepcopy(config) if config else resolve_config()
    cfg.validate()
    base_models.require("torch")
    base_models.require("transformers")
    d = init_distributed()
    try:
        return _train(dataset, output, cfg, resume, progress, on_log, d, started, overwrite)
    finally:
        if d.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(dataset, output, cfg: TrainConfig, resume: bool, progress: bool, on_log, d: Dist,
           started: float, overwrite: bool = False) -> TrainResult:
    run = _Run(dataset, output, cfg, d, on_log, overwrite or resume)
    checkpoints = prepare_output(run.out, resume=resume, overwrite=overwrite, d=d)
    run.setup_hardware()
    run.setup_model()
    run.setup_optimizer()
    if resume:
        run.restore(checkpoints[-1])
    run.fit(progress)
    return run.finish(started)


@dataclass
class _Progress:
    """What a checkpoint carries besides the weights and the optimizer: where the run is."""

    step: int = 0
    tokens_seen: int = 0
    train_seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"loss": None, "step": None, "eval": None})


class _Run:
    """One training run in its stages, in the order ``_train`` calls them: the output folder checked,
    hardware and precision, the model and its data, the optimizer (and DDP), a checkpoint restored,
    the loop, and the folder written."""

    def __init__(self, dataset, output, cfg: TrainConfig, d: Dist, on_log, reuse: bool = False) -> None:
        from ..dataset.folder import DatasetFolder

        self.cfg, self.d, self.on_log = cfg, d, on_log
        self.folder = Path(getattr(dataset, "path", dataset))
        self.stats = DatasetFolder.open(self.folder).stats
        # Every process takes the same name: nothing is written to it before they all have.
        self.out = choose_output(self.stats, output, overwrite=reuse)[0]
        self.at = _Progress()
        self.best_state: dict | None = None
        self.last_checkpoint: Path | None = None
        self.last_checkpoint_time = time.monotonic()
        self.last_eval: EvalResult | None = None
        self.last_eval_step = -1

    # -- set-up ------------------------------------------------------------------------------------------

    def setup_hardware(self) -> None:
        """Threads, device and arithmetic; ``auto`` settings are replaced by what is used."""
        import torch

        cfg, d = self.cfg, self.d
        if not torch.cuda.is_available() or cfg.run.device == "cpu":
            keep_freed_memory()
        if cfg.run.threads:
            torch.set_num_threads(cfg.run.threads)
        elif d.world > 1 and not torch.cuda.is_available():
            # Processes on one CPU share its cores; more threads than cores slows every one of them.
            local = int(os.environ.get("LOCAL_WORLD_SIZE", d.world))
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
        self.device = resolve_device(cfg, d)
        cfg.run.device = self.device.type
        cfg.run.precision = resolve_precision(cfg.run.precision, self.device)
        self.autocast = autocast_for(cfg.run.precision, self.device)

    def setup_model(self) -> None:
        """The base model and tokenizer, the posts as tokens, the blocks of every epoch, the strategy."""
        import torch

        cfg, d = self.cfg, self.d
        self.ref = base_models.resolve(cfg.model.base_model)
        if self.ref.kind == "embedded" and d.world > 1:
            # One process converts the embedded model on first use; the others then load its folder.
            if d.main:
                base_models.convert_embedded(Path(self.ref.location))
            d.barrier()
        model, self.tokenizer = base_models.load(self.ref)
        self.eot_info = base_models.end_of_text_token(self.tokenizer)
        self.eot_id = self.eot_info[1]
        self.max_length = model_max_length(model, self.tokenizer)
        self.posts = load_posts(self.folder, self.tokenizer)
        if cfg.data.block_size == 0:
            cfg.data.block_size = fit_block_size(self.posts.train, self.max_length)
        elif cfg.data.block_size > self.max_length:
            cfg.data.block_size = self.max_length
        self.schedule = build_schedule(self.posts.train, self.eot_id, cfg.data.block_size, cfg.data.epochs,
                                       cfg.data.packing, cfg.data.drop_remainder, cfg.run.seed)
        self.per_epoch = [steps_in(len(e), cfg.optim.batch_size * d.world) for e in self.schedule.epochs]
        self.natural = sum(self.per_epoch)
        self.total = min(self.natural, cfg.run.max_steps) if cfg.run.max_steps else self.natural
        self.epoch_of, self.ends = _epoch_index(self.per_epoch, self.total)
        torch.manual_seed(cfg.run.seed)
        model.config.use_cache = False
        self.model = apply_strategy(model, cfg)
        self.model.to(self.device)
        self.model.train()
        self.params = trainable(self.model)

    def setup_optimizer(self) -> None:
        """AdamW (fused), the fp16 loss scaler, and DDP around the model when there are several processes."""
        import torch

        cfg, d, device = self.cfg, self.d, self.device
        decay = [p for p in self.params.values() if p.ndim >= 2]
        no_decay = [p for p in self.params.values() if p.ndim < 2]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": cfg.optim.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=cfg.optim.learning_rate, betas=(0.9, 0.999), eps=1e-8,
            # One fused kernel over all weights: on this project's 2-core CPU an AdamW step over the 135M
            # embedded model took 0.09 s fused against 0.3-0.8 s as a Python loop over tensors
            # (bench/README.md).
            **({"fused": True} if device.type in ("cuda", "cpu") else {}))
        self.scaler = torch.amp.GradScaler("cuda") if cfg.run.precision == "fp16" else None
        self.runner = self.model
        if d.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            # With blocks fixed, weights below them (GPT-2's position embeddings) get no gradient.
            self.runner = DDP(self.model, device_ids=[device.index] if device.type == "cuda" else None,
                              find_unused_parameters=bool(cfg.model.freeze_layers))

    # -- checkpoints -------------------------------------------------------------------------------------

    def restore(self, path: Path) -> None:
        """Weights, optimizer, scaler, random state and progress from a checkpoint of the same run."""
        import torch

        state, self.best_state = load_checkpoint(path)
        if state.get("fingerprint") != self.cfg.fingerprint() or state.get("dataset_hash") != \
                self.stats.hash:
            raise CheckpointError(
                f"{path} was made with other settings or another dataset; resume with the same command and "
                f"options, or delete {self.out / CHECKPOINTS} to start over")
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(state["weights"][n].to(p.device))
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"].get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.at = _Progress(state["step"], state["tokens_seen"], state["train_seconds"], state["history"],
                            state["best"])
        self.last_checkpoint = path

    def checkpoint(self, step: int) -> Path | None:
        at = self.at
        if self.d.main:
            extra = {"fingerprint": self.cfg.fingerprint(), "dataset_hash": self.stats.hash,
                     "tokens_seen": at.tokens_seen, "train_seconds": at.train_seconds,
                     "history": at.history, "best": at.best, "config": self.cfg.to_dict()}
            self.last_checkpoint = save_checkpoint(
                self.out, step, self.model, self.optimizer, self.scaler, extra,
                self.best_state if at.best["step"] not in (None, step) else None)
        self.d.barrier()
        self.last_checkpoint_time = time.monotonic()
        return self.last_checkpoint

    def _checkpoint_due(self, step: int) -> bool:
        run = self.cfg.run
        late = time.monotonic() - self.last_checkpoint_time > 60 * run.checkpoint_minutes
        due = bool((run.checkpoint_steps and step % run.checkpoint_steps == 0) or (run.checkpoint_minutes and late))
        if self.d.world > 1 and run.checkpoint_minutes and not run.checkpoint_steps:
            due = agree(due, self.device)
        return due and step < self.total

    # -- the loop ----------------------------------------------------------------------------------------

    def log(self, record: dict[str, Any]) -> None:
        self.at.history.append(record)
        if self.on_log is not None and self.d.main:
            self.on_log(record)

    def evaluate(self) -> EvalResult | None:
        return evaluate(self.model, self.posts.valid, self.eot_id, self.posts.valid_chars, device=self.device,
                        autocast=self.autocast, max_length=self.max_length,
                        batch_tokens=self.cfg.run.eval_batch_tokens, rank=self.d.rank, world=self.d.world)

    def _diverged(self, step: int, value: float) -> TrainingDivergedError:
        return TrainingDivergedError(step, value, str(self.last_checkpoint) if self.last_checkpoint else None)

    def train_step(self, stop_set: bool) -> tuple[float, int, bool, float]:
        """One optimizer step; (loss, tokens, whether any process asked to stop, learning rate)."""
        import torch

        cfg, d, step = self.cfg, self.d, self.at.step
        epoch, in_epoch = self.epoch_of(step)
        blocks = batch_blocks(self.schedule.epochs[epoch], in_epoch, cfg.optim.batch_size, d.rank, d.world)
        batch = collate(blocks, self.eot_id, cfg.data.isolate_posts)
        inputs = {k: v.to(self.device) for k, v in batch.items()}
        n_real = int((inputs["labels"] != -100).sum())
        lr = lr_at(step, self.total, cfg)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        with self.autocast:
            loss = self.runner(**inputs, use_cache=False).loss
        # One small all-reduce per step shares the loss, the token count and a stop request, so that
        # every process sees a NaN or a Ctrl-C at the same step and none waits forever.
        shared = torch.tensor([loss.item(), float(n_real), float(stop_set)], dtype=torch.float64)
        if d.world > 1:
            import torch.distributed as dist

            shared = shared.to(self.device) if self.device.type == "cuda" else shared
            dist.all_reduce(shared)
            shared = shared.cpu()
            shared[0] /= d.world
        loss_value, n_tokens, stop_requested = float(shared[0]), int(shared[1]), bool(shared[2])
        if not math.isfinite(loss_value):
            raise self._diverged(step + 1, loss_value)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if cfg.optim.max_grad_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(list(self.params.values()), cfg.optim.max_grad_norm)
            if self.scaler is None and not torch.isfinite(norm):
                raise self._diverged(step + 1, float(norm))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss_value, n_tokens, stop_requested, lr

    def evaluate_and_keep_best(self, step: int, bar) -> None:
        """Score the validation posts at an epoch's end (or every ``eval_steps``); keep the best weights."""
        cfg = self.cfg
        at_eval = (cfg.run.eval_steps and step % cfg.run.eval_steps == 0) or \
            (not cfg.run.eval_steps and step in self.ends) or step == self.total
        if not (at_eval and self.posts.valid):
            return
        self.last_eval, self.last_eval_step = self.evaluate(), step
        result = self.last_eval
        self.log({"step": step, "eval_loss": round(result.loss, 5),
                  "eval_bits_per_char": round(result.bits_per_char, 5)})
        if bar is not None:
            bar.write(f"step {step}: validation loss {result.loss:.4f}, {result.bits_per_char:.4f} bits/char",
                      file=sys.stderr)
        best = self.at.best
        if cfg.run.best_on_validation and (best["loss"] is None or result.loss < best["loss"]):
            self.at.best = {"loss": result.loss, "step": step, "eval": result.to_dict()}
            if step != self.total:
                self.best_state = {n: p.detach().to("cpu", copy=True) for n, p in self.params.items()}

    def _bar(self, progress: bool):
        if not (progress and self.d.main):
            return None
        from tqdm import tqdm

        cfg, d = self.cfg, self.d
        bar = tqdm(total=self.total, initial=self.at.step, unit="step", file=sys.stderr, dynamic_ncols=True,
                   desc=self.stats.bot, leave=False)
        bar.write(describe(cfg) + f"; {self.total} steps of {cfg.optim.batch_size * d.world} x "
                  f"{cfg.data.block_size} tokens" + (f" on {d.world} processes" if d.world > 1 else ""),
                  file=sys.stderr)
        return bar

    def fit(self, progress: bool) -> None:
        """Steps until the last one; Ctrl-C or SIGTERM stops at a step's end with a checkpoint."""
        at, total = self.at, self.total
        bar = self._bar(progress)
        log_every = max(1, min(10, total // 20))
        window_tokens, window_start, smooth = 0, time.perf_counter(), None
        try:
            with _StopFlag() as stop:
                while at.step < total:
                    t0 = time.perf_counter()
                    epoch, in_epoch = self.epoch_of(at.step)
                    loss, n_tokens, stop_requested, lr = self.train_step(stop.set)
                    at.step += 1
                    at.tokens_seen += n_tokens
                    window_tokens += n_tokens
                    at.train_seconds += time.perf_counter() - t0
                    smooth = loss if smooth is None else 0.9 * smooth + 0.1 * loss
                    if at.step % log_every == 0 or at.step == total:
                        now = time.perf_counter()
                        rate = window_tokens / max(now - window_start, 1e-9)
                        self.log({"step": at.step, "total_steps": total,
                                  "epoch": round(epoch + (in_epoch + 1) / self.per_epoch[epoch], 3),
                                  "loss": round(loss, 4), "lr": lr, "tokens_per_second": round(rate, 1)})
                        window_tokens, window_start = 0, now
                        if bar is not None:
                            bar.set_postfix(loss=f"{smooth:.3f}", tok_s=f"{rate:.0f}", refresh=False)
                    if bar is not None:
                        bar.update(1)
                    self.evaluate_and_keep_best(at.step, bar)
                    # Alone, a Ctrl-C during this step stops after it; under DDP, where the processes
                    # must agree, after the step whose all-reduce carried it.
                    if stop_requested or (self.d.world == 1 and stop.set):
                        saved = self.checkpoint(at.step)
                        raise TrainingInterrupted(at.step, str(saved) if self.d.main else None)
                    if self._checkpoint_due(at.step):
                        self.checkpoint(at.step)
        except KeyboardInterrupt:
            # A second Ctrl-C: stop now; the last interval checkpoint, if any, is still there.
            raise TrainingInterrupted(at.step, str(self.last_checkpoint) if self.last_checkpoint
                                      else None) from None
        finally:
            if bar is not None:
                bar.close()

    # -- the end -----------------------------------------------------------------------------------------

    def finish(self, started: float) -> TrainResult:
        """The best weights put back (when kept), the last evaluation, metrics, and the folder written."""
        import torch

        cfg, d, at = self.cfg, self.d, self.at
        final_eval = self.last_eval
        if cfg.run.best_on_validation and at.best["step"] is not None and at.best["step"] != at.step \
                and self.best_state:
            with torch.no_grad():
                for n, p in self.params.items():
                    p.copy_(self.best_state[n].to(p.device))
            final_eval = EvalResult(**at.best["eval"])
        if final_eval is None and self.posts.valid and self.last_eval_step != at.step:
            final_eval = self.evaluate()
        metrics = {
            "eval_loss": final_eval.loss if final_eval else None,
            "eval_bits_per_char": final_eval.bits_per_char if final_eval else None,
            "eval_tokens": final_eval.tokens if final_eval else 0,
            "eval_chars": final_eval.chars if final_eval else 0,
            "best_step": at.best["step"] if cfg.run.best_on_validation else None,
            "steps": at.step,
            "epochs": round(at.step / self.natural * cfg.data.epochs, 3),
            "train_tokens": at.tokens_seen,
            "train_seconds": round(at.train_seconds, 2),
            "wall_seconds": round(time.perf_counter() - started, 2),
            "tokens_per_second": round(at.tokens_seen / max(at.train_seconds, 1e-9), 1),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
            "seed": cfg.run.seed,
            "world_size": d.world,
            "log_history": at.history,
        }
        if d.main:
            save_output(self.out, self.model, self.tokenizer, cfg, self.ref, self.eot_info, self.folder,
                        self.stats, self.posts, metrics, self.schedule.block_size, self.max_length)
        d.barrier()
        return TrainResult(self.out, cfg, metrics)


def _epoch_index(per_epoch: list[int], total: int):
    starts, acc = [], 0
    for n in per_epoch:
        starts.append(acc)
        acc += n
    ends = {s + n for s, n in zip(starts, per_epoch) if s + n <= total}

    def epoch_of(step: int) -> tuple[int, int]:
        for e in range(len(per_epoch) - 1, -1, -1):
            if step >= starts[e]:
                return e, step - starts[e]
        return 0, step

    return epoch_of, ends


