"""A tiny causal LM and tokenizer built locally, and dataset folders of made-up posts, for fast tests.

The tokenizer is a byte-level BPE trained on the posts themselves (any text encodes), with its own
``<|endoftext|>``; the model is a 2-layer Llama (or GPT-2) with hidden size 32, saved with
``save_pretrained`` so that it loads exactly like a real base model folder.
"""

from __future__ import annotations

import random
from pathlib import Path

SUBJECTS = ["my cat", "the bus", "our team", "this coffee", "the moon", "my code", "the garden", "rain"]
VERBS = ["loves", "hates", "needs", "dreams about", "wrote", "found", "broke", "painted"]
OBJECTS = ["tiny robots", "the sea", "a red bicycle", "cold pizza", "old songs", "the compiler",
           "green tea", "paper boats"]
ENDINGS = ["today", "again", "at night", "for real", "#mondays", "lol", "and I agree", "somehow"]


def make_posts(n: int, seed: int = 0) -> list[str]:
    """Posts from a small grammar: learnable, so a few steps lower the loss."""
    rng = random.Random(seed)
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(ENDINGS)}"
            for _ in range(n)]


def build_tokenizer(texts: list[str], vocab_size: int = 300):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts + ["\n", "My dream is"], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", model_max_length=128)


def save_tiny_model(folder: str | Path, *, kind: str = "llama", layers: int = 2, texts: list[str] | None = None,
                    seed: int = 0) -> Path:
    """Write a tiny model folder (config, safetensors weights, tokenizer); return it."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    folder = Path(folder)
    tokenizer = build_tokenizer(texts or make_posts(400, seed=1))
    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    if kind == "llama":
        config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                             num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                             max_position_embeddings=128, tie_word_embeddings=True,
                             bos_token_id=eos, eos_token_id=eos, pad_token_id=eos)
    else:
        config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=layers, n_head=4, n_positions=128,
                            bos_token_id=eos, eos_token_id=eos)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def make_dataset(folder: str | Path, posts: list[str] | None = None, *, handle: str = "tiny_poster",
                 valid_fraction: float = 0.1) -> Path:
    """A dataset folder as ``prepare`` writes it, from made-up posts of one account."""
    from huggingtweets.dataset.build import AccountData, SplitSettings, write_dataset

    posts = posts if posts is not None else make_posts(200)
    acc = AccountData(handle, handle.title(), "file", "file:posts.txt",
                      [(str(i), t) for i, t in enumerate(posts)],
                      {"downloaded": len(posts), "retweets": 0, "short": 0, "kept": len(posts)})
    folder = Path(folder)
    write_dataset(folder, [acc], {"sources": ["file:posts.txt"]}, SplitSettings(valid_fraction=valid_fraction))
    return folder


_CACHE: dict[tuple, Path] = {}


def tiny_model(kind: str = "llama", layers: int = 2) -> Path:
    """A tiny model folder built once per test session (tests must not write to it)."""
    import atexit
    import shutil
    import tempfile

    key = (kind, layers)
    if key not in _CACHE:
        tmp = tempfile.mkdtemp(prefix=f"tiny-{kind}-")
        atexit.register(shutil.rmtree, tmp, True)
        _CACHE[key] = save_tiny_model(Path(tmp) / "model", kind=kind, layers=layers)
    return _CACHE[key]
