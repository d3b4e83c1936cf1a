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
        tracking.json, hub.json                        the W&B runs and the Hub repository, once made
        checkpoints/          only while training (or with --keep-checkpoints)
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from . import paths
from .errors import ModelFolderError

CARD_FILE = "README.md"
STATS_FILE = "stats.json"
CONFIG_FILE = "training_config.json"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.json"
PREVIEW_FILE = "predictions.png"
TRACKING_FILE = "tracking.json"
HUB_FILE = "hub.json"
COPY_INDEX_FILE = "copy_index.bin"
CHECKPOINTS = "checkpoints"

WEIGHT_PATTERNS = ("model.safetensors", "model-*-of-*.safetensors", "model.safetensors.index.json",
                   "pytorch_model.bin", "pytorch_model-*-of-*.bin", "pytorch_model.bin.index.json",
                   "adapter_model.safetensors")
"""Weight files as transformers and peft write them (one file, shards and their index, adapters)."""
CONFIG_PATTERNS = ("config.json", "generation_config.json", "adapter_config.json")
TOKENIZER_PATTERNS = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                      "merges.txt", "vocab.txt", "tokenizer.model", "spiece.model", "added_tokens.json",
                      "chat_template.jinja", "chat_template.json")
CARD_PATTERNS = (CARD_FILE, PREVIEW_FILE, STATS_FILE, CONFIG_FILE, METRICS_FILE)
ALLOW_PATTERNS = WEIGHT_PATTERNS + CONFIG_PATTERNS + TOKENIZER_PATTERNS + CARD_PATTERNS
"""The files that may be published: never the posts, checkpoints, optimizer or RNG state, the copy index,
tokens or the tracker's files."""
SCRUBBED = (STATS_FILE, CONFIG_FILE, METRICS_FILE)
"""JSON files written by the pipeline, which leave the machine only through ``redact.scrub`` (they may
hold paths and settings)."""


def is_weight_file(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pat) for pat in WEIGHT_PATTERNS)


def bot_path(folder: str | Path) -> Path:
    """The path a bot's folder or name points at, unchecked: ``folder`` itself, or for a bare name that is
    not a path here, ``$HUGGINGTWEETS_HOME/bots/NAME`` when that folder exists."""
    path = Path(folder).expanduser()
    if not path.exists() and os.sep not in str(folder) and (paths.bots_dir() / str(folder)).is_dir():
        path = paths.bots_dir() / str(folder)
    return path


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
