"""The training loop: one function for full fine-tuning and LoRA, on CPU or GPU, alone or under DDP.

A plain PyTorch loop: the data is small and fixed, so packing, order, checkpoints and resume are simpler
(and cheaper) written out than configured. ``torchrun --nproc_per_node N -m huggingtweets train ...``
runs it unchanged: each process takes its share of every global batch and DDP averages the gradients.
"""

from __future__ import annotations

import copy
import math
import os
import shutil
import signal
import sys
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

from .. import __version__, paths
from ..errors import (CheckpointError, LoraTargetError, TrainingDivergedError, TrainingInterrupted,
                      UsageError)
from . import base_models
from .copies import CopyIndex
from .data import Posts, batch_blocks, build_schedule, fit_block_size, load_posts, steps_in
from .evaluate import EvalResult, evaluate
from .recipes import TrainConfig, describe, resolve_config

CHECKPOINTS = "checkpoints"
CONFIG_FILE = "training_config.json"
METRICS_FILE = "metrics.json"

# The original's generation settings (docs/background.md, "The original recipe"); the end-of-text token becomes the prefix.
GENERATION_DEFAULTS = {"do_sample": True, "top_p": 0.95, "temperature": 1.0, "min_length": 10,
                       "max_length": 160}


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


# --- processes ---------------------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def init_distributed() -> Dist:
    """Join the process group that ``torchrun``/``accelerate launch`` set up through the environment
    (gloo on CPU, NCCL on GPUs); alone, a no-op. Safe to call more than once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch
    import torch.distributed as dist

    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    owns = False
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        owns = True
    return Dist(rank, world, local, owns)


# --- hardware ----------------------------------------------------------------------------------------


def cpu_supports_bf16() -> bool:
    """Native bf16 arithmetic (AVX-512 BF16 or AMX): emulated bf16 would be slower than fp32."""
    import torch

    cpu = getattr(torch, "cpu", None)
    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(cpu, check, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:
            pass
    return False


def resolve_device(cfg: TrainConfig, d: Dist):
    import torch

    want = cfg.run.device
    if want == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is visible; leave the device to auto")
    if want == "cuda" or (want == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", d.local_rank)
    return torch.device("cpu")


def resolve_precision(want: str, device) -> str:
    import torch

    if device.type == "cuda":
        if want == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return want
    if want == "fp16":
        raise UsageError("--precision fp16 needs a CUDA GPU; on the CPU use bf16 or fp32")
    if want == "auto":
        return "bf16" if cpu_supports_bf16() else "fp32"
    return want


def keep_freed_memory() -> None:
    """Ask glibc to serve every allocation from its heap and never hand freed memory back to the OS.

    By default every tensor over 128 KiB is its own mmap, returned on free, and each step then faults
    in and zeroes the same memory again. Raising the mmap threshold to its maximum (32 MiB) halved the
    page faults (bench/README.md, attempt 9), but the largest tensors of a step (the logits, their
    gradient, the embedding matrix's gradient: 100-200 MB each) stayed above it: ~100,000 faults and
    0.6 s of kernel time per 4x128 step. With no mmap at all they reuse freed heap memory: ~0 faults,
    and steps 15-20% faster (attempt 43), for 10-20% more peak memory. glibc still maps memory when the
    heap cannot grow. A no-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        libc.mallopt(m_mmap_max, 0)
        libc.mallopt(m_trim_threshold, 2**31 - 1)
    except (OSError, AttributeError):
        pass


def autocast_for(precision: str, device):
    import torch

    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


# --- the strategy: which weights train ---------------------------------------------------------------


def lora_targets(model) -> list[str]:
    """Names of every linear layer (``nn.Linear`` or GPT-2's ``Conv1D``) but the output layer."""
    import torch.nn as nn

    kinds: tuple[type, ...] = (nn.Linear,)
    try:
        from transformers.pytorch_utils import Conv1D

        kinds = kinds + (Conv1D,)
    except ImportError:
        pass
    output = model.get_output_embeddings()
    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules()
             if isinstance(mod, kinds) and mod is not output}
    if not names:
        found = sorted({type(m).__name__ for m in model.modules() if m is not output})
        raise LoraTargetError(getattr(model.config, "model_type", type(model).__name__), found)
    return sorted(names)


def apply_strategy(model, cfg: TrainConfig):
    """Full fine-tuning (every weight trains) or LoRA (adapters on every linear layer); return the model
    to train."""
    if cfg.model.lora:
        targets = lora_targets(model)
        peft = base_models.require("peft")
        lora = peft.LoraConfig(r=cfg.model.lora_r, lora_alpha=cfg.model.lora_alpha,
                               lora_dropout=cfg.model.lora_dropout, target_modules=targets,
                               task_type="CAUSAL_LM")
        import warnings

        with warnings.catch_warnings():
            # peft warns that GPT-2's Conv1D needs fan_in_fan_out, then sets it itself.
            warnings.simplefilter("ignore", UserWarning)
            model = peft.get_peft_model(model, lora)
    if cfg.model.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if cfg.model.freeze_layers:
        freeze_lower_layers(model, cfg.model.freeze_layers)
    return model


def transformer_blocks(model) -> list:
    """The model's stack of transformer blocks: the outermost ``nn.ModuleList`` as long as the config's
    number of layers (not, say, a longer list of experts inside each block), else the longest one."""
    import torch.nn as nn

    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList)]
    config = getattr(model, "config", None)
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None)
    same = [m for m in lists if len(m) == layers]
    if same:
        return list(same[0])
    return list(max(lists, key=len)) if lists else []


def freeze_lower_layers(model, n: float) -> int:
    """Fix the lowest ``n`` blocks (below 1: that share of them) and cut the graph below the first one
    left, so that backward stops there; return how many were fixed."""
    blocks = transformer_blocks(model)
    share = 0 < n < 1
    n = int(len(blocks) * n + 1e-9) if share else int(n)
    if n == 0:
        return 0
    if n >= len(blocks):
        raise UsageError(f"--freeze-layers {n}: the model has {len(blocks)} transformer blocks; "
                         f"fix fewer than {len(blocks)}")
    for block in blocks[:n]:
        block.requires_grad_(False)
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    if outputs is None or inputs.weight is not outputs.weight:
        inputs.requires_grad_(False)  # no gradient reaches it any more

    def detach_input(_module, args, kwargs):
        # The blocks take the hidden states first, by position or by name.
        if args:
            return (args[0].detach(),) + tuple(args[1:]), kwargs
        if "hidden_states" in kwargs:
            kwargs["hidden_states"] = kwargs["hidden_states"].detach()
        return args, kwargs

    blocks[n].register_forward_pre_hook(detach_input, with_kwargs=True)
    return n


def trainable(model) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


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


# --- checkpoints -------------------------------------------------------------------------------------


def checkpoint_dirs(output: Path) -> list[Path]:
    root = output / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted((p for p in root.glob("step-*") if (p / "state.pt").is_file()), key=lambda p: p.name)


def save_checkpoint(output: Path, step: int, model, optimizer, scaler, extra: dict[str, Any],
                    best_state: dict | None) -> Path:
    """Write ``checkpoints/step-N`` atomically (temporary folder, then rename) and drop older ones."""
    import torch

    root = output / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    state = {
        "step": step,
        "weights": {n: p.detach().cpu() for n, p in trainable(model).items()},
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
        **extra,
    }
    torch.save(state, tmp / "state.pt")
    if best_state is not None:
        torch.save(best_state, tmp / "best.pt")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in checkpoint_dirs(output):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict | None]:
    import torch

    state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    best = torch.load(path / "best.pt", map_location="cpu") if (path / "best.pt").is_file() else None
    return state, best


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


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    os.replace(tmp, path)


def default_output(stats: dict[str, Any]) -> Path:
    return paths.bots_dir() / stats["bot"]


def train(dataset: Any, output: str | Path | None = None, config: TrainConfig | None = None, *,
          resume: bool = False, progress: bool = False,
          on_log: Callable[[dict[str, Any]], None] | None = None) -> TrainResult:
    """Fine-tune a base model on a dataset folder and write a complete model folder.

    Args:
        dataset: a dataset folder from ``prepare`` (a path, or the ``Dataset`` it returned).
        output: the model folder (default: ``$HUGGINGTWEETS_HOME/bots/<bot name>``).
        config: the resolved settings (default: the ``default`` recipe); see ``resolve_config``.
        resume: continue from the last checkpoint in ``output/checkpoints``.
        progress: show a progress bar on stderr (loss, tokens/s, time left).
        on_log: called with each logged record (training loss every few steps, each evaluation).
    Returns:
        The folder, the resolved config and the metrics.
    Raises:
        DatasetError: the dataset folder is missing or malformed.
        BaseModelError: the base model cannot be found or loaded.
        TrainingDataError: too little text for one block.
        CheckpointError: ``resume`` without a checkpoint, or with one made with other settings; or old
            checkpoints without ``resume``.
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
        return _train(dataset, output, cfg, resume, progress, on_log, d, started)
    finally:
        if d.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()


def _train(dataset, output, cfg: TrainConfig, resume: bool, progress: bool, on_log, d: Dist,
           started: float) -> TrainResult:
    import torch

    folder = Path(getattr(dataset, "path", dataset))
    from ..dataset.build import load_stats

    stats = load_stats(folder)
    out = Path(output) if output else default_output(stats)
    if out.is_dir() and any(out.iterdir()) and not (out / CONFIG_FILE).is_file() and \
            not (out / CHECKPOINTS).is_dir():
        # Saving replaces weight files; never in a folder that holds something else.
        raise UsageError(f"{out} exists and is not a model folder written by huggingtweets; pass a new or "
                         f"empty folder with -o")
    checkpoints = checkpoint_dirs(out)
    if resume and not checkpoints:
        raise CheckpointError(f"--resume: no checkpoint in {out / CHECKPOINTS}; run without --resume to "
                              f"start training")
    if not resume and checkpoints:
        raise CheckpointError(f"{out} has a checkpoint of an unfinished run ({checkpoints[-1].name}): add "
                              f"--resume to continue it, or delete {out / CHECKPOINTS} to start over")

    if not torch.cuda.is_available() or cfg.run.device == "cpu":
        keep_freed_memory()
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    elif d.world > 1 and not torch.cuda.is_available():
        # Processes on one CPU share its cores; more threads than cores slows every one of them.
        local = int(os.environ.get("LOCAL_WORLD_SIZE", d.world))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    device = resolve_device(cfg, d)
    cfg.run.device = device.type
    cfg.run.precision = resolve_precision(cfg.run.precision, device)

    ref = base_models.resolve(cfg.model.base_model)
    if ref.kind == "embedded" and d.world > 1:
        # One process converts the embedded model on first use; the others then load its folder.
        if d.main:
            base_models.convert_embedded(Path(ref.location))
        d.barrier()
    model, tokenizer = base_models.load(ref)
    eot, eot_id, eot_why = base_models.end_of_text_token(tokenizer)
    max_length = model_max_length(model, tokenizer)
    posts = load_posts(folder, tokenizer)
    if cfg.data.block_size == 0:
        cfg.data.block_size = fit_block_size(posts.train, max_length)
    elif cfg.data.block_size > max_length:
        cfg.data.block_size = max_length
    schedule = build_schedule(posts.train, eot_id, cfg.data.block_size, cfg.data.epochs, cfg.data.packing,
                              cfg.data.drop_remainder, cfg.run.seed)
    batch = cfg.optim.batch_size
    per_epoch = [steps_in(len(e), batch * d.world) for e in schedule.epochs]
    natural = sum(per_epoch)
    total = min(natural, cfg.run.max_steps) if cfg.run.max_steps else natural
    epoch_of, ends = _epoch_index(per_epoch, total)

    torch.manual_seed(cfg.run.seed)
    model.config.use_cache = False
    model = apply_strategy(model, cfg)
    model.to(device)
    model.train()
    params = trainable(model)
    decay = [p for p in params.values() if p.ndim >= 2]
    no_decay = [p for p in params.values() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.optim.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.optim.learning_rate, betas=(0.9, 0.999), eps=1e-8,
        # One fused kernel over all weights: on this project's 2-core CPU an AdamW step over the 135M
        # embedded model took 0.09 s fused against 0.3-0.8 s as a Python loop over tensors (bench/README.md).
        **({"fused": True} if device.type in ("cuda", "cpu") else {}))
    scaler = torch.amp.GradScaler("cuda") if cfg.run.precision == "fp16" else None
    autocast = autocast_for(cfg.run.precision, device)
    runner = model
    if d.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        # With blocks fixed, weights below them (GPT-2's position embeddings) get no gradient.
        runner = DDP(model, device_ids=[device.index] if device.type == "cuda" else None,
                     find_unused_parameters=bool(cfg.model.freeze_layers))

    fingerprint = cfg.fingerprint()
    step, tokens_seen, train_seconds, history = 0, 0, 0.0, []
    best: dict[str, Any] = {"loss": None, "step": None, "eval": None}
    best_state: dict | None = None
    if resume:
        state, best_state = load_checkpoint(checkpoints[-1])
        if state.get("fingerprint") != fingerprint or state.get("dataset_hash") != stats.get("hash"):
            raise CheckpointError(
                f"{checkpoints[-1]} was made with other settings or another dataset; resume with the same "
                f"command and options, or delete {out / CHECKPOINTS} to start over")
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(state["weights"][n].to(p.device))
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"].get("cuda") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        step, tokens_seen = state["step"], state["tokens_seen"]
        train_seconds, history, best = state["train_seconds"], state["history"], state["best"]

    def eval_now():
        return evaluate(model, posts.valid, eot_id, posts.valid_chars, device=device, autocast=autocast,
                        max_length=max_length, batch_tokens=cfg.run.eval_batch_tokens, rank=d.rank,
                        world=d.world)

    def log(record: dict[str, Any]) -> None:
        history.append(record)
        if on_log is not None and d.main:
            on_log(record)

    bar = None
    if progress and d.main:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=step, unit="step", file=sys.stderr, dynamic_ncols=True,
                   desc=stats["bot"], leave=False)
        bar.write(describe(cfg) + f"; {total} steps of {batch * d.world} x {cfg.data.block_size} tokens"
                  + (f" on {d.world} processes" if d.world > 1 else ""), file=sys.stderr)
    log_every = max(1, min(10, total // 20))
    last_checkpoint = checkpoints[-1] if resume else None
    last_checkpoint_time = time.monotonic()
    window_tokens, window_start = 0, time.perf_counter()
    last_eval: EvalResult | None = None
    last_eval_step = -1
    smooth = None

    def checkpoint(at: int) -> Path | None:
        nonlocal last_checkpoint, last_checkpoint_time
        if d.main:
            extra = {"fingerprint": fingerprint, "dataset_hash": stats.get("hash"), "tokens_seen": tokens_seen,
                     "train_seconds": train_seconds, "history": history, "best": best,
                     "config": cfg.to_dict()}
            last_checkpoint = save_checkpoint(out, at, model, optimizer, scaler, extra,
                                              best_state if best["step"] not in (None, at) else None)
        d.barrier()
        last_checkpoint_time = time.monotonic()
        return last_checkpoint

    try:
        with _StopFlag() as stop:
            while step < total:
                t0 = time.perf_counter()
                epoch, in_epoch = epoch_of(step)
                blocks = batch_blocks(schedule.epochs[epoch], in_epoch, batch, d.rank, d.world)
                inputs = {k: v.to(device) for k, v in collate(blocks, eot_id, cfg.data.isolate_posts).items()}
                n_real = int((inputs["labels"] != -100).sum())
                lr = lr_at(step, total, cfg)
                for g in optimizer.param_groups:
                    g["lr"] = lr
                with autocast:
                    loss = runner(**inputs, use_cache=False).loss
                # One small all-reduce per step shares the loss, the token count and a stop request, so
                # that every process sees a NaN or a Ctrl-C at the same step and none waits forever.
                shared = torch.tensor([loss.item(), float(n_real), float(stop.set)], dtype=torch.float64)
                if d.world > 1:
                    import torch.distributed as dist

                    shared = shared.to(device) if device.type == "cuda" else shared
                    dist.all_reduce(shared)
                    shared = shared.cpu()
                    shared[0] /= d.world
                loss_value, n_tokens, stop_requested = float(shared[0]), int(shared[1]), bool(shared[2])
                if not math.isfinite(loss_value):
                    raise TrainingDivergedError(step + 1, loss_value, str(last_checkpoint) if last_checkpoint
                                                else None)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if cfg.optim.max_grad_norm > 0:
                    norm = torch.nn.utils.clip_grad_norm_(list(params.values()), cfg.optim.max_grad_norm)
                    if scaler is None and not torch.isfinite(norm):
                        raise TrainingDivergedError(step + 1, float(norm), str(last_checkpoint)
                                                    if last_checkpoint else None)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                tokens_seen += n_tokens
                window_tokens += n_tokens
                train_seconds += time.perf_counter() - t0
                smooth = loss_value if smooth is None else 0.9 * smooth + 0.1 * loss_value
                if step % log_every == 0 or step == total:
                    now = time.perf_counter()
                    rate = window_tokens / max(now - window_start, 1e-9)
                    log({"step": step, "epoch": round(epoch + (in_epoch + 1) / per_epoch[epoch], 3),
                         "loss": round(loss_value, 4), "lr": lr, "tokens_per_second": round(rate, 1)})
                    window_tokens, window_start = 0, now
                    if bar is not None:
                        bar.set_postfix(loss=f"{smooth:.3f}", tok_s=f"{rate:.0f}", refresh=False)
                if bar is not None:
                    bar.update(1)

                at_eval = (cfg.run.eval_steps and step % cfg.run.eval_steps == 0) or \
                    (not cfg.run.eval_steps and step in ends) or step == total
                if at_eval and posts.valid:
                    last_eval, last_eval_step = eval_now(), step
                    log({"step": step, "eval_loss": round(last_eval.loss, 5),
                         "eval_bits_per_char": round(last_eval.bits_per_char, 5)})
                    if bar is not None:
                        bar.write(f"step {step}: validation loss {last_eval.loss:.4f}, "
                                  f"{last_eval.bits_per_char:.4f} bits/char", file=sys.stderr)
                    if cfg.run.best_on_validation and (best["loss"] is None or last_eval.loss < best["loss"]):
                        best = {"loss": last_eval.loss, "step": step, "eval": last_eval.to_dict()}
                        if step != total:
                            best_state = {n: p.detach().to("cpu", copy=True) for n, p in params.items()}
                # Alone, a Ctrl-C during this step stops after it; under DDP, where the processes must
                # agree, after the step whose all-reduce carried it.
                if stop_requested or (d.world == 1 and stop.set):
                    raise TrainingInterrupted(step, str(checkpoint(step)) if d.main else None)
                due = (cfg.run.checkpoint_steps and step % cfg.run.checkpoint_steps == 0) or (
                    cfg.run.checkpoint_minutes
                    and time.monotonic() - last_checkpoint_time > 60 * cfg.run.checkpoint_minutes)
                if d.world > 1 and cfg.run.checkpoint_minutes and not cfg.run.checkpoint_steps:
                    due = _agree(due, device)
                if due and step < total:
                    checkpoint(step)
    except KeyboardInterrupt:
        # A second Ctrl-C: stop now; the last interval checkpoint, if any, is still there.
        raise TrainingInterrupted(step, str(last_checkpoint) if last_checkpoint else None) from None
    finally:
        if bar is not None:
            bar.close()

    final_eval = last_eval
    if cfg.run.best_on_validation and best["step"] is not None and best["step"] != step and best_state:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(best_state[n].to(p.device))
        final_eval = EvalResult(**best["eval"])
    if final_eval is None and posts.valid and last_eval_step != step:
        final_eval = eval_now()

    wall = time.perf_counter() - started
    metrics = {
        "eval_loss": final_eval.loss if final_eval else None,
        "eval_bits_per_char": final_eval.bits_per_char if final_eval else None,
        "eval_tokens": final_eval.tokens if final_eval else 0,
        "eval_chars": final_eval.chars if final_eval else 0,
        "best_step": best["step"] if cfg.run.best_on_validation else None,
        "steps": step,
        "epochs": round(step / natural * cfg.data.epochs, 3),
        "train_tokens": tokens_seen,
        "train_seconds": round(train_seconds, 2),
        "wall_seconds": round(wall, 2),
        "tokens_per_second": round(tokens_seen / max(train_seconds, 1e-9), 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "seed": cfg.run.seed,
        "world_size": d.world,
        "log_history": history,
    }
    if d.main:
        _save_output(out, model, tokenizer, cfg, ref, (eot, eot_id, eot_why), folder, stats, posts, metrics,
                     schedule.block_size, max_length)
    d.barrier()
    return TrainResult(out, cfg, metrics)


def _agree(flag: bool, device) -> bool:
    """Under DDP, a time-based decision taken by the first process, shared with the others."""
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(flag)], device=device if device.type == "cuda" else "cpu")
    dist.broadcast(t, 0)
    return bool(t.item())


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


def model_max_length(model, tokenizer) -> int:
    """The longest sequence the model takes: the smallest limit its config and tokenizer state."""
    limits = [getattr(model.config, k, None) for k in ("max_position_embeddings", "n_positions", "n_ctx")]
    limits.append(getattr(tokenizer, "model_max_length", None))
    known = [int(x) for x in limits if isinstance(x, int) and 0 < x < 10**7]
    return min(known) if known else 1024


def _save_output(out: Path, model, tokenizer, cfg: TrainConfig, ref, eot_info, folder: Path,
                 stats: dict[str, Any], posts: Posts, metrics: dict[str, Any], block_size: int,
                 max_length: int) -> None:
    """The folder is a complete Hugging Face model repository: weights, tokenizer, config with the
    original's generation defaults, plus stats.json, training_config.json, metrics.json and the copy
    index."""
    import torch
    from transformers import GenerationConfig

    eot, eot_id, eot_why = eot_info
    out.mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob("model*.safetensors")) + list(out.glob("adapter_*")) + \
            list(out.glob("pytorch_model*.bin")):
        stale.unlink()
    if cfg.model.lora and cfg.model.merge_lora:
        model = model.merge_and_unload()
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config
    config.use_cache = True
    # pipeline("text-generation") reads `prefix` from the model config and puts it before every prompt.
    config.prefix = eot
    config.eos_token_id = eot_id
    config.pad_token_id = eot_id
    settings = {**GENERATION_DEFAULTS, "max_length": min(GENERATION_DEFAULTS["max_length"], max_length)}
    gen = GenerationConfig(**settings, eos_token_id=eot_id, pad_token_id=eot_id,
                           bos_token_id=getattr(config, "bos_token_id", None))
    base.generation_config = gen
    tokenizer.eos_token = eot
    tokenizer.pad_token = eot
    tokenizer.model_max_length = max_length
    had_card = (out / "README.md").exists()
    with torch.no_grad():
        model.save_pretrained(out)
    if cfg.model.lora and not cfg.model.merge_lora:
        # An adapter folder: loading it reads the base model from adapter_config.json. peft leaves a
        # placeholder model card, which the real card will replace.
        gen.save_pretrained(out)
        if not had_card:
            (out / "README.md").unlink(missing_ok=True)
    tokenizer.save_pretrained(out)
    shutil.copyfile(folder / "stats.json", out / "stats.json")
    texts = [r["text"] for name in ("train.jsonl", "valid.jsonl") for r in _rows(folder / name)]
    CopyIndex.build(texts).save(out)
    import transformers

    _write_json(out / CONFIG_FILE, {
        "huggingtweets_version": __version__,
        "config": cfg.to_dict(),
        "base_model": ref.to_dict(),
        "end_of_text": {"token": eot, "id": eot_id, "why": eot_why},
        "block_size": block_size,
        # The folder's path lets `huggingtweets evaluate` find the dataset again (publishing writes the
        # home folder as ~).
        "dataset": {"bot": stats.get("bot"), "hash": stats.get("hash"), "path": str(folder.resolve()),
                    "train_posts": len(posts.train), "valid_posts": len(posts.valid)},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    })
    _write_json(out / METRICS_FILE, metrics)
    if not cfg.run.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)


def _rows(path: Path) -> list[dict[str, Any]]:
    from ..dataset.build import read_jsonl

    return read_jsonl(path)
