"""Time-to-bot: the `huggingtweets` recipe against the tuned ones, on the same data, machine and model.

Each recipe trains in its own process (so peak memory is its own), from the same dataset folder, and the
numbers are the whole `train()` call: model loading, tokenization, training, evaluation and saving.

    python bench/bench_recipes.py                                   # sample archive, three recipes
    python bench/bench_recipes.py --source file:posts.csv --handle jane
    python bench/bench_recipes.py --max-posts 60 --max-steps 2      # a smoke test in a minute
    python bench/bench_recipes.py --recipes quick --variant fast=quick,learning_rate=5e-4

Prints a table and writes the numbers to bench/results/recipes-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import write_report  # bench/, first on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(args: argparse.Namespace) -> None:
    """Train one recipe; print its metrics as the last line of stdout."""
    start = time.perf_counter()
    from huggingtweets.training import resolve_config, train

    overrides = json.loads(args.child_overrides)
    cfg = resolve_config(args.child_recipe, overrides)
    result = train(args.dataset, args.child_out, cfg, progress=args.progress)
    metrics = {k: v for k, v in result.metrics.items() if k != "log_history"}
    metrics["process_seconds"] = round(time.perf_counter() - start, 2)
    metrics["config"] = result.config.to_dict()
    print(json.dumps(metrics))


def make_dataset(args: argparse.Namespace, tmp: Path) -> Path:
    from huggingtweets.api import Dataset, prepare
    from huggingtweets.sources import SourceOptions

    if args.dataset:
        folder = Path(args.dataset)
        Dataset.open(folder)
    else:
        # With --keep the dataset stays beside the bots, so that they can be evaluated afterwards.
        where = Path(args.keep) / "dataset" if args.keep else tmp / "dataset"
        folder = prepare([args.source], where, source_options=SourceOptions(handle=args.handle),
                         min_chars=0).path
    if args.max_posts:
        from huggingtweets.dataset.folder import read_jsonl

        small = tmp / "dataset-small"
        small.mkdir()
        rows = read_jsonl(folder / "train.jsonl")
        random.Random(0).shuffle(rows)
        valid = read_jsonl(folder / "valid.jsonl")[: max(2, args.max_posts // 10)]
        for name, part in (("train.jsonl", rows[: args.max_posts]), ("valid.jsonl", valid)):
            (small / name).write_text("".join(json.dumps(r) + "\n" for r in part))
        (small / "stats.json").write_text((folder / "stats.json").read_text())
        folder = small
    return folder


def parse_variant(spec: str) -> tuple[str, str, dict]:
    """``NAME=RECIPE[,key=value...]`` -> (name, recipe, overrides); values parsed as JSON when they can be."""
    name, _, rest = spec.partition("=")
    recipe, *pairs = rest.split(",")
    overrides = {}
    for pair in pairs:
        k, _, v = pair.partition("=")
        try:
            overrides[k] = json.loads(v)
        except json.JSONDecodeError:
            overrides[k] = v
    return name, recipe, overrides


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default=f"archive:{ROOT / 'examples' / 'sample-archive.zip'}")
    p.add_argument("--handle", help="for a file source that does not say whose posts they are")
    p.add_argument("--dataset", help="an existing dataset folder (instead of --source)")
    p.add_argument("--recipes", default="huggingtweets,default,quick")
    p.add_argument("--variant", action="append", default=[], help="NAME=RECIPE[,key=value...] (repeatable)")
    p.add_argument("--base-model", help="default: the embedded model")
    p.add_argument("--max-posts", type=int, help="train on at most N posts (smoke tests)")
    p.add_argument("--max-steps", type=int, help="stop each run after N steps (smoke tests)")
    p.add_argument("--out", help="JSON file [default: bench/results/recipes-<time>.json]")
    p.add_argument("--progress", action="store_true")
    p.add_argument("--keep", help="a folder to keep the trained models in (one subfolder per run) and the "
                                  "prepared dataset (KEEP/dataset)")
    p.add_argument("--child-recipe", help=argparse.SUPPRESS)
    p.add_argument("--child-overrides", help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_recipe:
        child(args)
        return

    runs = [(r, r, {}) for r in args.recipes.split(",") if r] + [parse_variant(v) for v in args.variant]
    if not args.base_model:
        # The embedded model's one-time conversion is not part of any run's time.
        from huggingtweets.training.base_models import convert_embedded, embedded_folder

        convert_embedded(embedded_folder())
    with tempfile.TemporaryDirectory(prefix="bench-recipes-") as tmpdir:
        tmp = Path(tmpdir)
        dataset = make_dataset(args, tmp)
        results = []
        for name, recipe, overrides in runs:
            if args.max_steps:
                overrides = {**overrides, "max_steps": args.max_steps}
            if args.base_model:
                overrides = {**overrides, "base_model": args.base_model}
            cmd = [sys.executable, __file__, "--dataset", str(dataset), "--child-recipe", recipe,
                   "--child-overrides", json.dumps(overrides),
                   "--child-out", str(Path(args.keep) / name if args.keep else tmp / f"model-{name}")]
            if args.progress:
                cmd.append("--progress")
            print(f"{name}: training ...", file=sys.stderr, flush=True)
            t = time.perf_counter()
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
            if proc.returncode != 0:
                sys.exit(f"{name} failed with exit code {proc.returncode}")
            m = json.loads(proc.stdout.strip().splitlines()[-1])
            m.update(name=name, recipe=recipe, overrides=overrides,
                     subprocess_seconds=round(time.perf_counter() - t, 2))
            results.append(m)
            print(f"{name}: {m['wall_seconds']:.1f} s, {m['eval_bits_per_char']:.4f} bits/char",
                  file=sys.stderr, flush=True)

    ref = next((r for r in results if r["recipe"] == "huggingtweets"), results[0])
    rows = [("run", "wall s", "tok/s", "peak RSS MB", "bits/char", "val loss", "steps", "time ratio",
             "bpc vs ref")]
    for r in results:
        rows.append((r["name"], f"{r['wall_seconds']:.1f}", f"{r['tokens_per_second']:.0f}",
                     f"{r['peak_rss_mb']:.0f}", f"{r['eval_bits_per_char']:.4f}", f"{r['eval_loss']:.4f}",
                     str(r["steps"]), f"{r['wall_seconds'] / ref['wall_seconds']:.3f}",
                     f"{(r['eval_bits_per_char'] / ref['eval_bits_per_char'] - 1) * 100:+.1f}%"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    table = "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
                      for row in rows)
    print(table)

    import torch

    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                    # bf16 only pays on CPUs that compute it natively (AVX-512 BF16, AMX); else fp32 runs.
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "dataset": str(args.dataset or args.source), "max_posts": args.max_posts, "reference": ref["name"],
        "results": results,
        "table": table,
    }
    write_report(report, args.out, "recipes")


if __name__ == "__main__":
    main()
