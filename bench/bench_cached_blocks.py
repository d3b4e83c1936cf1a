"""What computing the fixed blocks' outputs once would save (issue 14's suggestion), measured on the
embedded model: one training step (forward, backward, fused AdamW) of a batch of 4x128 tokens with the
lowest N blocks fixed, run as training runs it today (every step through all blocks, the graph cut above
the fixed ones: ``training/strategy.py``), against the same step started from the fixed blocks' outputs
computed beforehand (what a second epoch would cost if they were cached).

    .venv/bin/python bench/bench_cached_blocks.py --fixed 10 20 --repeats 6

Each variant's steps alternate with the other's in one process after two warm-up steps; the table
gives median seconds per step and the ratio. A check first: the upper blocks run from the cached
outputs give the model's own logits (max difference printed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch


def load():
    from transformers import AutoModelForCausalLM

    from huggingtweets.training.base_models import embedded_folder

    return AutoModelForCausalLM.from_pretrained(str(embedded_folder()), dtype=torch.float32)


def upper(model, hidden: torch.Tensor, first: int) -> torch.Tensor:
    """The logits from the hidden states entering block ``first``."""
    inner = model.model
    positions = torch.arange(hidden.shape[1]).unsqueeze(0).expand(hidden.shape[0], -1)
    rope = inner.rotary_emb(hidden, positions)
    for block in inner.layers[first:]:
        out = block(hidden, attention_mask=None, position_ids=positions, position_embeddings=rope)
        hidden = out[0] if isinstance(out, tuple) else out
    return model.lm_head(inner.norm(hidden))


def lower(model, ids: torch.Tensor, n: int) -> torch.Tensor:
    """The hidden states leaving the lowest ``n`` blocks (what a cache would hold)."""
    inner = model.model
    with torch.no_grad():
        hidden = inner.embed_tokens(ids)
        positions = torch.arange(ids.shape[1]).unsqueeze(0).expand(ids.shape[0], -1)
        rope = inner.rotary_emb(hidden, positions)
        for block in inner.layers[:n]:
            out = block(hidden, attention_mask=None, position_ids=positions, position_embeddings=rope)
            hidden = out[0] if isinstance(out, tuple) else out
    return hidden


def loss_of(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def measure(n: int, repeats: int, batch: int, length: int) -> dict:
    from huggingtweets.training.strategy import freeze_lower_layers, trainable

    torch.manual_seed(0)
    model = load()
    model.train()
    model.config.use_cache = False
    freeze_lower_layers(model, n)
    params = list(trainable(model).values())
    opt = torch.optim.AdamW(params, lr=1e-5, fused=True)
    ids = torch.randint(0, model.config.vocab_size, (batch, length))
    cached = lower(model, ids, n)
    with torch.no_grad():
        check = (upper(model, cached, n) - model(ids).logits).abs().max().item()

    def step_full():
        loss_of(model(ids).logits, ids).backward()

    def step_cached():
        loss_of(upper(model, cached, n), ids).backward()

    times: dict[str, list[float]] = {"full": [], "cached": []}
    for i in range(repeats + 2):
        for name, fn in (("full", step_full), ("cached", step_cached)):
            start = time.perf_counter()
            fn()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if i >= 2:
                times[name].append(time.perf_counter() - start)
    full, cache = statistics.median(times["full"]), statistics.median(times["cached"])
    return {"fixed": n, "blocks": len(model.model.layers), "full_s": round(full, 3), "cached_s": round(cache, 3),
            "ratio": round(cache / full, 3), "max_logit_diff": check, "repeats": repeats, "batch": batch,
            "length": length, "threads": torch.get_num_threads()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fixed", type=int, nargs="+", default=[10, 20])
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--out", help="JSON file [default: bench/results/cached-blocks-<time>.json]")
    args = p.parse_args()
    rows = [measure(n, args.repeats, args.batch, args.length) for n in args.fixed]
    print("| blocks fixed | step s, every block run | step s, from cached outputs | ratio | max logit diff |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['fixed']} of {r['blocks']} | {r['full_s']} | {r['cached_s']} | {r['ratio']:.2f} | "
              f"{r['max_logit_diff']:.1e} |")
    out = Path(args.out or f"bench/results/cached-blocks-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
