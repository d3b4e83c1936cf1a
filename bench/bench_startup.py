"""Benchmark: start-up. `huggingtweets --help` and `prepare --help` wall time from a fresh process, side by
side with a bare `python -c pass` (the interpreter's own start) and `python -c "import torch"` (what
importing the deep-learning stack would add); and which heavy modules `prepare` imports.

    .venv/bin/python bench/bench_startup.py --repeat 7

Prints a table and writes bench/results/startup-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import write_report  # bench/, first on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "peft", "wandb", "huggingface_hub", "PIL")


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", help="JSON file [default: bench/results/startup-<time>.json]")
    args = ap.parse_args()

    exe = sys.executable
    cli = str(Path(exe).with_name("huggingtweets"))
    contenders = {
        "python -c pass": [exe, "-c", "pass"],
        "huggingtweets --help": [cli, "--help"],
        "huggingtweets prepare --help": [cli, "prepare", "--help"],
        "python -c 'import torch'": [exe, "-c", "import torch"],
    }
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
        env = {**os.environ, "HUGGINGTWEETS_HOME": home}
        for cmd in contenders.values():
            wall(cmd, env)  # warm the file cache
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for _ in range(args.repeat):
            for name, cmd in contenders.items():  # alternated: noise hits all alike
                times[name].append(wall(cmd, env))
        # What `prepare` imports, on the sample archive.
        probe = ("import sys, runpy; sys.argv = ['huggingtweets', 'prepare', "
                 f"'archive:{ROOT / 'examples' / 'sample-archive.zip'}', '-o', '{home}/ds', '-q']\n"
                 "try:\n    runpy.run_module('huggingtweets', run_name='__main__')\n"
                 "except SystemExit:\n    pass\n"
                 f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
        out = subprocess.run([exe, "-c", probe], env=env, capture_output=True, text=True, check=True)
        heavy = json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"'))

    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [("command", "median s", "min s")] + [(k, f"{med[k]:.3f}", f"{min(v):.3f}") for k, v in times.items()]
    table = "\n".join(f"{a:<30} {b:>9} {c:>9}" for a, b, c in rows)
    print(table)
    print(f"heavy modules imported by `prepare`: {heavy or 'none'}")
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "seconds": times, "median": med, "prepare_heavy_imports": heavy, "table": table,
    }
    write_report(report, args.out, "startup")


if __name__ == "__main__":
    main()
