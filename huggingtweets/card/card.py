"""The model card (``README.md`` of a bot's folder), in the format of the cards the original published.

The card is rendered from ``model_card.md.jinja`` with the facts of one folder, gathered by
``card_data_from_folder``: the accounts and their counts (``stats.json``), the base model and the
hyperparameters (``training_config.json``), the validation metrics and the evaluation (``metrics.json``),
the tracker's runs (``tracking.json``) and, once published, the Hub repository (``hub.json``). Files
written by other steps are read tolerantly, in that one function: a missing file or key leaves its line
out of the card.

A link is written only when it resolves: no W&B link for an offline run, no Hub link before the push.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..bot_folder import (CARD_FILE, HUB_FILE, PREDICTIONS_FILE, PREVIEW_FILE, STATS_FILE,  # noqa: F401
                          TRACKING_FILE)
from ..dataset.counts import EXTRA_ROWS, ROWS, counts_table
from ..errors import ModelFolderError

TRAINING_CONFIG_FILES = ("training_config.json", "train_config.json", "config_resolved.json")
METRICS_FILES = ("metrics.json", "eval_results.json", "all_results.json", "train_results.json")

DEFAULT_PROMPT = "My dream is"
HUB_ENDPOINT = "https://huggingface.co"
PROJECT_URL = "https://github.com/borisdayma/huggingtweets"
REPORT_URL = ("https://wandb.ai/wandb/huggingtweets/reports/"
              "HuggingTweets-Train-a-Model-to-Generate-Tweets--VmlldzoxMTY5MjI")

# Base models whose Hub id and license are known without the network. The embedded model is known by
# the name the training code gives it; Hub ids are matched case-insensitively, with or without owner.
KNOWN_BASE_MODELS: dict[str, tuple[str, str]] = {
    # name or Hub id -> (Hub id, license)
    "smollm2-135m-instruct": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0"),
    "huggingfacetb/smollm2-135m-instruct": ("HuggingFaceTB/SmolLM2-135M-Instruct", "apache-2.0"),
    "huggingfacetb/smollm2-135m": ("HuggingFaceTB/SmolLM2-135M", "apache-2.0"),
    "huggingfacetb/smollm2-360m": ("HuggingFaceTB/SmolLM2-360M", "apache-2.0"),
    "huggingfacetb/smollm2-360m-instruct": ("HuggingFaceTB/SmolLM2-360M-Instruct", "apache-2.0"),
    "huggingfacetb/smollm2-1.7b": ("HuggingFaceTB/SmolLM2-1.7B", "apache-2.0"),
    "huggingfacetb/smollm2-1.7b-instruct": ("HuggingFaceTB/SmolLM2-1.7B-Instruct", "apache-2.0"),
    "gpt2": ("openai-community/gpt2", "mit"),
    "openai-community/gpt2": ("openai-community/gpt2", "mit"),
    "gpt2-medium": ("openai-community/gpt2-medium", "mit"),
    "openai-community/gpt2-medium": ("openai-community/gpt2-medium", "mit"),
    "gpt2-large": ("openai-community/gpt2-large", "mit"),
    "openai-community/gpt2-large": ("openai-community/gpt2-large", "mit"),
    "gpt2-xl": ("openai-community/gpt2-xl", "mit"),
    "openai-community/gpt2-xl": ("openai-community/gpt2-xl", "mit"),
    "distilgpt2": ("distilbert/distilgpt2", "apache-2.0"),
    "distilbert/distilgpt2": ("distilbert/distilgpt2", "apache-2.0"),
    "qwen/qwen2.5-0.5b": ("Qwen/Qwen2.5-0.5B", "apache-2.0"),
    "qwen/qwen2.5-0.5b-instruct": ("Qwen/Qwen2.5-0.5B-Instruct", "apache-2.0"),
    "eleutherai/pythia-70m": ("EleutherAI/pythia-70m", "apache-2.0"),
    "eleutherai/pythia-160m": ("EleutherAI/pythia-160m", "apache-2.0"),
}

# Row labels of the seeds' table, then the counts this version adds when they are not zero.

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$|^[A-Za-z0-9][\w.-]{0,95}$")
_URL = re.compile(r"^https?://[^\s'\"()<>\\]+$")


@dataclass
class Account:
    """One account the bot was trained on, as the card and the preview show it."""

    handle: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    url: str | None = None
    avatar_url: str | None = None
    avatar_path: str | None = None
    network: str | None = None
    unknown: tuple[str, ...] = ()  # counts the source could not tell: shown as "unknown", not 0

    @property
    def initial(self) -> str:
        for ch in self.name + self.handle:
            if ch.isalnum():
                return ch.upper()
        return "?"


@dataclass
class CardData:
    """Every fact the card and the preview show; built by ``card_data_from_folder``."""

    bot: str
    accounts: list[Account]
    base_model_name: str | None = None
    """How the base model is named in the text (``SmolLM2-135M-Instruct``)."""
    base_model_id: str | None = None
    """Its Hub id (``HuggingFaceTB/SmolLM2-135M-Instruct``) when there is one: links and ``base_model``."""
    license: str | None = None
    """The base model's license, which the fine-tuned weights inherit."""
    language: str = "en"
    fine_tuning: str | None = None
    """``full fine-tuning`` or ``LoRA (r=16, alpha=32)``."""
    hyperparameters: dict[str, str] = field(default_factory=dict)
    """Label -> value as shown, in order."""
    metrics: dict[str, str] = field(default_factory=dict)
    """Label -> value as shown, in order."""
    dataset_hash: str | None = None
    prompt: str = DEFAULT_PROMPT
    predictions: list[str] = field(default_factory=list)
    repo_id: str | None = None
    """The Hub repository, once known (publishing fills it in)."""
    endpoint: str = HUB_ENDPOINT
    local_path: str | None = None
    tracking_mode: str | None = None
    """``online``, ``offline`` or None (not tracked)."""
    data_run_url: str | None = None
    train_run_url: str | None = None
    preview_available: bool = False
    """Whether ``predictions.png`` is in the folder (the thumbnail is linked only then)."""
    evaluation: list[tuple[str, str, str]] = field(default_factory=list)
    """The evaluation table: (measure, value, what it means), from ``metrics.json``'s ``evaluation``."""
    evaluation_note: str | None = None
    """The sentence above the evaluation table: what was measured, how."""

    @property
    def is_cyborg(self) -> bool:
        return len(self.accounts) > 1

    @property
    def label(self) -> str:
        return "🤖 AI CYBORG 🤖" if self.is_cyborg else "🤖 AI BOT 🤖"

    @property
    def names(self) -> str:
        return " & ".join(a.name for a in self.accounts)

    @property
    def handles(self) -> list[str]:
        return [a.handle for a in self.accounts]

    @property
    def repo_url(self) -> str | None:
        return f"{self.endpoint}/{self.repo_id}" if self.repo_id else None

    @property
    def thumbnail_url(self) -> str | None:
        return f"{self.repo_url}/resolve/main/{PREVIEW_FILE}" if self.repo_id and self.preview_available else None

    @property
    def base_model_url(self) -> str | None:
        return f"{HUB_ENDPOINT}/{self.base_model_id}" if self.base_model_id else None

    @property
    def model_ref(self) -> str:
        """What ``pipeline(model=...)`` takes: the repo id once published, else the local folder."""
        return self.repo_id or self.local_path or self.bot


# --- reading a folder --------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _first_json(folder: Path, names: Iterable[str]) -> dict[str, Any]:
    for name in names:
        data = _read_json(folder / name)
        if isinstance(data, dict):
            return data
    return {}


def _flatten(d: Mapping[str, Any]) -> dict[str, Any]:
    """Leaf keys of nested mappings, breadth first, so that a top-level (resolved) value wins over a
    nested one of the same name (``block_size`` 512 at the top over ``config.data.block_size`` 0)."""
    out: dict[str, Any] = {}
    queue: list[Mapping[str, Any]] = [d]
    while queue:
        cur = queue.pop(0)
        for k, v in cur.items():
            if isinstance(v, Mapping):
                queue.append(v)
            elif isinstance(k, str) and k not in out and v is not None:
                out[k] = v
    return out


def _pick(flat: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        v = flat.get(k)
        if v is not None and v != "":
            return v
    return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and math.isfinite(v):
        return float(v)
    if isinstance(v, str):
        try:
            f = float(v)
            return f if math.isfinite(f) else None
        except ValueError:
            return None
    return None


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e6):
            return f"{v:.3g}"
        return f"{v:g}" if v == int(v) else f"{v:.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s // 3600} h {round(s % 3600 / 60)} min"


def resolve_base_model(value: Any, folder_hint: str | None = None) -> tuple[str | None, str | None, str | None]:
    """(display name, Hub id, license) of a base model named by the training config.

    ``value`` is a name or Hub id, or a mapping with ``name``/``kind``/``location``-like keys.
    A local folder has no Hub id; its license is read from its own ``README.md`` when it has one.
    """
    name = kind = location = None
    if isinstance(value, Mapping):
        name = _pick(value, "name", "id", "model_id", "name_or_path", "base_model")
        kind = _pick(value, "kind", "type", "source")
        location = _pick(value, "location", "path", "repo_id", "hub_id")
        hub_hint = _pick(value, "hub_id", "repo_id")
    else:
        name, hub_hint = value, None
    name = str(name) if name else None
    license_ = None
    for cand in (hub_hint, name, location if kind == "hub" else None):
        if cand and str(cand).lower() in KNOWN_BASE_MODELS:
            hub_id, license_ = KNOWN_BASE_MODELS[str(cand).lower()]
            return hub_id.split("/")[-1], hub_id, license_
    local = folder_hint or (location if kind in ("folder", "local", "embedded") else None)
    if kind == "hub" or (kind is None and name and _HUB_ID.match(name) and not Path(name).exists()):
        hub_id = str(location if kind == "hub" and location else name)
        if _HUB_ID.match(hub_id):
            return hub_id.split("/")[-1], hub_id, _license_from_readme(local)
    if name or location:
        # A local folder: name it by its last part, never by its full path (a home folder is private).
        shown = Path(str(name or location)).name or str(name)
        return shown, None, _license_from_readme(local or name)
    return None, None, None


def _license_from_readme(folder: str | None) -> str | None:
    if not folder:
        return None
    readme = Path(folder).expanduser() / CARD_FILE
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    m = re.match(r"^---\s*\n(.*?)\n---", text, re.S)
    if not m:
        return None
    lic = re.search(r"^license:\s*([\w.+-]+)\s*$", m.group(1), re.M)
    return lic.group(1) if lic else None


# Hyperparameters shown in the card: label and the key names they may carry, first found wins.
_HYPER = [
    ("Recipe", ("recipe",)),
    ("Learning rate", ("learning_rate", "lr", "peak_learning_rate")),
    ("Schedule", ("schedule", "lr_scheduler_type", "lr_scheduler", "scheduler")),
    ("Warm-up", ("warmup_ratio", "warmup_steps", "warmup")),
    ("Batch size", ("batch_size", "per_device_train_batch_size", "train_batch_size")),
    ("Block size (tokens)", ("block_size", "max_seq_length", "seq_len", "context_length")),
    ("Epochs", ("epochs", "num_train_epochs")),
    ("Weight decay", ("weight_decay",)),
    ("Precision", ("precision", "dtype", "mixed_precision")),
    ("Max steps", ("max_steps",)),
    ("Seed", ("seed", "training_seed")),
]
_ZERO_MEANS_UNSET = {"Block size (tokens)", "Max steps", "Warm-up", "Weight decay"}


def _hyperparameters(flat: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    out: dict[str, str] = {}
    for label, keys in _HYPER:
        v = _pick(flat, *keys)
        if v is None or isinstance(v, (list, dict)):
            continue
        if label in _ZERO_MEANS_UNSET and _num(v) == 0:
            continue
        if label == "Warm-up" and isinstance(v, float) and v < 1:
            out[label] = f"{v:.0%} of the steps"
            continue
        out[label] = _fmt(v)
    lora = flat.get("lora") if "lora" in flat else flat.get("use_lora")
    if lora is True or isinstance(lora, Mapping):
        r, alpha = flat.get("lora_r", flat.get("r")), flat.get("lora_alpha")
        extra = ", ".join(f"{k}={v}" for k, v in (("r", r), ("alpha", alpha)) if v is not None)
        fine_tuning = f"LoRA ({extra})" if extra else "LoRA"
        if flat.get("merge_lora") is True:
            fine_tuning += ", merged into the weights"
    elif lora is False:
        fine_tuning = "full fine-tuning"
    else:
        fine_tuning = None
    return fine_tuning, out


def _metrics(m: Mapping[str, Any]) -> dict[str, str]:
    # The evaluation has a table of its own (and keys such as "tokens" that mean something else there).
    flat = _flatten({k: v for k, v in m.items() if k != "evaluation"})
    out: dict[str, str] = {}
    loss = _num(_pick(flat, "eval_loss", "val_loss", "valid_loss", "validation_loss"))
    if loss is not None:
        out["Validation loss (per token)"] = f"{loss:.4f}"
        if loss < 50:
            out["Validation perplexity"] = f"{math.exp(loss):.2f}"
    bpc = _num(_pick(flat, "eval_bits_per_char", "bits_per_char", "val_bits_per_char", "bpc"))
    if bpc is not None:
        out["Validation bits per character"] = f"{bpc:.4f}"
    train_loss = _num(_pick(flat, "train_loss", "final_train_loss"))
    if train_loss is not None:
        out["Training loss"] = f"{train_loss:.4f}"
    steps = _num(_pick(flat, "steps", "global_step", "max_steps"))
    if steps:
        out["Optimizer steps"] = f"{int(steps):,}"
    tokens = _num(_pick(flat, "train_tokens", "tokens_seen", "tokens"))
    if tokens:
        out["Training tokens"] = f"{int(tokens):,}"
    wall = _num(_pick(flat, "wall_seconds", "wall_time", "train_runtime", "runtime_seconds", "runtime"))
    if wall is not None:
        out["Wall time"] = _duration(wall)
    return out


def _share(count: Any, total: Any) -> str | None:
    c, t = _num(count), _num(total)
    if c is None or not t:
        return None
    return f"{int(c)} of {int(t)} ({c / t:.0%})"


def _evaluation(ev: Any) -> tuple[str | None, list[tuple[str, str, str]]]:
    """(note, rows) of the card's evaluation table from ``metrics.json``'s ``evaluation`` (written by
    ``huggingtweets.evaluation``); what is missing or malformed is left out, all of it for older bots."""
    if not isinstance(ev, Mapping):
        return None, []
    rows: list[tuple[str, str, str]] = []
    val = ev.get("validation") if isinstance(ev.get("validation"), Mapping) else {}
    bpc, n_valid = _num(val.get("bits_per_char")), _num(val.get("posts"))
    if bpc is not None:
        rows.append(("Validation bits per character", f"{bpc:.4f}",
                     f"how well the bot predicts the {int(n_valid or 0):,} posts held out from training, per "
                     f"character: lower is better"))
    accounts = ev.get("accounts") if isinstance(ev.get("accounts"), Mapping) else {}
    if len(accounts) > 1:
        for handle, a in accounts.items():
            score = a.get("validation") if isinstance(a, Mapping) else None
            v = _num(score.get("bits_per_char")) if isinstance(score, Mapping) else None
            if v is not None:
                rows.append((f"Validation bits per character, @{handle}", f"{v:.4f}",
                             "the same, on this account's held-out posts"))
    gen = ev.get("generated") if isinstance(ev.get("generated"), Mapping) else {}
    real = ev.get("real") if isinstance(ev.get("real"), Mapping) else {}
    sample = real.get("sample") if isinstance(real.get("sample"), Mapping) else {}
    n = _num(gen.get("posts"))
    note = None
    if n:
        copies = _share(gen.get("copies"), n)
        if copies:
            rows.append(("Copies of a training post", copies,
                         "generated posts that repeat 8 words in a row of a training post, or most of a short one"))
        d1, d2 = _num(gen.get("distinct_1")), _num(gen.get("distinct_2"))
        if d1 is not None and d2 is not None:
            r1, r2 = _num(sample.get("distinct_1")), _num(sample.get("distinct_2"))
            ref = f" (real posts: {r1:.3f} / {r2:.3f})" if r1 is not None and r2 is not None else ""
            rows.append(("Distinct-1 / distinct-2", f"{d1:.3f} / {d2:.3f}{ref}",
                         "distinct words and word pairs over all of them (Li et al. 2016): higher is more varied"))
        repeats = _share(gen.get("repeats"), n)
        if repeats:
            rows.append(("Exact repeats", repeats, "generated posts identical to another one"))
        words, real_words = _num(gen.get("median_words")), _num(real.get("median_words"))
        if words is not None:
            ref = f" (real posts: {real_words:g})" if real_words is not None else ""
            rows.append(("Median words", f"{words:g}{ref}",
                         "the length of a typical generated post, against the account's posts"))
        bad = _share(gen.get("degenerate_posts"), n)
        if bad:
            rows.append(("Degenerate posts", bad,
                         "empty, only the prompt, or a word or phrase repeated over and over"))
        prompt = gen.get("prompt")
        start = f'"{_md(prompt)}"' if isinstance(prompt, str) and prompt else "an empty prompt"
        sampling = gen.get("sampling") if isinstance(gen.get("sampling"), Mapping) else {}
        how = ", ".join(f"{label} {_fmt(sampling[k])}" for k, label in
                        (("temperature", "temperature"), ("top_p", "top-p"), ("top_k", "top-k"))
                        if _num(sampling.get(k)) is not None)
        note = (f"Measured with `huggingtweets evaluate` on the validation posts and on {int(n)} posts the bot "
                f"wrote from {start}" + (f" ({how})" if how else "") + "; real posts: as many drawn from the "
                "dataset.")
    elif rows:
        note = "Measured with `huggingtweets evaluate` on the validation posts."
    return note, rows


def _account(u: Mapping[str, Any]) -> Account:
    handle = str(u.get("handle") or "").lstrip("@")
    name = " ".join(str(u.get("name") or "").split()) or handle
    counts = {}
    for _, key in ROWS + EXTRA_ROWS:
        v = u.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            counts[key] = v
    url = u.get("url") if isinstance(u.get("url"), str) and _URL.match(u["url"]) else None
    avatar = u.get("avatar_url") if isinstance(u.get("avatar_url"), str) and _URL.match(u["avatar_url"]) else None
    return Account(handle=handle, name=name, counts=counts, url=url, avatar_url=avatar,
                   avatar_path=u.get("avatar_path") if isinstance(u.get("avatar_path"), str) else None,
                   network=u.get("network") if isinstance(u.get("network"), str) else None,
                   unknown=tuple(k for k in u.get("unknown") or () if isinstance(k, str)))


def load_predictions(folder: str | Path) -> tuple[str, list[str], list[int] | None]:
    """(prompt, predictions, picked or None) from the folder's ``predictions.json``; ``picked`` holds
    1-based numbers of the posts the preview shows."""
    data = _read_json(Path(folder) / PREDICTIONS_FILE)
    if isinstance(data, list):
        return DEFAULT_PROMPT, [str(p) for p in data if isinstance(p, str)], None
    if not isinstance(data, dict):
        return DEFAULT_PROMPT, [], None
    preds = [p if isinstance(p, str) else p.get("text", "") for p in data.get("predictions", [])
             if isinstance(p, (str, dict))]
    preds = [p for p in preds if p]
    picked = data.get("picked")
    if not (isinstance(picked, list) and picked
            and all(isinstance(i, int) and 1 <= i <= len(preds) for i in picked)):
        picked = None
    return str(data.get("prompt") or DEFAULT_PROMPT), preds, picked


def card_data_from_folder(folder: str | Path) -> CardData:
    """Gather what the card shows from a bot's folder; the one place that knows the folder's files.

    Only ``stats.json`` is required. ``training_config.json``, ``metrics.json``, ``tracking.json``,
    ``predictions.json`` and ``hub.json`` are optional, and so is each key in them: what is unknown is
    left out of the card.

    Raises:
        ModelFolderError: the folder has no readable ``stats.json`` with at least one account.
    """
    folder = Path(folder)
    stats = _read_json(folder / STATS_FILE)
    users = stats.get("users") if isinstance(stats, dict) else None
    if not isinstance(users, list) or not users or not all(isinstance(u, dict) and u.get("handle") for u in users):
        raise ModelFolderError(f"{folder}: no readable {STATS_FILE} with the accounts; pass the folder that "
                               f"`huggingtweets train` wrote")
    accounts = [_account(u) for u in users]
    bot = str(stats.get("bot") or "-".join(sorted(a.handle.lower() for a in accounts)))

    tc = _first_json(folder, TRAINING_CONFIG_FILES)
    flat = _flatten(tc)
    base_value = tc.get("base_model") if tc.get("base_model") is not None else _pick(
        flat, "base_model", "base_model_id", "model_name_or_path", "pretrained_model", "model_name")
    base_name, base_id, license_ = resolve_base_model(base_value)
    license_ = _pick(flat, "license") or license_
    fine_tuning, hyper = _hyperparameters(flat)

    metrics_file = _first_json(folder, METRICS_FILES)
    metrics = _metrics(metrics_file)
    evaluation_note, evaluation = _evaluation(metrics_file.get("evaluation"))
    prompt, predictions, picked = load_predictions(folder)
    tracking = _first_json(folder, [TRACKING_FILE])
    runs = tracking.get("runs") if isinstance(tracking.get("runs"), dict) else {}

    def run_url(kind: str) -> str | None:
        r = runs.get(kind)
        url = r.get("url") if isinstance(r, dict) else None
        return url if isinstance(url, str) and _URL.match(url) else None

    hub = _first_json(folder, [HUB_FILE])
    settings = stats.get("settings") if isinstance(stats.get("settings"), dict) else {}
    language = str(_pick(flat, "language") or settings.get("language") or stats.get("language") or "en")
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", language):
        language = "en"
    return CardData(
        bot=bot, accounts=accounts, base_model_name=base_name, base_model_id=base_id,
        license=str(license_) if license_ else None, language=str(language),
        fine_tuning=fine_tuning, hyperparameters=hyper, metrics=metrics,
        dataset_hash=stats.get("hash") if isinstance(stats.get("hash"), str) else None,
        prompt=prompt, predictions=predictions if picked is None else [predictions[i - 1] for i in picked],
        repo_id=hub.get("repo_id") if isinstance(hub.get("repo_id"), str) else None,
        endpoint=str(hub.get("endpoint") or HUB_ENDPOINT).rstrip("/"),
        local_path=str(folder.resolve()),
        tracking_mode=tracking.get("mode") if tracking.get("mode") in ("online", "offline") else None,
        data_run_url=run_url("preprocess"), train_run_url=run_url("train"),
        preview_available=(folder / PREVIEW_FILE).is_file(),
        evaluation=evaluation, evaluation_note=evaluation_note,
    )


# --- rendering ---------------------------------------------------------------------------------------


def handle_colour(handle: str) -> tuple[int, int, int]:
    """A stable, readable colour for an account without an avatar (the card and the preview agree)."""
    h = hashlib.sha256(handle.lower().encode()).digest()
    r, g, b = colorsys.hsv_to_rgb(h[0] / 255, 0.55, 0.72)
    return round(r * 255), round(g * 255), round(b * 255)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def _html(s: Any) -> str:
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(s: Any) -> str:
    """Text safe inside Markdown prose and table cells (a name with ``|`` or ``*`` stays a name)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(s).split()))


def _yaml_str(s: Any) -> str:
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(s), ensure_ascii=False)


_PLAIN_YAML = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+:-]*$")


def _yaml_scalar(s: Any) -> str:
    """A YAML value written plain when that is safe (``apache-2.0``), else double-quoted."""
    text = str(s)
    plain = _PLAIN_YAML.match(text) and ": " not in text and text.lower() not in (
        "yes", "no", "true", "false", "on", "off", "null", "y", "n", "~")
    return text if plain else _yaml_str(text)


def _py_str(s: Any) -> str:
    return repr(str(s))


def table_rows(accounts: list[Account]) -> list[tuple[str, str, list[int | None]]]:
    """The seeds' table: (label, stats key, one count per account), in the seeds' row order; the replies
    and duplicates this version also drops get a row when any account has some."""
    # None: a count the source could not tell (its format carries no sign of it), shown "unknown"
    return counts_table([{**a.counts, "unknown": a.unknown} for a in accounts])


def _table_lines(accounts: list[Account]) -> list[str]:
    lines = ["| Data | " + " | ".join(_md(a.name) for a in accounts) + " |",
             "| --- | " + " | ".join("---" for _ in accounts) + " |"]
    for label, _, values in table_rows(accounts):
        lines.append(f"| {label} | " + " | ".join("unknown" if v is None else str(v) for v in values) + " |")
    return lines


def _environment():
    import jinja2

    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(html=_html, md=_md, yaml_str=_yaml_str, yaml_scalar=_yaml_scalar, py_str=_py_str,
                       hex=_hex)
    return env


def render_card(data: CardData) -> str:
    """The card's Markdown (with its YAML front matter) for ``data``."""
    from importlib.resources import files

    template = (files("huggingtweets.card") / "model_card.md.jinja").read_text(encoding="utf-8")
    env = _environment()
    avatars = [{"account": a, "url": a.avatar_url, "colour": handle_colour(a.handle)} for a in data.accounts]
    return env.from_string(template).render(
        d=data, avatars=avatars, table_lines=_table_lines(data.accounts), project_url=PROJECT_URL,
        report_url=REPORT_URL,
    )


def write_card(folder: str | Path, data: CardData | None = None) -> Path:
    """Render the card of ``folder`` (or of ``data``) into ``folder/README.md``; return its path."""
    folder = Path(folder)
    data = data or card_data_from_folder(folder)
    path = folder / CARD_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_card(data), encoding="utf-8")
    tmp.replace(path)
    return path


# --- checking ----------------------------------------------------------------------------------------

# License ids the Hub accepts in ``license:`` (a subset: those a base model of this tool may carry).
HUB_LICENSES = {
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0",
    "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl",
    "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl",
    "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1",
    "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license",
    "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "unknown", "other",
}


def check_metadata(meta: Mapping[str, Any]) -> list[str]:
    """Problems in a card's metadata that the Hub would reject or that break the card's promises.

    An empty list means valid. Checked offline, on the rules the Hub applies to model cards (license
    ids, ``base_model`` as a repo id, a ``pipeline_tag``) and on what every bot card carries.
    """
    problems = []
    lic = meta.get("license")
    if lic is not None and lic not in HUB_LICENSES:
        problems.append(f"license {lic!r} is not a Hub license id")
    base = meta.get("base_model")
    for b in ([base] if isinstance(base, str) else base or []):
        if not (isinstance(b, str) and "/" in b and _HUB_ID.match(b)):
            problems.append(f"base_model {b!r} is not a Hub repo id (OWNER/NAME)")
    if meta.get("pipeline_tag") not in (None, "text-generation"):
        problems.append(f"pipeline_tag {meta.get('pipeline_tag')!r} is not text-generation")
    if "huggingtweets" not in (meta.get("tags") or []):
        problems.append("tags do not include huggingtweets")
    widget = meta.get("widget")
    if not (isinstance(widget, list) and widget and isinstance(widget[0], dict) and widget[0].get("text")):
        problems.append("widget has no text prompt")
    lang = meta.get("language")
    for code in ([lang] if isinstance(lang, str) else lang or []):
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", str(code)):
            problems.append(f"language {code!r} is not an ISO 639 code")
    thumb = meta.get("thumbnail")
    if thumb is not None and not (isinstance(thumb, str) and _URL.match(thumb)):
        problems.append(f"thumbnail {thumb!r} is not a URL")
    return problems
