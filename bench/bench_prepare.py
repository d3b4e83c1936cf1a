"""Benchmark: `huggingtweets prepare` on a large generated X archive, side by side with a plain
script applying the original cleaning rules (bench/plain_clean.py) to the same posts.

Each contender runs in its own process, timed by wall clock, with its peak RSS read from the kernel
(os.wait4). Runs alternate so that machine noise hits both alike; the table reports medians and ratios.

    .venv/bin/python bench/bench_prepare.py --posts 200000 --repeat 3

``--baseline DIR`` adds an earlier version of the code (a checkout, e.g. ``git worktree add DIR REV``)
as two more contenders, run alternately with the current code on the same archive.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err}")
    return wall, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "prepare.json"))
    ap.add_argument("--baseline", type=Path, default=None,
                    help="a checkout of an earlier version to run side by side (its code on PYTHONPATH)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ht-bench-"))
    archive = work / "archive.zip"
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_sample_archive.py"),
                    "--posts", str(args.posts), "-o", str(archive)], check=True)
    py = sys.executable
    runs: dict[str, list[tuple[float, int]]] = {"plain script": [], "prepare (new store)": [],
                                                 "prepare (already stored)": []}
    for i in range(args.repeat):
        env = dict(os.environ, HUGGINGTWEETS_HOME=str(work / f"home{i}"))
        runs["plain script"].append(timed([py, str(ROOT / "bench" / "plain_clean.py"), str(archive),
                                           str(work / "plain.jsonl")], env))
        cmd = [py, "-m", "huggingtweets", "prepare", f"archive:{archive}", "-o", str(work / f"ds{i}"),
               "-q", "--min-chars", "0"]
        runs["prepare (new store)"].append(timed(cmd, env))
        runs["prepare (already stored)"].append(timed(cmd, env))
        if args.baseline:
            base_env = dict(os.environ, HUGGINGTWEETS_HOME=str(work / f"base-home{i}"),
                            PYTHONPATH=str(args.baseline.resolve()))
            base_cmd = [py, "-m", "huggingtweets", "prepare", f"archive:{archive}", "-o",
                        str(work / f"base-ds{i}"), "-q", "--min-chars", "0"]
            runs.setdefault("baseline, new store", []).append(timed(base_cmd, base_env))
            runs.setdefault("baseline, already stored", []).append(timed(base_cmd, base_env))

    stats = json.loads((work / "ds0" / "stats.json").read_text())["users"][0]
    base = statistics.median(w for w, _ in runs["plain script"])
    rows = []
    for name, rs in runs.items():
        wall = statistics.median(w for w, _ in rs)
        rss = max(r for _, r in rs)
        rows.append({"name": name, "wall_s": round(wall, 2), "posts_per_s": round(args.posts / wall),
                     "peak_rss_mb": round(rss / 2**20), "time_vs_plain": round(wall / base, 2)})
    print(f"\nprepare benchmark: {args.posts:,} posts ({archive.stat().st_size / 2**20:.0f} MiB zip), "
          f"median of {args.repeat}, {os.cpu_count()} cores")
    print(f"{'contender':<26}{'wall s':>9}{'posts/s':>10}{'peak RSS MB':>13}{'time vs plain':>15}")
    for r in rows:
        print(f"{r['name']:<26}{r['wall_s']:>9}{r['posts_per_s']:>10,}{r['peak_rss_mb']:>13}{r['time_vs_plain']:>15}")
    print(f"counts: downloaded={stats['downloaded']:,} retweets={stats['retweets']:,} "
          f"short={stats['short']:,} kept={stats['kept']:,}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"posts": args.posts, "repeat": args.repeat, "rows": rows,
                               "counts": stats}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
