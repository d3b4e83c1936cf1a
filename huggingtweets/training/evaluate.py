"""Validation loss, and the same as bits per character so that models with different tokenizers compare.

Each validation post is scored on its own, as generation sees it: the end-of-text token, the post, and
the end-of-text token again; every token after the first is predicted. So the number does not depend on
the training block length or on which posts happen to share a block.

    bits per character = total nats / ln 2 / total characters

where the characters are the posts' plus one per post for its end (the separator counts as one
character whatever the tokenizer makes of it).
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class EvalResult:
    loss: float
    """Mean cross-entropy per predicted token, in nats."""
    bits_per_char: float
    tokens: int
    chars: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


MAX_WIDTH_RATIO = 1.25
"""A batch holds posts at most this much longer than its shortest one. Padding is computed and thrown
away: with the token budget alone, the sample archive's 40 validation posts fell into two batches of
which 46% was padding, and scoring took 8.4-9.5 s; with this bound, 7 batches, 8% padding, 5.5 s (2-core
CPU, bench/README.md attempt 40)."""


def length_batches(seqs: list[list[int]], batch_tokens: int) -> list[list[list[int]]]:
    """Cut sequences sorted by length into batches of at most ``batch_tokens`` tokens once padded (a
    longer sequence goes alone), whose longest is at most ``MAX_WIDTH_RATIO`` times the shortest. The
    budget bounds the logits' memory (tokens x vocabulary x 4 bytes)."""
    out: list[list[list[int]]] = []
    i = 0
    while i < len(seqs):
        j = i + 1
        while (j < len(seqs) and (j - i + 1) * len(seqs[j]) <= batch_tokens
               and len(seqs[j]) <= MAX_WIDTH_RATIO * len(seqs[i])):
            j += 1
        out.append(seqs[i:j])
        i = j
    return out


def evaluate(model, posts: list[list[int]], eot_id: int, chars: int, *, device: Any = "cpu",
             autocast: AbstractContextManager | None = None, max_length: int = 1024,
             batch_tokens: int = 2048, rank: int = 0, world: int = 1) -> EvalResult | None:
    """Score the validation posts; ``None`` when there are none. Under DDP each process scores its share
    and the sums are added up, so every process returns the same result."""
    import torch
    import torch.nn.functional as F

    if not posts:
        return None
    seqs = [[eot_id] + p[: max_length - 2] + [eot_id] for p in posts]
    mine = sorted(seqs[rank::world], key=len)
    nats = torch.zeros((), dtype=torch.float64)
    count = torch.zeros((), dtype=torch.float64)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in length_batches(mine, batch_tokens):
                width = len(batch[-1])
                ids = torch.full((len(batch), width), eot_id, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for k, s in enumerate(batch):
                    ids[k, : len(s)] = torch.tensor(s)
                    mask[k, : len(s)] = 1
                # Position t predicts token t + 1; the last position and padding predict nothing. Shifting
                # the targets rather than slicing the logits saves a copy of the largest tensor here.
                target = torch.full_like(ids, -100)
                target[:, :-1] = ids[:, 1:].masked_fill(mask[:, 1:] == 0, -100)
                ids, mask, target = ids.to(device), mask.to(device), target.to(device)
                with autocast or nullcontext():
                    logits = model(input_ids=ids, attention_mask=mask).logits
                loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), target.reshape(-1),
                                       ignore_index=-100, reduction="sum")
                nats += loss.double().cpu()
                count += (target != -100).sum().double().cpu()
    finally:
        model.train(was_training)
    if world > 1:
        import torch.distributed as dist

        sums = torch.stack([nats, count])
        if dist.get_backend() == "nccl":
            sums = sums.to(device)
        dist.all_reduce(sums)
        nats, count = sums[0].cpu(), sums[1].cpu()
    total, n = float(nats), int(count)
    return EvalResult(total / max(n, 1), total / math.log(2) / max(chars, 1), n, chars)
