"""The bot folder's contract: the names of its files, how a bot is found, and what may leave the machine.

`huggingtweets train` writes a complete Hugging Face model repository plus this project's own files; every
later stage (generate, evaluate, the card, publish, tracking, the web app) finds them here by name instead
of spelling the names again:

    bots/jane/
        config.json, generation_config.json, model.safetensors, tokenizer files   (transformers)
        stats.json            the dataset's counts and settings (a copy of the dataset folder's)
        training_config.json  the resolved training settings, the base model, the dataset's path and hash
        metrics.json          validation loss and bits per character, the evaluation, the log
        copy_index.bin        salted hashes of the training posts' word windows (no text)
        README.md, predictions.png, predictions.json   the model card and its preview
        avatar-HANDLE.jpg     each account's avatar, when one is stored locally (the card links it)
        tracking.json, hub.json                        the W&B runs and the Hub repository, once made
        checkpoints/          only while training (or with --keep-checkpoints)
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from . import paths
from .dataset.folder import DatasetStats
from .errors import AmbiguousNameError, DatasetError, ModelFolderError

CARD_FILE = "README.md"
STATS_FILE = "stats.json"
CONFIG_FILE = "training_config.json"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.json"
PREVIEW_FILE = "predictions.png"
TRACKING_FILE = "tracking.json"
HUB_FILE = "hub.json"
COPY_INDEX_FILE = "copy_index.bin"
AVATAR_PREFIX = "avatar-"
AVATAR_PATTERN = AVATAR_PREFIX + "*.jpg"
"""The accounts' avatars beside the card (``card.avatars``: ``avatar-HANDLE.jpg``, re-encoded by Pillow)."""
CHECKPOINTS = "checkpoints"

WEIGHT_PATTERNS = ("model.safetensors", "model-*-of-*.safetensors", "model.safetensors.index.json",
                   "pytorch_model.bin", "pytorch_model-*-of-*.bin", "pytorch_model.bin.index.json",
                   "adapter_model.safetensors")
"""Weight files as transformers and peft write them (one file, shards and their index, adapters)."""
CONFIG_PATTERNS = ("config.json", "generation_config.json", "adapter_config.json")
TOKENIZER_PATTERNS = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                      "merges.txt", "vocab.txt", "tokenizer.model", "spiece.model", "added_tokens.json",
                      "chat_template.jinja", "chat_template.json")
CARD_PATTERNS = (CARD_FILE, PREVIEW_FILE, AVATAR_PATTERN, STATS_FILE, CONFIG_FILE, METRICS_FILE)
ALLOW_PATTERNS = WEIGHT_PATTERNS + CONFIG_PATTERNS + TOKENIZER_PATTERNS + CARD_PATTERNS
"""The files that may be published: never the posts, checkpoints, optimizer or RNG state, the copy index,
tokens or the tracker's files."""
SCRUBBED = (STATS_FILE, CONFIG_FILE, METRICS_FILE)
"""JSON files written by the pipeline, which leave the machine only through ``redact.scrub`` (they may
hold paths and settings)."""


DEFAULT_PROMPT = "My dream is"
"""The prompt of the original's cards and widget."""


def is_weight_file(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pat) for pat in WEIGHT_PATTERNS)


def app_bot_folders() -> list[Path]:
    """The bot folders made in the web app: ``$HUGGINGTWEETS_HOME/app/sessions/<id>/bots/<name>``."""
    root = paths.app_sessions_dir()
    return sorted(p for p in root.glob("*/bots/*") if p.is_dir()) if root.is_dir() else []


def bot_path(folder: str | Path) -> Path:
    """The path a bot's folder or name points at, unchecked: ``folder`` itself, or for a bare name that is
    not a path here, ``$HUGGINGTWEETS_HOME/bots/NAME`` when that folder exists, else the web app's bot of
    that name (``app_bot_folders``).

    Raises:
        AmbiguousNameError: the name is not under ``bots/`` and several web-app bots have it.
    """
    path = Path(folder).expanduser()
    name = str(folder)
    if path.exists() or os.sep in name or "/" in name or not name:
        return path
    if (paths.bots_dir() / name).is_dir():
        return paths.bots_dir() / name
    found = [p for p in app_bot_folders() if p.name == name]
    if len(found) > 1:
        raise AmbiguousNameError(name, "web-app bot", [str(p) for p in found])
    return found[0] if found else path


def resolve_bot_folder(folder: str | Path) -> Path:
    """A bot's folder: a path, or the name of a bot under ``$HUGGINGTWEETS_HOME/bots``.

    Raises:
        ModelFolderError: no such folder, or not a trained bot (no config, no weights or no ``stats.json``).
    """
    path = bot_path(folder)
    if not path.is_dir():
        raise ModelFolderError(f"{folder}: no such bot folder; train a bot with `huggingtweets train SOURCE` "
                               f"(bots live in {paths.bots_dir()})")
    names = {p.name for p in path.iterdir() if p.is_file()}
    missing = []
    if not names & {"config.json", "adapter_config.json"}:
        missing.append("config.json")
    if not any(is_weight_file(n) for n in names):
        missing.append("model weights (model.safetensors)")
    if STATS_FILE not in names:
        missing.append(STATS_FILE)
    if missing:
        raise ModelFolderError(f"{path} is not a trained bot (missing {', '.join(missing)}); pass the folder "
                               f"that `huggingtweets train` wrote")
    return path


def publishable_files(folder: str | Path) -> tuple[list[Path], list[str]]:
    """(files to upload, names left out) of a model folder: top-level files on the allow-list only;
    links and folders are always left out (names of folders end with ``/``)."""
    folder = Path(folder)
    keep, skipped = [], []
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.is_symlink() and any(fnmatch.fnmatch(p.name, pat) for pat in ALLOW_PATTERNS):
            keep.append(p)
        else:
            skipped.append(p.name + ("/" if p.is_dir() else ""))
    return keep, skipped


# --- the files' typed contents -------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    """A JSON file's content, or ``None`` when it is missing or not JSON (optional files are read so)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _typed(kind, d: Any):
    """``kind(**d)`` with the keys ``kind`` declares whose values have the declared simple type."""
    if not isinstance(d, dict):
        return None
    simple = {"int": int, "float": (int, float), "str": str, "bool": bool}
    kw = {}
    for f in fields(kind):
        v = d.get(f.name)
        want = next((t for name, t in simple.items() if str(f.type).startswith(name)), None)
        if v is None or (want is not None and (not isinstance(v, want) or
                                               (isinstance(v, bool) and want is not bool))):
            continue
        kw[f.name] = v
    return kind(**kw)


@dataclass
class TrainedDataset:
    """``training_config.json``'s ``dataset``: which dataset folder the bot was trained on."""

    bot: str | None = None
    hash: str | None = None
    path: str | None = None
    """Absolute path at training time (publishing writes the home folder as ``~``)."""
    train_posts: int | None = None
    valid_posts: int | None = None


@dataclass
class TrainingRecord:
    """``training_config.json``: the settings after ``auto`` values were resolved, and what they ran on.

    ``config`` is ``TrainConfig.to_dict()`` (``training.recipes``); ``base_model`` is
    ``BaseModelRef.to_dict()`` (``name``, ``kind``: ``embedded``/``hub``/``folder``, ``location``).
    """

    config: dict[str, Any] = field(default_factory=dict)
    base_model: dict[str, Any] = field(default_factory=dict)
    block_size: int | None = None
    """The block size training used (``config.data.block_size`` 0 means "fit it to the posts")."""
    end_of_text: dict[str, Any] = field(default_factory=dict)
    dataset: TrainedDataset = field(default_factory=TrainedDataset)
    versions: dict[str, str] = field(default_factory=dict)
    huggingtweets_version: str | None = None

    @classmethod
    def from_dict(cls, d: Any) -> "TrainingRecord | None":
        rec = _typed(cls, d)
        if rec is None:
            return None
        for name in ("config", "base_model", "end_of_text", "versions"):
            value = d.get(name)
            setattr(rec, name, value if isinstance(value, dict) else {})
        rec.dataset = _typed(TrainedDataset, d.get("dataset")) or TrainedDataset()
        return rec

    def setting(self, group: str, name: str) -> Any:
        """One resolved setting, e.g. ``setting("optim", "learning_rate")``; ``None`` when absent."""
        section = self.config.get(group) if group else self.config
        return section.get(name) if isinstance(section, dict) else None


@dataclass
class BotMetrics:
    """``metrics.json``: what training measured (``training.loop``) and, later, the evaluation."""

    eval_loss: float | None = None
    """Validation loss, nats per token."""
    eval_bits_per_char: float | None = None
    eval_tokens: int | None = None
    eval_chars: int | None = None
    best_step: int | None = None
    steps: int | None = None
    epochs: float | None = None
    train_tokens: int | None = None
    train_seconds: float | None = None
    wall_seconds: float | None = None
    tokens_per_second: float | None = None
    peak_rss_mb: float | None = None
    seed: int | None = None
    world_size: int | None = None
    evaluation: dict[str, Any] | None = None
    """``Evaluation.to_dict(posts=False)`` (``huggingtweets.evaluation``), once measured."""

    @classmethod
    def from_dict(cls, d: Any) -> "BotMetrics | None":
        m = _typed(cls, d)
        if m is not None:
            m.evaluation = d.get("evaluation") if isinstance(d.get("evaluation"), dict) else None
        return m


@dataclass
class Tracking:
    """``tracking.json``: the W&B runs of the bot (``tracking.write_tracking_info``)."""

    mode: str | None = None
    """``online`` or ``offline``; ``None``: not tracked."""
    urls: dict[str, str] = field(default_factory=dict)
    """Run kind (``preprocess``, ``train``) -> its W&B page, for online runs (unchecked text)."""
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Any) -> "Tracking":
        if not isinstance(d, dict):
            return cls()
        runs = d.get("runs") if isinstance(d.get("runs"), dict) else {}
        urls = {k: r["url"] for k, r in runs.items()
                if isinstance(r, dict) and isinstance(r.get("url"), str)}
        return cls(d.get("mode") if d.get("mode") in ("online", "offline") else None, urls, d)


@dataclass
class Predictions:
    """``predictions.json``: the posts generated for the card, and those the preview shows."""

    prompt: str = DEFAULT_PROMPT
    texts: list[str] = field(default_factory=list)
    picked: list[int] | None = None
    """1-based numbers of the posts the preview shows; ``None``: the first ones."""

    @property
    def shown(self) -> list[str]:
        return self.texts if self.picked is None else [self.texts[i - 1] for i in self.picked]

    @classmethod
    def from_json(cls, data: Any) -> "Predictions":
        if isinstance(data, list):  # the original's layout: a bare list of posts
            return cls(texts=[str(p) for p in data if isinstance(p, str)])
        if not isinstance(data, dict):
            return cls()
        texts = [p if isinstance(p, str) else p.get("text", "") for p in data.get("predictions", [])
                 if isinstance(p, (str, dict))]
        texts = [p for p in texts if isinstance(p, str) and p]
        picked = data.get("picked")
        if not (isinstance(picked, list) and picked
                and all(isinstance(i, int) and 1 <= i <= len(texts) for i in picked)):
            picked = None
        return cls(str(data.get("prompt") or DEFAULT_PROMPT), texts, picked)


@dataclass
class BotFolder:
    """A trained bot's folder, read through typed views of its files.

    ``stats`` is required (a bot without it is not a bot); every other file is optional and read
    tolerantly: a missing or malformed file reads as ``None`` (or empty), so that a folder from an
    older version still opens.

        bot = BotFolder.open("jane")          # a name under ~/.huggingtweets/bots, or a path
        bot.stats.users[0].kept, bot.training.block_size, bot.metrics.eval_bits_per_char
    """

    path: Path

    @classmethod
    def open(cls, folder: str | Path) -> "BotFolder":
        """Raises ``ModelFolderError`` (see ``resolve_bot_folder``)."""
        return cls(resolve_bot_folder(folder))

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def stats(self) -> DatasetStats:
        """The dataset's ``stats.json`` copied at training time.

        Raises:
            ModelFolderError: missing or malformed.
        """
        try:
            return DatasetStats.read(self.path / STATS_FILE)
        except DatasetError:
            raise ModelFolderError(f"{self.path}: no readable {STATS_FILE} with the accounts; pass the folder "
                                   f"that `huggingtweets train` wrote") from None

    @property
    def training(self) -> TrainingRecord | None:
        return TrainingRecord.from_dict(read_json(self.path / CONFIG_FILE))

    @property
    def metrics(self) -> BotMetrics | None:
        return BotMetrics.from_dict(read_json(self.path / METRICS_FILE))

    @property
    def tracking(self) -> Tracking:
        return Tracking.from_dict(read_json(self.path / TRACKING_FILE))

    @property
    def hub_repo(self) -> tuple[str | None, str | None]:
        """(repo id, endpoint) from ``hub.json`` once published, else ``(None, None)``."""
        data = read_json(self.path / HUB_FILE)
        if not isinstance(data, dict):
            return None, None
        repo = data.get("repo_id") if isinstance(data.get("repo_id"), str) else None
        endpoint = data.get("endpoint") if isinstance(data.get("endpoint"), str) else None
        return repo, endpoint

    @property
    def predictions(self) -> Predictions:
        return Predictions.from_json(read_json(self.path / PREDICTIONS_FILE))

    @property
    def has_preview(self) -> bool:
        return (self.path / PREVIEW_FILE).is_file()

    def publishable_files(self) -> tuple[list[Path], list[str]]:
        return publishable_files(self.path)
