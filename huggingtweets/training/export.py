"""The end of a run: the model folder written as a complete Hugging Face model repository, with the
original's sampling settings stored in it and this project's own files beside the weights
(``bot_folder`` names them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import orjson

from .. import __version__
from ..bot_folder import CHECKPOINTS, CONFIG_FILE, METRICS_FILE, STATS_FILE
from ..dataset.folder import DatasetFolder, DatasetStats
from .copies import CopyIndex
from .data import Posts
from .recipes import TrainConfig

# The original's generation settings (docs/background.md, "The original recipe"); the end-of-text token
# becomes the prefix.
GENERATION_DEFAULTS = {"do_sample": True, "top_p": 0.95, "temperature": 1.0, "min_length": 10,
                       "max_length": 160}


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY) + b"\n")
    os.replace(tmp, path)



def model_max_length(model, tokenizer) -> int:
    """The longest sequence the model takes: the smallest limit its config and tokenizer state."""
    limits = [getattr(model.config, k, None) for k in ("max_position_embeddings", "n_positions", "n_ctx")]
    limits.append(getattr(tokenizer, "model_max_length", None))
    known = [int(x) for x in limits if isinstance(x, int) and 0 < x < 10**7]
    return min(known) if known else 1024


def save_output(out: Path, model, tokenizer, cfg: TrainConfig, ref, eot_info, folder: Path,
                 stats: DatasetStats, posts: Posts, metrics: dict[str, Any], block_size: int,
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
    shutil.copyfile(folder / STATS_FILE, out / STATS_FILE)
    ds = DatasetFolder(folder, stats)
    texts = [r["text"] for split in ("train", "valid") for r in ds.rows(split)]
    CopyIndex.build(texts).save(out)
    import transformers

    write_json(out / CONFIG_FILE, {
        "huggingtweets_version": __version__,
        "config": cfg.to_dict(),
        "base_model": ref.to_dict(),
        "end_of_text": {"text": eot, "id": eot_id, "why": eot_why},
        "block_size": block_size,
        # The folder's path lets `huggingtweets evaluate` find the dataset again (publishing writes the
        # home folder as ~).
        "dataset": {"bot": stats.bot, "hash": stats.hash, "path": str(folder.resolve()),
                    "train_posts": len(posts.train), "valid_posts": len(posts.valid)},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
    })
    write_json(out / METRICS_FILE, metrics)
    if not cfg.run.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)

