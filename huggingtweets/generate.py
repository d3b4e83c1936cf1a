"""Write new posts with a trained bot: batched sampling that stops each post at its end.

    from huggingtweets.generate import Bot
    bot = Bot.load("~/.huggingtweets/bots/jane")       # loads once
    for post in bot.generate("My dream is", n=10):
        print(post["text"])

Like the original demo, every sample starts from the end-of-text token plus the prompt and is cut at
the first newline the model writes (a prompt's own line breaks stay: ``"Log, 12 March.\nWind"`` is one
post). Here all samples run as one batch with the KV cache, and each stops as soon as it writes a
newline or the end-of-text token, instead of running on to the maximum length and being cut afterwards:
it leaves the batch, so the remaining steps compute only the samples still writing.

The prompt is read as plain text: ``<|endoftext|>`` typed in it is those characters, not the token.

Outputs that copy a post of the account (see ``huggingtweets.training.copies``) are marked, or dropped
and replaced by more samples (at most ``3 * n`` in all by default). ``on_post`` hears of each post as it
ends, for a progress bar or a page that shows posts as they come.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from . import paths
from .bot_folder import DEFAULT_PROMPT, BotFolder, TrainingRecord, bot_path
from .errors import ModelFolderError, PromptTooLongError, UsageError
from .training.copies import CopyIndex
from .training.data import tokenize

DEFAULT_MAX_NEW_TOKENS = 100
"""A 280-character post is about 70 tokens for GPT-2-like tokenizers; the original allowed 160 in all."""
MAX_PROMPT_TOKENS = 512
"""The longest prompt, in tokens, whatever the model's context. A bot learns single posts (a 280-character
post is about 70 tokens, a 25,000-character X long post about 6,000, and training blocks are 256 tokens by
default), so a prompt is the start of a post: 512 tokens (about 2,000 characters, seven short posts) is
room for any such start, and a batch of ``n`` samples over a 100 KB prompt (25,000 tokens) would run for
minutes on a CPU to write text the bot was never trained to continue."""
COPIES = ("mark", "drop", "keep")
DROP_SAMPLES = 3
"""With ``copies="drop"``, samples drawn at most per post asked for: a bot that copies two posts in three
still fills the list, one that copies nearly every time stops after ``3 * n`` samples."""
# What str.splitlines() breaks on: a post ends at the first of them, so each output is one line.
LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def resolve_model_folder(model: str | Path) -> Path:
    """A model folder, or the name of a bot under ``$HUGGINGTWEETS_HOME/bots``.

    Raises:
        ModelFolderError: neither exists, or the folder holds no model.
    """
    path = bot_path(model)
    if not path.is_dir():
        raise ModelFolderError(f"{model}: no such model folder or bot; train one with "
                               f"`huggingtweets train SOURCE` (bots live in {paths.bots_dir()})")
    if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
        raise ModelFolderError(f"{path} is not a model folder (no config.json); pass the folder that "
                               f"`huggingtweets train` wrote")
    return path


@dataclass
class Generated:
    text: str
    """The prompt as given and what the bot wrote after it, up to the first line break the bot wrote."""
    prompt: str
    copy: bool | None
    """Whether it copies a post of the account (``None``: the model folder has no copy index)."""
    tokens: int
    """Tokens the bot wrote for it."""

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "prompt": self.prompt, "copy": self.copy, "tokens": self.tokens}


class Posts(list):
    """What ``Bot.generate`` returns: a list of ``Generated``, in the order they were sampled, plus how many
    samples were drawn for it and how many of them were left out as copies (``copies="drop"``)."""

    def __init__(self, posts: Iterable[Generated] = (), samples: int = 0, dropped: int = 0):
        super().__init__(posts)
        self.samples = samples
        """Samples drawn (more than the posts when copies were dropped)."""
        self.dropped = dropped
        """Samples left out because they copy a training post."""


class Bot:
    """A trained model folder, loaded once, ready to write posts."""

    def __init__(self, folder: Path, model, tokenizer, eot_id: int, copies: CopyIndex | None,
                 record: TrainingRecord | None):
        self.folder, self.model, self.tokenizer = folder, model, tokenizer
        self.eot_id, self.copies, self.record = eot_id, copies, record
        self._stop_ids: list[int] | None = None

    @property
    def name(self) -> str:
        return (self.record.dataset.bot if self.record else None) or self.folder.name

    @classmethod
    def load(cls, model: str | Path, *, device: str = "auto", dtype: str = "auto",
             pack: bool = True) -> "Bot":
        """Load a model folder (or a bot's name) for generating.

        Args:
            device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
            dtype: ``auto`` (bf16 where the hardware computes it natively, else fp32), ``bf16``, ``fp32``.
            pack: in fp32 on a CPU, lay the weights out once for oneDNN's small-batch kernels
                (``packed_linear.py``: steps up to about twice as fast); the loaded model then only
                generates.
        Raises:
            ModelFolderError: not a model folder.
        """
        from .errors import BaseModelError
        from .training.base_models import quiet_transformers, end_of_text_token, require
        from .training.hardware import cpu_supports_bf16

        folder = resolve_model_folder(model)
        from .versions import recover

        recover(folder)  # an update killed while it replaced the folder's files: finished first
        torch = require("torch")
        transformers = require("transformers")
        quiet_transformers()
        dev = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                           ("cpu" if device == "auto" else device))
        if dtype == "auto":
            native = torch.cuda.is_bf16_supported() if dev.type == "cuda" else cpu_supports_bf16()
            dtype = "bf16" if native else "fp32"
        torch_dtype = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}[dtype]
        try:
            with warnings.catch_warnings():
                # Deprecation notices of transformers/peft internals are not the user's to act on.
                warnings.simplefilter("ignore", FutureWarning)
                tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
                m = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype,
                                                                      trust_remote_code=False)
        except Exception as e:  # noqa: BLE001 - OSError, ValueError, a garbled config's TypeError,
            # safetensors' SafetensorError for cut weights: all say the folder is damaged.
            why = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
            raise ModelFolderError(f"{folder}: could not load the model ({why}); train it again with "
                                   f"`huggingtweets train`, or copy the folder again if it was cut short") from e
        m.to(dev)
        m.eval()
        if pack:
            from .packed_linear import pack_linear_layers

            pack_linear_layers(m)
        record = BotFolder(folder).training
        eot_id = record.end_of_text.get("id") if record else None
        prefix = getattr(m.config, "prefix", None)
        if eot_id is None and prefix:
            eot_id = tokenizer.convert_tokens_to_ids(prefix)
        if eot_id is None:
            # A model not trained here: its own end-of-text token, chosen as training would.
            try:
                eot_id = end_of_text_token(tokenizer)[1]
            except BaseModelError:
                raise ModelFolderError(f"{folder}: the tokenizer has no end-of-text token; pass a model "
                                       f"folder that `huggingtweets train` wrote") from None
        return cls(folder, m, tokenizer, int(eot_id), CopyIndex.load(folder), record)

    def stop_ids(self) -> list[int]:
        """The end-of-text token and every token whose text holds a line break: a post ends at either."""
        if self._stop_ids is None:
            vocab = self.tokenizer.get_vocab()
            ids = sorted(set(vocab.values()))
            texts = self.tokenizer.batch_decode([[i] for i in ids])
            self._stop_ids = [self.eot_id] + [i for i, t in zip(ids, texts)
                                              if LINE_BREAKS.search(t) and i != self.eot_id]
        return self._stop_ids

    def generate(self, prompt: str = DEFAULT_PROMPT, n: int = 10, *, temperature: float = 1.0,
                 top_p: float = 0.95, top_k: int = 50, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 min_new_tokens: int = 3, seed: int | None = None, copies: str = "mark",
                 max_samples: int | None = None,
                 on_post: Callable[[Generated], None] | None = None) -> Posts:
        """Write ``n`` posts that continue ``prompt``.

        Args:
            temperature, top_p: sampling settings (the original's: 1.0 and 0.95).
            top_k: sample among this many most likely tokens at most (0: all); 50 is transformers'
                default, which the original's pipeline used without naming it.
            max_new_tokens: the longest a post may run.
            min_new_tokens: newline and end-of-text are held back for this many tokens, so no post is empty.
            seed: make the samples reproducible.
            copies: ``mark`` (flag copies of training posts), ``drop`` (leave them out and draw more
                samples in their place, up to ``max_samples``; fewer than ``n`` come back only when nearly
                every sample copies) or ``keep`` (no check).
            max_samples: with ``drop``, the most samples drawn in all (default ``3 * n``).
            on_post: called with each post kept, as soon as it ends (shorter posts first), for progress
                bars and pages that show posts as they come.
        Returns:
            ``Posts``: a list of ``Generated`` in the order sampled; ``.samples`` and ``.dropped`` say how
            many samples were drawn and how many were left out as copies.
        Raises:
            UsageError: a setting out of range.
            PromptTooLongError: the prompt is longer than ``prompt_limit(max_new_tokens)`` tokens.

        Example:
            >>> posts = bot.generate("My dream is", n=10, copies="drop")
            >>> len(posts), posts.dropped    # (10, 2): two samples copied a training post
        """
        self._check(n, temperature, top_p, top_k, max_new_tokens, copies, max_samples)
        limit = (max_samples or DROP_SAMPLES * n) if copies == "drop" else n
        import torch

        if seed is not None:
            torch.manual_seed(seed)
        prompt_ids = tokenize(self.tokenizer, [prompt])[0] if prompt else []
        self._check_prompt(len(prompt_ids), max_new_tokens)
        head = self.tokenizer.decode(prompt_ids, skip_special_tokens=True)
        posts = Posts()
        kept: dict[tuple[int, int], Generated] = {}  # (batch, row) -> post: returned in sampled order
        batch = 0

        def ended(row: int, seq: list[int]) -> bool:
            post = self._post(prompt, prompt_ids, head, seq, copies)
            posts.samples += 1
            if copies == "drop" and post.copy:
                posts.dropped += 1
                return False
            kept[batch, row] = post
            if on_post is not None:
                on_post(post)
            return len(kept) >= n  # enough: the samples still writing are not needed

        # One batch of n, then (dropping copies) batches for the posts still missing, until the bound.
        while len(kept) < n and posts.samples < limit:
            size = _next_batch(n - len(kept), len(kept), posts.samples, limit)
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                self._sample([self.eot_id] + prompt_ids, size, temperature=temperature, top_k=top_k,
                             top_p=top_p, max_new_tokens=max_new_tokens,
                             min_new_tokens=min(min_new_tokens, max_new_tokens), on_done=ended)
            batch += 1
        posts.extend(kept[key] for key in sorted(kept))
        return posts

    def prompt_limit(self, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> tuple[int, str]:
        """(the most tokens a prompt may have, why): ``MAX_PROMPT_TOKENS``, or less where the model's context
        leaves less room beside the end-of-text token and ``max_new_tokens``."""
        config = self.model.config
        context = next((v for v in (getattr(config, k, None) for k in
                                    ("max_position_embeddings", "n_positions", "n_ctx"))
                        if isinstance(v, int) and v > 0), None)
        room = context - max_new_tokens - 1 if context else None
        if room is None or room >= MAX_PROMPT_TOKENS:
            return MAX_PROMPT_TOKENS, "the prompt is the start of a post"
        return max(room, 0), f"its context of {context:,} tokens less --max-new-tokens {max_new_tokens} " \
                             f"and the end-of-text token"

    def _check_prompt(self, tokens: int, max_new_tokens: int) -> None:
        limit, why = self.prompt_limit(max_new_tokens)
        if tokens > limit:
            raise PromptTooLongError(tokens, limit, why)

    @staticmethod
    def _check(n: int, temperature: float, top_p: float, top_k: int, max_new_tokens: int, copies: str,
               max_samples: int | None) -> None:
        problems = []
        if n < 1:
            problems.append(f"-n must be >= 1 (got {n})")
        if temperature <= 0:
            problems.append(f"--temperature must be > 0 (got {temperature})")
        if not 0 < top_p <= 1:
            problems.append(f"--top-p must be in (0, 1] (got {top_p})")
        if top_k < 0:
            problems.append(f"top_k must be >= 0 (got {top_k})")
        if max_new_tokens < 1:
            problems.append(f"--max-new-tokens must be >= 1 (got {max_new_tokens})")
        if copies not in COPIES:
            problems.append(f"--copies must be one of {', '.join(COPIES)} (got {copies!r})")
        if max_samples is not None and max_samples < n:
            problems.append(f"max_samples must be >= n (got {max_samples} for {n} posts)")
        if problems:
            raise UsageError("; ".join(problems))

    def _post(self, prompt: str, prompt_ids: list[int], head: str, seq: list[int], copies: str) -> Generated:
        """One sample's tokens (ending at its first stop token, or at the maximum) as a post."""
        # Decoded with the prompt, since some tokenizers drop a leading space decoded alone.
        full = self.tokenizer.decode(prompt_ids + seq, skip_special_tokens=True)
        # Only what the bot wrote is cut: the prompt may hold line breaks of its own.
        text = prompt + LINE_BREAKS.split(full[len(head):], 1)[0].rstrip()
        copied = None
        if copies != "keep" and self.copies is not None:
            copied = self.copies.copied(text)
        return Generated(text, prompt, copied, len(seq))

    def _sample(self, ids: list[int], n: int, *, temperature: float, top_k: int, top_p: float,
                max_new_tokens: int, min_new_tokens: int,
                on_done: Callable[[int, list[int]], bool] | None = None) -> list[list[int]]:
        """Token ids of ``n`` samples continuing ``ids``, each ending at its first stop token.

        One batch with the KV cache, like ``model.generate``, but a sample that has stopped leaves the
        batch (its rows of the cache are dropped), so the steps after the short posts are done cost only
        what the long ones need; and sampling works on the top-k candidates instead of sorting the whole
        vocabulary at every step. The distribution is transformers' own: temperature, then top-k, then
        top-p (the smallest set of tokens whose probability reaches ``top_p``).

        ``on_done(row, tokens)`` is called as each sample ends (rows of one step in order); when it
        returns True, sampling stops there and the samples still writing stay unfinished.
        """
        import torch

        model = self.model
        stops = torch.tensor(self.stop_ids(), device=model.device)
        out = model(input_ids=torch.tensor([ids] * n, device=model.device), use_cache=True)
        cache = out.past_key_values
        # Any model whose cache can drop rows (every transformers Cache); others keep all rows to the end.
        can_drop = hasattr(cache, "batch_select_indices")
        logits = out.logits[:, -1, :].float()
        rows = torch.arange(n, device=model.device)  # the sample each row of the batch belongs to
        samples: list[list[int]] = [[] for _ in range(n)]
        done = [False] * n
        for step in range(max_new_tokens):
            if step < min_new_tokens:
                logits[:, stops] = float("-inf")
            picked = _pick(logits, temperature, top_k, top_p)
            stopped = torch.isin(picked, stops)
            last = step == max_new_tokens - 1
            ended = []
            for r, t, s in zip(rows.tolist(), picked.tolist(), stopped.tolist()):
                if not done[r]:
                    samples[r].append(t)
                    if s or last:
                        done[r] = True
                        ended.append(r)
            if on_done is not None and any(on_done(r, samples[r]) for r in ended):  # stops at the first True
                break
            if all(done):
                break
            if can_drop and bool(stopped.any()):
                keep = (~stopped).nonzero().squeeze(1)
                cache.batch_select_indices(keep)
                rows, picked = rows[keep], picked[keep]
            out = model(input_ids=picked[:, None], past_key_values=cache, use_cache=True)
            logits = out.logits[:, -1, :].float()
        return samples


def _next_batch(missing: int, kept: int, drawn: int, limit: int) -> int:
    """Samples to draw for ``missing`` more posts: as many as the share kept so far says it takes (at
    least one in three counted as kept, so a bad first batch does not ask for the whole bound at once)."""
    rate = kept / drawn if drawn else 1.0
    return max(1, min(math.ceil(missing / max(rate, 1 / DROP_SAMPLES)), limit - drawn))


def _pick(logits, temperature: float, top_k: int, top_p: float):
    """One token per row, sampled as transformers' temperature, top-k and top-p warpers would."""
    import torch

    scores = logits / temperature
    k = scores.shape[-1] if top_k <= 0 else min(top_k, scores.shape[-1])
    values, index = torch.topk(scores, k, dim=-1)  # sorted, most likely first
    probs = values.softmax(-1)
    if top_p < 1.0:
        # Drop a candidate once the more likely ones before it already reach top_p; the first always stays.
        before = probs.cumsum(-1) - probs
        probs = probs.masked_fill(before >= top_p, 0.0)
    choice = torch.multinomial(probs, 1)
    return index.gather(-1, choice).squeeze(-1)


def generate(model: str | Path | Bot, prompt: str = DEFAULT_PROMPT, n: int = 10, **kwargs: Any) -> list[dict]:
    """Write ``n`` posts with a model folder, a bot's name, or a loaded ``Bot``; return dicts with
    ``text``, ``prompt``, ``copy`` and ``tokens``. Keyword arguments are those of ``Bot.generate``.

    Example:
        >>> generate("jane", "My dream is", n=3, seed=0)[0]["text"]
    """
    bot = model if isinstance(model, Bot) else Bot.load(model)
    return [g.to_dict() for g in bot.generate(prompt, n, **kwargs)]
