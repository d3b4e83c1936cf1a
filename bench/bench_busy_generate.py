"""Ten posts while a training run computes on the same cores, with and without the thread share.

On 2 cores a 4-post `generate` beside a training run took 280 s instead of ~10, and the web app's
"Write 10 posts" 90 s during training: torch's thread pools of two processes spinning against each other
(issue 16). This times ``Bot.generate`` (the model loaded before the clock starts) in four situations,
each in a fresh process, so that its thread pools are sized as a real command's would be:

    idle           nothing else running; generating with the share rule (``training.hardware``)
    idle-default   nothing else running; torch's defaults (every core, libgomp's long spin)
    busy-default   beside a training run (quick recipe on the sample archive), torch's defaults on both
                   sides: how it was before the rule
    busy-share     beside the same training run started as the web app starts its worker
                   (``hardware.worker_env("train")``, ``lower_priority``), generating with the share
                   (``generation_threads``, as ``huggingtweets generate`` and the app's worker do)

The clock starts once the training run has done ``--warm-steps`` steps. Target: busy-share <= 3 x idle.

    python bench/bench_busy_generate.py                     # the embedded base model, 10 posts, 3 repeats
    python bench/bench_busy_generate.py MODEL_FOLDER --n 10 --repeats 3
    python bench/bench_busy_generate.py --smoke             # a tiny model and dataset, 2 posts: ~1.5 min
                                                            # (mostly starting the processes)

Prints a table and writes the numbers to bench/results/busy-generate-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from _report import write_report  # bench/, first on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
SITUATIONS = (("idle", False, True), ("idle-default", False, False), ("busy-default", True, False),
              ("busy-share", True, True))
"""(name, beside a training run, with the thread share)."""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any thread setting (torch's defaults), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["TOKENIZERS_PARALLELISM"] = "false"
    return {**env, **(extra or {})}


# --- the child processes ------------------------------------------------------------------------------


def run_trainer(args: argparse.Namespace) -> None:
    """Train until killed, printing ``step N`` as each step is logged."""
    from huggingtweets.training import resolve_config, train
    from huggingtweets.training.hardware import lower_priority

    if args.share:
        lower_priority()  # what the web app's training worker does (its env came from the parent)
    cfg = resolve_config("quick", {"base_model": args.base, "epochs": 1000, "checkpoint_minutes": 0})

    def on_log(record: dict[str, Any]) -> None:
        if "loss" in record:
            print(f"step {record['step']}", flush=True)

    train(args.dataset, args.output, cfg, on_log=on_log)


def run_generator(args: argparse.Namespace) -> None:
    """Load the model, warm up, time ``--repeats`` lists of ``--n`` posts; print one JSON line."""
    busy = threads = None
    if args.share:
        from huggingtweets.training.hardware import busy_cores, generation_threads, usable_cores, use_threads

        cores, busy = usable_cores(), busy_cores()
        threads = generation_threads(cores, busy)
        use_threads(threads, busy=threads < cores)  # as `huggingtweets generate` does, before torch
    import torch

    from huggingtweets.generate import Bot

    bot = Bot.load(args.model)
    bot.generate(args.prompt, 2, seed=0, max_new_tokens=8, copies="keep")  # kernels picked, memory allocated
    times, tokens = [], []
    for r in range(args.repeats):
        t = time.perf_counter()
        posts = bot.generate(args.prompt, args.n, seed=100 + r, copies="keep")
        times.append(time.perf_counter() - t)
        tokens.append(sum(p.tokens for p in posts))
    print(json.dumps({"seconds": times, "tokens": tokens, "threads": torch.get_num_threads(),
                      "busy_cores": busy, "dtype": str(bot.model.dtype)}), flush=True)


# --- the parent ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def training_run(args: argparse.Namespace, dataset: Path, base: str, tmp: Path, share: bool) -> Iterator[None]:
    """A training run in its own process group, past ``args.warm_steps`` steps; killed on exit."""
    from huggingtweets.training.hardware import worker_env

    env = child_env(worker_env("train") if share else None)
    cmd = [sys.executable, __file__, "--role", "train", "--dataset", str(dataset), "--base", base,
           "--output", str(tmp / f"bot-{time.monotonic_ns()}")] + (["--share"] if share else [])
    with open(tmp / "train.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env, start_new_session=True,
                                text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("step ") and int(line.split()[1]) >= args.warm_steps:
                break
        else:
            raise SystemExit(f"the training run ended before step {args.warm_steps}; see {tmp / 'train.log'}")
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def time_posts(args: argparse.Namespace, model: Path, share: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--role", "generate", str(model), "--n", str(args.n), "--repeats",
           str(args.repeats), "--prompt", args.prompt] + (["--share"] if share else [])
    out = subprocess.run(cmd, env=child_env(), capture_output=True, text=True, timeout=args.timeout)
    if out.returncode != 0:
        raise SystemExit(f"the generating process failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare_inputs(args: argparse.Namespace, tmp: Path) -> tuple[Path, str, Path]:
    """(dataset, base model for training, model for generating)."""
    if args.smoke:
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_model import make_dataset, save_tiny_model

        model = save_tiny_model(tmp / "tiny-model")
        return make_dataset(tmp / "dataset"), str(model), Path(args.model or model)
    from huggingtweets.api import prepare
    from huggingtweets.training.base_models import convert_embedded, embedded_folder

    dataset = prepare([f"archive:{ROOT / 'examples' / 'sample-archive.zip'}"], tmp / "dataset").path
    return dataset, "embedded", Path(args.model) if args.model else convert_embedded(embedded_folder())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="a model folder to generate with [default: the embedded base model]")
    p.add_argument("--n", type=int, default=10, help="posts per timed list")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--prompt", default="My dream is")
    p.add_argument("--warm-steps", type=int, default=2, help="training steps done before the clock starts")
    p.add_argument("--timeout", type=float, default=1800, help="seconds one generating process may take")
    p.add_argument("--smoke", action="store_true",
                   help="a tiny model and dataset, 2 posts once (to see that it runs)")
    p.add_argument("--out", help="JSON file [default: bench/results/busy-generate-<time>.json]")
    # The child processes (this script run again):
    p.add_argument("--role", choices=["train", "generate"], help=argparse.SUPPRESS)
    p.add_argument("--share", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dataset", help=argparse.SUPPRESS)
    p.add_argument("--base", help=argparse.SUPPRESS)
    p.add_argument("--output", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "train":
        return run_trainer(args)
    if args.role == "generate":
        return run_generator(args)
    if args.smoke:
        args.n, args.repeats, args.warm_steps = 2, 1, 1

    from huggingtweets.training.hardware import machine_cores

    with tempfile.TemporaryDirectory(prefix="bench-busy-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["HUGGINGTWEETS_HOME"] = str(tmp / "home")  # the sample's posts stay out of the user's store
        dataset, base, model = prepare_inputs(args, tmp)
        results: dict[str, dict[str, Any]] = {}
        for name, busy, share in SITUATIONS:
            with training_run(args, dataset, base, tmp, share) if busy else contextlib.nullcontext():
                results[name] = time_posts(args, model, share)
            print(f"{name}: {results[name]['seconds']}", flush=True)

    med = {k: statistics.median(r["seconds"]) for k, r in results.items()}
    rows = [("situation", "median s", "min s", "threads", "x idle")] + [
        (k, f"{med[k]:.2f}", f"{min(r['seconds']):.2f}", str(r["threads"]), f"{med[k] / med['idle']:.2f}")
        for k, r in results.items()]
    table = "\n".join("  ".join(c.rjust(10) if i else c.ljust(14) for i, c in enumerate(row)) for row in rows)
    ratio = med["busy-share"] / med["idle"]
    print(table)
    print(f"busy-share / idle: {ratio:.2f}x (target <= 3x: {'met' if ratio <= 3 else 'NOT met'}); "
          f"busy-default / idle: {med['busy-default'] / med['idle']:.2f}x; {args.n} posts, {args.repeats} "
          f"repeats, {machine_cores()} cores")
    import torch

    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "cores_usable": machine_cores(), "platform": platform.platform(),
                    "torch": torch.__version__},
        "model": str(model), "n": args.n, "repeats": args.repeats, "warm_steps": args.warm_steps,
        "results": results, "median": med, "busy_share_over_idle": ratio, "target_met": ratio <= 3,
        "table": table,
    }
    write_report(report, args.out, "busy-generate" + ("-smoke" if args.smoke else ""))


if __name__ == "__main__":
    main()
