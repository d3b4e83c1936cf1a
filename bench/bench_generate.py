"""Ten posts after the model is loaded: huggingtweets' generation against a plain transformers pipeline.

Both sample with the same settings (do_sample, top_p 0.95, temperature 1.0, top-k 50 — transformers'
default — and the same length limit: the model's stored max_length of 160 tokens including the
end-of-text prefix) and both load the model before the clock starts. The pipeline runs each sample to
that limit or to the end-of-text token and the caller cuts at the first newline, as the original demo
did; ``Bot.generate`` stops each sample at its first newline, computes in bf16 where the CPU or GPU
does so natively, and otherwise (fp32 on a CPU) multiplies by weights packed once for oneDNN.

    python bench/bench_generate.py MODEL_FOLDER              # a folder written by `huggingtweets train`
    python bench/bench_generate.py MODEL_FOLDER --repeats 5 --n 10
    python bench/bench_generate.py MODEL_FOLDER --no-pack    # huggingtweets without packed weights

Prints a table and writes the numbers to bench/results/generate-<time>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _report import write_report  # bench/, first on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model folder (default recipe output); 'embedded' for the base model")
    p.add_argument("--prompt", default="My dream is")
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--max-length", type=int, default=160, help="tokens, prefix and prompt included")
    p.add_argument("--dtype", default="auto", help="huggingtweets' arithmetic: auto, bf16 or fp32")
    p.add_argument("--no-pack", action="store_true", help="huggingtweets without oneDNN-packed weights")
    p.add_argument("--out", help="JSON file [default: bench/results/generate-<time>.json]")
    args = p.parse_args()

    import torch
    from transformers import pipeline

    from huggingtweets.generate import Bot
    from huggingtweets.training.base_models import convert_embedded, embedded_folder

    folder = Path(args.model)
    if args.model == "embedded":
        folder = convert_embedded(embedded_folder())

    t = time.perf_counter()
    bot = Bot.load(folder, dtype=args.dtype, pack=not args.no_pack)
    bot.stop_ids()
    bot_load = time.perf_counter() - t
    t = time.perf_counter()
    pipe = pipeline("text-generation", model=str(folder))
    pipe_load = time.perf_counter() - t
    prefix = pipe.prefix or ""
    prompt_tokens = len(bot.tokenizer(prefix + args.prompt, add_special_tokens=False)["input_ids"])
    max_new = args.max_length - prompt_tokens

    def run_pipeline(seed: int) -> list[str]:
        torch.manual_seed(seed)
        out = pipe(args.prompt, num_return_sequences=args.n, do_sample=True, top_p=0.95, temperature=1.0,
                   max_length=args.max_length)
        return [o["generated_text"].split("\n", 1)[0] for o in out]

    def run_bot(seed: int) -> list[str]:
        return [g.text for g in bot.generate(args.prompt, args.n, temperature=1.0, top_p=0.95,
                                             max_new_tokens=max_new, seed=seed, copies="keep")]

    run_bot(0), run_pipeline(0)  # warm-up: first calls allocate and pick kernels
    times: dict[str, list[float]] = {"pipeline": [], "huggingtweets": []}
    samples: dict[str, list[str]] = {}
    for r in range(args.repeats):
        # Alternated, so that a slower moment of a shared machine hits both.
        for name, fn in (("pipeline", run_pipeline), ("huggingtweets", run_bot)):
            t = time.perf_counter()
            samples[name] = fn(100 + r)
            times[name].append(time.perf_counter() - t)

    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [("generator", "median s", "min s", "posts/s", "load s"),
            ("pipeline", f"{med['pipeline']:.2f}", f"{min(times['pipeline']):.2f}",
             f"{args.n / med['pipeline']:.2f}", f"{pipe_load:.2f}"),
            ("huggingtweets", f"{med['huggingtweets']:.2f}", f"{min(times['huggingtweets']):.2f}",
             f"{args.n / med['huggingtweets']:.2f}", f"{bot_load:.2f}")]
    table = "\n".join("  ".join(c.rjust(12) if i else c.ljust(14) for i, c in enumerate(row)) for row in rows)
    speedup = med["pipeline"] / med["huggingtweets"]
    print(table)
    print(f"speed-up: {speedup:.2f}x ({args.n} posts, {args.repeats} repeats, up to {max_new} new tokens)")
    for name, texts in samples.items():
        print(f"\n{name} samples:")
        for s in texts[:3]:
            print(f"  {s}")

    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                    # bf16 only pays on CPUs that compute it natively (AVX-512 BF16, AMX); else fp32 runs.
                    "cpu_capability": torch.backends.cpu.get_cpu_capability()},
        "model": str(folder), "n": args.n, "max_new_tokens": max_new,
        "seconds": times, "median": med, "speedup": speedup,
        "bot_dtype": str(bot.model.dtype), "dtype_option": args.dtype,
        "packed": any(type(m).__name__ == "PackedLinear" for m in bot.model.modules()), "samples": samples, "table": table,
    }
    write_report(report, args.out, "generate")


if __name__ == "__main__":
    main()
