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


from ..dataset.folder import DatasetFolder, DatasetStats
from ..errors import TrainingDataError


@dataclass
class Posts:
    """A dataset folder's posts as token ids (without the end-of-text token)."""

    stats: DatasetStats
    train: list[list[int]]
    valid: list[list[int]]
    valid_chars: int
    """Characters of the validation text, counting one per post for its end (bits per character)."""
    train_tokens: int


def load_posts(folder: str | Path, tokenizer) -> Posts:
    """Read and tokenize a dataset folder. Raises DatasetError when it is missing or malformed."""
    ds = DatasetFolder.open(folder)
    stats = ds.stats
    train_texts = [r["text"] for r in ds.rows("train")]
    valid_texts = [r["text"] for r in ds.rows("valid")]
    train = tokenize(tokenizer, train_texts)
    valid = tokenize(tokenizer, valid_texts)
    return Posts(stats, train, valid, sum(len(t) + 1 for t in valid_texts), sum(len(t) + 1 for t in train))


def tokenize(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of ``texts`` read as plain text, without special tokens added around them.

    A post (or a prompt) may mention ``<|endoftext|>``, ``<|im_start|>``, ``</s>`` or ``[SEP]``: those
    characters become ordinary tokens, never the control token of that name, so that the only post
    boundaries the model sees are the end-of-text tokens that ``_stream`` and ``evaluate`` put there.

    ``split_special_tokens`` stops the tokenizer from matching special tokens in the text. Some models
    can still produce one: a Unigram (SentencePiece-converted) vocabulary holds ``</s>`` as a piece, so
    ``"</s>"`` comes out as that id all the same; such a token is spelled out character by character.

    Example:
        >>> tokenize(tokenizer, ["see <|endoftext|>"])  # the ids of "see <|endoftext|>" as text
    """
    if not texts:
        return []
    encoded = tokenizer(list(texts), add_special_tokens=False, split_special_tokens=True)["input_ids"]
    control = control_ids(tokenizer)
    return [ids if control.isdisjoint(ids) else _spell_out(tokenizer, ids, control) for ids in encoded]


def control_ids(tokenizer) -> set[int]:
    """Ids of the tokenizer's special tokens, which no post's text may produce: bos, eos, pad, sep, the
    chat markers and the like. The unknown token is left out where the model writes it for characters its
    vocabulary lacks (WordPiece, Unigram): that is text, not a boundary. A byte-level model never writes
    one, and GPT-2 and SmolLM2 name ``<|endoftext|>`` their unknown token, so there it stays in."""
    ids = set(getattr(tokenizer, "all_special_ids", None) or [])
    for i, tok in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
        if getattr(tok, "special", False):
            ids.add(int(i))
    roles = {getattr(tokenizer, f"{role}_token_id", None) for role in ("bos", "eos", "pad", "sep", "cls", "mask")}
    return ids - (_unknown_ids(tokenizer) - roles)


def _unknown_ids(tokenizer) -> set[int]:
    """What the tokenizer's model writes for a character no vocabulary holds (a private-use one): its
    unknown token where it has one, byte tokens or nothing where it has none."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:  # a slow tokenizer: assume that it may write its unknown token
        unk = getattr(tokenizer, "unk_token_id", None)
        return set() if unk is None else {unk}
    try:
        return {t.id for t in backend.model.tokenize("\U0010fffd")}
    except Exception:  # noqa: BLE001 - the tokenizers library raises a bare Exception for a model error
        return set()


def _spell_out(tokenizer, ids: list[int], control: set[int]) -> list[int]:
    """``ids`` with each control token replaced by the model's tokens for its characters, one at a time
    (``</s>`` -> ``<``, ``/``, ``s``, ``>``), which decode to the same text. Only a fast tokenizer's model
    can be asked for those; a slow one's ids are kept (with ``split_special_tokens`` it hands the text to
    its model without looking for added tokens, and its models do not write control tokens)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return ids
    out: list[int] = []
    for i in ids:
        piece = backend.id_to_token(i) if i in control else None
        if piece is None:
            out.append(i)
            continue
        out.extend(t.id for ch in piece for t in backend.model.tokenize(ch))
    return out


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


OPEN_BLOCKS = 16
"""Blocks being filled at once by ``posts`` packing: enough for posts of any length mix to find room, few
enough that packing 200,000 posts stays a fraction of a second per epoch."""


def _pack_whole(posts: list[list[int]], eot_id: int, size: int, rng: random.Random) -> list[list[int]]:
    """The posts in a shuffled order, each as its end-of-text token and its tokens, packed whole into
    blocks of at most ``size`` tokens (first fit over the blocks being filled), each block closed by an
    end-of-text token; blocks come out shuffled. A post too long for a block is cut into pieces that fill
    blocks of their own, as ``epoch`` packing would cut it."""
    order = list(range(len(posts)))
    rng.shuffle(order)
    done: list[list[int]] = []
    pieces: list[list[int]] = []
    filling: list[list[int]] = []
    for i in order:
        piece = [eot_id] + posts[i]
        if len(piece) + 1 > size:
            pieces.extend(_cut(piece + [eot_id], size, False))
            continue
        for block in filling:
            if len(block) + len(piece) + 1 <= size:
                block.extend(piece)
                break
        else:
            filling.append(list(piece))
        # A block with no room for the shortest possible post (end-of-text and one token) is done; so is
        # the fullest one when too many are open.
        done.extend(b for b in filling if len(b) + 3 > size)
        filling = [b for b in filling if len(b) + 3 <= size]
        if len(filling) > OPEN_BLOCKS:
            filling.sort(key=len)
            done.append(filling.pop())
    done.extend(filling)
    for block in done:
        block.append(eot_id)
    done.extend(pieces)
    rng.shuffle(done)
    return done


def build_schedule(posts: list[list[int]], eot_id: int, block_size: int, epochs: int, packing: str,
                   drop_remainder: bool, seed: int) -> Schedule:
    """Pack the posts into blocks for every epoch, deterministically from ``seed``.

    ``epoch`` packing shuffles the posts afresh each epoch and cuts that epoch's text on its own;
    ``posts`` shuffles them afresh each epoch and packs them whole, so that no post (shorter than a
    block) starts in one block and ends in the next; ``stream`` (the original's) joins all epochs'
    shuffled texts into one, cuts it, and shuffles the blocks (the Trainer's random sampler did that),
    which makes a single pass.

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
    elif packing == "posts":
        schedule = Schedule([_pack_whole(posts, eot_id, block_size, random.Random(f"{seed}:posts:{e}"))
                             for e in range(epochs)], block_size)
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
