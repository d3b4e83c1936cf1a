"""What a model card shows, gathered from a bot's folder: ``CardData`` and ``card_data_from_folder``.

The facts come from the folder's typed views (``bot_folder.BotFolder``): the accounts and their counts
(``stats.json``), the base model and the resolved settings (``training_config.json``), the validation
metrics and the evaluation (``metrics.json``), the tracker's runs (``tracking.json``), the avatars
copied beside the card (``avatar-HANDLE.jpg``) and, once published, the Hub repository (``hub.json``).
Only ``stats.json`` is required: a missing file or value leaves its line out of the card.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .. import paths
from ..bot_folder import CARD_FILE, DEFAULT_PROMPT, PREVIEW_FILE, BotFolder, BotMetrics, TrainingRecord
from ..dataset.folder import AccountStats
from .avatars import avatar_source, folder_avatars, is_default_avatar

HUB_ENDPOINT = "https://huggingface.co"

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

_URL = re.compile(r"^https?://[^\s'\"()<>\\]+$")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def is_url(value: Any) -> bool:
    """An ``http(s)`` URL without spaces, quotes or brackets: safe to embed in the card's HTML and YAML."""
    return isinstance(value, str) and bool(_URL.match(value))


def escape_md(s: Any) -> str:
    """Text safe inside Markdown prose and table cells (a name with ``|`` or ``*`` stays a name)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(s).split()))

Account = AccountStats
"""One account the bot was trained on, as the card and the preview show it (``stats.json``'s
``users[]``, with its links checked)."""


def is_repo_id(value: str, owner_required: bool = False) -> bool:
    """Whether ``value`` is a Hub repo id (``NAME`` or ``OWNER/NAME``), by ``huggingface_hub``'s rules."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if owner_required and "/" not in value:
        return False
    try:
        validate_repo_id(value)
    except HFValidationError:
        return False
    return True


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
    folder_name: str | None = None
    """The bot folder's name (``jane``): what "How to use" loads before the bot is published. Never its
    absolute path: that names the home folder, or a web-app session, whose folder name is a login secret."""
    folder_hint: str | None = None
    """Where the folder is, relative to the huggingtweets home (``bots/jane``), when it is there."""
    avatar_files: dict[str, str] = field(default_factory=dict)
    """Handle -> the account's avatar in the bot's folder (``avatar-jane.jpg``), linked by that name."""
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
    versions: list[str] = field(default_factory=list)
    """One line per version of an updated bot (``history.json``), oldest first; empty if never updated."""
    updated: str | None = None
    """The date of the last update (``YYYY-MM-DD``)."""

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
    def thumbnail(self) -> str | None:
        """The front matter's ``thumbnail``: the preview's URL in the repository once published (the Hub
        takes a URL for the social preview), else its file name beside the card."""
        return self.thumbnail_url or (PREVIEW_FILE if self.preview_available else None)

    @property
    def base_model_url(self) -> str | None:
        return f"{HUB_ENDPOINT}/{self.base_model_id}" if self.base_model_id else None

    @property
    def model_ref(self) -> str:
        """What ``pipeline(model=...)`` takes: the repo id once published, else the folder's name."""
        return self.repo_id or self.folder_name or self.bot



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


def resolve_base_model(ref: dict[str, Any] | str | None) -> tuple[str | None, str | None, str | None]:
    """(display name, Hub id, license) of the base model ``training_config.json`` records.

    ``ref`` is ``BaseModelRef.to_dict()`` (``name``, ``kind``: ``embedded``/``hub``/``folder``,
    ``location``) or a bare name. A local folder has no Hub id, and is named by its last part, never its
    full path (a home folder is private); its license is read from its own ``README.md``.
    """
    if isinstance(ref, str):
        ref = {"name": ref}
    if not isinstance(ref, dict):
        return None, None, None
    name = ref.get("name") if isinstance(ref.get("name"), str) else None
    kind = ref.get("kind") if isinstance(ref.get("kind"), str) else None
    location = ref.get("location") if isinstance(ref.get("location"), str) else None
    for cand in (name, location if kind == "hub" else None):
        if cand and cand.lower() in KNOWN_BASE_MODELS:
            hub_id, license_ = KNOWN_BASE_MODELS[cand.lower()]
            return hub_id.split("/")[-1], hub_id, license_
    local = location if kind in ("folder", "embedded") else None
    hub_id = location if kind == "hub" and location else name
    if hub_id and (kind == "hub" or (kind is None and not Path(hub_id).exists())) and is_repo_id(hub_id):
        return hub_id.split("/")[-1], hub_id, _license_from_readme(local)
    if name or location:
        return Path(name or location).name or name, None, _license_from_readme(local or name)
    return None, None, None


def _license_from_readme(folder: str | None) -> str | None:
    if not folder:
        return None
    try:
        from huggingface_hub import ModelCard

        card = ModelCard.load(Path(folder).expanduser() / CARD_FILE, ignore_metadata_errors=True)
    except Exception:  # noqa: BLE001 - any unreadable card means "no license known"
        return None
    lic = card.data.license
    return lic if isinstance(lic, str) and lic else None


def _percent_or(value: float) -> str:
    return f"{value:.0%} of the steps" if value < 1 else _fmt(value)


# Hyperparameters shown in the card, in order: label, (group, name) of ``TrainConfig``, and how a value
# is shown; a value of None (or 0 where 0 means "not set") leaves the line out.
_HYPER: list[tuple[str, tuple[str, str], Any]] = [
    ("Recipe", ("", "recipe"), str),
    ("Learning rate", ("optim", "learning_rate"), None),
    ("Schedule", ("optim", "schedule"), None),
    ("Warm-up", ("optim", "warmup_ratio"), _percent_or),
    ("Batch size", ("optim", "batch_size"), None),
    ("Block size (tokens)", ("data", "block_size"), None),
    ("Epochs", ("data", "epochs"), None),
    ("Weight decay", ("optim", "weight_decay"), None),
    ("Precision", ("run", "precision"), None),
    ("Max steps", ("run", "max_steps"), None),
    ("Seed", ("run", "seed"), None),
]
_ZERO_MEANS_UNSET = {"Block size (tokens)", "Max steps", "Warm-up", "Weight decay"}


def _hyperparameters(rec: TrainingRecord) -> tuple[str | None, dict[str, str]]:
    """(how it was fine-tuned, label -> value) from the resolved settings."""
    out: dict[str, str] = {}
    for label, (group, name), show in _HYPER:
        v = rec.setting(group, name)
        if label == "Block size (tokens)" and isinstance(rec.block_size, int):
            v = rec.block_size  # what training used, when the settings left it to fit the posts
        text = label in ("Recipe", "Schedule", "Precision")
        if not (isinstance(v, str) if text else isinstance(v, (int, float)) and not isinstance(v, bool)):
            continue  # a value of the wrong type is left out, not shown
        if label in _ZERO_MEANS_UNSET and v == 0:
            continue
        out[label] = (show or _fmt)(v)
    lora = rec.setting("model", "lora")
    if lora is True:
        r, alpha = rec.setting("model", "lora_r"), rec.setting("model", "lora_alpha")
        extra = ", ".join(f"{k}={v}" for k, v in (("r", r), ("alpha", alpha)) if v is not None)
        fine_tuning = f"LoRA ({extra})" if extra else "LoRA"
        if rec.setting("model", "merge_lora") is True:
            fine_tuning += ", merged into the weights"
    else:
        fine_tuning = "full fine-tuning" if lora is False else None
    return fine_tuning, out


def _metrics(m: BotMetrics) -> dict[str, str]:
    out: dict[str, str] = {}
    if m.eval_loss is not None and math.isfinite(m.eval_loss):
        out["Validation loss (per token)"] = f"{m.eval_loss:.4f}"
        if m.eval_loss < 50:
            out["Validation perplexity"] = f"{math.exp(m.eval_loss):.2f}"
    if m.eval_bits_per_char is not None and math.isfinite(m.eval_bits_per_char):
        out["Validation bits per character"] = f"{m.eval_bits_per_char:.4f}"
    if m.steps:
        out["Optimizer steps"] = f"{m.steps:,}"
    if m.train_tokens:
        out["Training tokens"] = f"{m.train_tokens:,}"
    if m.wall_seconds is not None:
        out["Wall time"] = _duration(m.wall_seconds)
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
        start = f'"{escape_md(prompt)}"' if isinstance(prompt, str) and prompt else "an empty prompt"
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


def _account(u: AccountStats) -> Account:
    """The account with its name on one line and only ``http(s)`` links (the card embeds them)."""
    handle = u.handle.lstrip("@")
    return dataclasses.replace(
        u, handle=handle, name=" ".join(u.name.split()) or handle,
        url=u.url if is_url(u.url) else None,
        avatar_url=u.avatar_url if is_url(u.avatar_url) and not is_default_avatar(u.avatar_url) else None)


def _checked(url: str | None) -> str | None:
    return url if is_url(url) else None


def card_data_from_folder(folder: str | Path) -> CardData:
    """Gather what the card shows from a bot's folder.

    Raises:
        ModelFolderError: the folder has no readable ``stats.json`` with at least one account.
    """
    bot = BotFolder(Path(folder))
    stats = bot.stats
    rec = bot.training or TrainingRecord()
    base_name, base_id, license_ = resolve_base_model(rec.base_model or rec.setting("model", "base_model"))
    fine_tuning, hyper = _hyperparameters(rec)
    metrics = bot.metrics or BotMetrics()
    evaluation_note, evaluation = _evaluation(metrics.evaluation)
    predictions = bot.predictions
    tracking = bot.tracking
    repo_id, endpoint = bot.hub_repo
    language = str(stats.settings.get("language") or "en")
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", language):
        language = "en"
    accounts = [_account(u) for u in stats.users]
    avatar_files = folder_avatars(bot.path, accounts)
    for a in accounts:  # the preview draws the folder's copy when the image it was made from is gone
        if a.handle in avatar_files and avatar_source(a) is None:
            a.avatar_path = str(bot.path / avatar_files[a.handle])
    return CardData(
        bot=stats.bot, accounts=accounts, base_model_name=base_name,
        base_model_id=base_id, license=license_, language=language,
        fine_tuning=fine_tuning, hyperparameters=hyper, metrics=_metrics(metrics),
        dataset_hash=stats.hash or None, prompt=predictions.prompt, predictions=predictions.shown,
        repo_id=repo_id, endpoint=(endpoint or HUB_ENDPOINT).rstrip("/"), folder_name=bot.path.resolve().name,
        folder_hint=_folder_hint(bot.path), avatar_files=avatar_files, tracking_mode=tracking.mode,
        data_run_url=_checked(tracking.urls.get("preprocess")),
        train_run_url=_checked(tracking.urls.get("train")), preview_available=bot.has_preview,
        evaluation=evaluation, evaluation_note=evaluation_note, **_versions(bot.path),
    )


def _versions(folder: Path) -> dict[str, Any]:
    """``versions`` and ``updated`` of an updated bot, from its ``history.json`` (``huggingtweets.versions``)."""
    from ..versions import read_history

    history = read_history(folder).versions
    if len(history) < 2:
        return {}
    lines = []
    for v in history:
        new = v.get("new_posts") if isinstance(v.get("new_posts"), dict) else None
        what = (f"+{sum(int(n or 0) for n in new.values())} posts, {v.get('replay_posts', 0)} older ones replayed"
                if new else "trained")
        bpc = (v.get("metrics") or {}).get("eval_bits_per_char")
        lines.append(f"Version {v.get('version')} ({str(v.get('date') or '')[:10]}): {what}"
                     + (f"; validation {bpc:.4f} bits/char" if isinstance(bpc, float) else ""))
    return {"versions": lines, "updated": str(history[-1].get("date") or "")[:10] or None}


def _folder_hint(folder: Path) -> str | None:
    """``bots/jane`` for a bot of the huggingtweets home, else None: any other path may be private (a web-app
    session's folder is under the home too, and its name is a login secret)."""
    try:
        in_bots = folder.resolve().parent == paths.bots_dir().resolve()
    except OSError:
        return None
    return f"{paths.bots_dir().name}/{folder.resolve().name}" if in_bots else None


def load_predictions(folder: str | Path) -> tuple[str, list[str], list[int] | None]:
    """(prompt, predictions, picked or None) from the folder's ``predictions.json``; ``picked`` holds
    1-based numbers of the posts the preview shows."""
    p = BotFolder(Path(folder)).predictions
    return p.prompt, p.texts, p.picked
