"""From a dataset folder to token blocks: tokenize posts, join them with the end-of-text token, pack.

Every post is preceded by the end-of-text token (as in the original, whose text started with one and
joined posts with it), so the model learns how a post begins right after that token: generation then
starts from the same token plus the prompt.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dataset.build import load_stats, read_jsonl
from ..errors import TrainingDataError


@dataclass
class Posts:
    """A dataset folder's posts as token ids (without the end-of-text token)."""

    stats: dict[str, Any]
    train: list[list[int]]
    valid: list[list[int]]
    valid_chars: int
    """Characters of the validation text, counting one per post for its end (bits per character)."""
    train_tokens: int


def load_posts(folder: str | Path, tokenizer) -> Posts:
    """Read and tokenize a dataset folder. Raises DatasetError when it is missing or malformed."""
    folder = Path(folder)
    stats = load_stats(folder)
    train_texts = [r["text"] for r in read_jsonl(folder / "train.jsonl")]
    valid_texts = [r["text"] for r in read_jsonl(folder / "valid.jsonl")]
    train = tokenize(tokenizer, train_texts)
    valid = tokenize(tokenizer, valid_texts)
    return Posts(stats, train, valid, sum(len(t) + 1 for t in valid_texts), sum(len(t) + 1 for t in train))


def tokenize(tokenizer, texts: list[str]) -> list[list[int]]:
    if not texts:
        return []
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def fit_block_size(posts: list[list[int]], max_length: int) -> int:
    """A block length fitted to the posts: the power of two that holds two typical posts.

    Short blocks make each step cheap (attention grows with length) and give more optimizer steps for the
    same text, which matters on small accounts; two posts per block keep the share of posts cut in two
    small. Bounded to [64, 256] and the model's maximum.
    """
    if not posts:
        return min(128, max_length)
    lengths = sorted(len(p) + 1 for p in posts)
    typical = lengths[len(lengths) * 3 // 4]
    size = 64
    while size < 2 * typical and size < 256:
        size *= 2
    return max(8, min(size, max_length))


@dataclass
class Schedule:
    """The training blocks in the order they are used: ``epochs[e]`` is a list of blocks."""

    epochs: list[list[list[int]]]
    block_size: int

    @property
    def n_blocks(self) -> int:
        return sum(len(e) for e in self.epochs)

    @property
    def n_tokens(self) -> int:
        return sum(len(b) for e in self.epochs for b in e)


def _stream(posts: list[list[int]], eot_id: int, rng: random.Random) -> list[int]:
    order = list(range(len(posts)))
    rng.shuffle(order)
    out: list[int] = []
    for i in order:
        out.append(eot_id)
        out.extend(posts[i])
    out.append(eot_id)
    return out


def _cut(stream: list[int], size: int, drop_remainder: bool) -> list[list[int]]:
    blocks = [stream[i:i + size] for i in range(0, len(stream), size)]
    if blocks and len(blocks[-1]) < size and (drop_remainder or len(blocks[-1]) < 2):
        blocks.pop()
    return blocks


def build_schedule(posts: list[list[int]], eot_id: int, block_size: int, epochs: int, packing: str,
                   drop_remainder: bool, seed: int) -> Schedule:
    """Pack the posts into blocks for every epoch, deterministically from ``seed``.

    ``epoch`` packing shuffles the posts afresh each epoch and cuts that epoch's text on its own;
    ``stream`` (the original's) joins all epochs' shuffled texts into one, cuts it, and shuffles the blocks
    (the Trainer's random sampler did that), which makes a single pass.

    Raises:
        TrainingDataError: not one block of text.
    """
    if packing == "stream":
        rng = random.Random(f"{seed}:stream")
        stream: list[int] = []
        for _ in range(epochs):
            stream.extend(_stream(posts, eot_id, rng)[0 if not stream else 1:])
        blocks = _cut(stream, block_size, drop_remainder)
        rng.shuffle(blocks)
        schedule = Schedule([blocks], block_size)
    else:
        schedule = Schedule([_cut(_stream(posts, eot_id, random.Random(f"{seed}:epoch:{e}")), block_size,
                                  drop_remainder) for e in range(epochs)], block_size)
    if not schedule.n_blocks or not all(schedule.epochs):
        tokens = sum(len(p) + 1 for p in posts)
        raise TrainingDataError(
            f"the training split has {len(posts):,} posts, {tokens:,} tokens: not one {block_size}-token "
            f"block; add posts (a fuller archive) or pass a smaller --block-size")
    return schedule


def steps_in(n_blocks: int, global_batch: int) -> int:
    return math.ceil(n_blocks / global_batch)


def batch_blocks(epoch_blocks: list[list[int]], step_in_epoch: int, batch_size: int, rank: int,
                 world: int) -> list[list[int]]:
    """This process's blocks for one step. Alone, the last batch of an epoch may be short; under DDP it
    wraps around to the epoch's start, so that every process gets a full batch (as DistributedSampler
    pads) and none waits for the others' gradients without its own."""
    start = step_in_epoch * batch_size * world + rank * batch_size
    if world == 1:
        return epoch_blocks[start:start + batch_size]
    n = len(epoch_blocks)
    return [epoch_blocks[(start + i) % n] for i in range(batch_size)]
