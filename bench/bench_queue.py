"""Benchmark: the web app's training jobs on the queue (RQ on Redis). Jobs per hour with 1 and 2
`huggingtweets worker` processes on this machine, and the queue's overhead per job: one job's time from
enqueue to finished, less the same job run directly (`runner train`, as the embedded queue runs it).

Tiny model (tests/tiny_model.py), made-up datasets; a redis-server of its own on 127.0.0.1, no
persistence. Needs Debian's redis-server and the `queue` extra.

    .venv/bin/python bench/bench_queue.py --jobs 6 --steps 20

Prints a table and writes bench/results/queue-<time>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import write_report  # bench/, first on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    import redis

    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("no redis-server on PATH: run scripts/install_debian_packages.sh")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(200):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start")


def make_jobs(root: Path, n: int, base: Path, steps: int):
    """``n`` jobs of ``n`` sessions (a dataset each), as the app submits them."""
    from huggingtweets.app.jobs import TrainingJob
    from huggingtweets.training.recipes import resolve_config
    from tiny_model import make_dataset, make_posts

    config = resolve_config("quick", {"base_model": str(base), "max_steps": steps}).to_dict()
    jobs = []
    for i in range(n):
        session = root / "sessions" / f"bench{i:04d}"
        ds = make_dataset(session / "datasets" / "ds", make_posts(300, seed=i), handle=f"poster{i}")
        spec = {"dataset": str(ds), "output": str(session / "bots" / f"poster{i}"), "config": config,
                "resume": False, "tracker": "none"}
        jobs.append(TrainingJob(f"b{i:04d}", session / "jobs" / f"b{i:04d}", spec))
    return jobs


def run_queue(url: str, root: Path, jobs, workers: int) -> float:
    """Seconds from enqueueing ``jobs`` until ``workers`` burst workers have finished them all."""
    import redis

    from huggingtweets.app.rq_queue import RQTrainingQueue

    redis.Redis.from_url(url).flushall()
    for job in jobs:
        shutil.rmtree(job.spec["output"], ignore_errors=True)
    queue = RQTrainingQueue(url, max_per_session=10**6, max_queued=10**6, root=root)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    for job in jobs:
        queue.submit(job)
    procs = [subprocess.Popen([sys.executable, "-m", "huggingtweets", "worker", "--queue", url, "--burst",
                               "--shared-dir", str(root)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    for p in procs:
        p.wait()
    seconds = time.perf_counter() - started
    queue.refresh()
    queue.close()
    bad = [j.id for j in jobs if j.status != "done"]
    if bad:
        sys.exit(f"jobs not done: {bad} ({jobs[0].message})")
    return seconds


def run_direct(jobs) -> float:
    """Seconds to run the jobs one after another without the queue (the embedded queue's way)."""
    from huggingtweets.app.jobs import TrainingQueue

    queue = TrainingQueue()
    started = time.perf_counter()
    for job in jobs:
        shutil.rmtree(job.spec["output"], ignore_errors=True)
        job.folder.mkdir(parents=True, exist_ok=True)
        import orjson

        (job.folder / "job.json").write_bytes(orjson.dumps(job.spec))
        queue._run(job)
        if job.status != "done":
            sys.exit(f"direct run of {job.id} failed: {job.message}")
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=6, help="jobs per measurement")
    ap.add_argument("--steps", type=int, default=20, help="training steps per job")
    ap.add_argument("--out", help="JSON file [default: bench/results/queue-<time>.json]")
    args = ap.parse_args()
    from tiny_model import save_tiny_model

    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        tmp = Path(tmp)
        os.environ["HUGGINGTWEETS_HOME"] = str(tmp / "home")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("WANDB_MODE", "disabled")
        redis_proc, url = start_redis(tmp)
        try:
            base = save_tiny_model(tmp / "tiny")
            root = tmp / "home" / "app"
            jobs = make_jobs(root, args.jobs, base, args.steps)
            direct = run_direct(jobs[:1])  # one job, without the queue
            one = run_queue(url, root, jobs, 1)
            single = run_queue(url, root, jobs[:1], 1)
            two = run_queue(url, root, jobs, 2)
        finally:
            redis_proc.terminate()
            redis_proc.wait(10)
    rows = [("setting", "jobs", "seconds", "jobs/hour"),
            ("1 worker", args.jobs, f"{one:.1f}", f"{args.jobs * 3600 / one:.0f}"),
            ("2 workers", args.jobs, f"{two:.1f}", f"{args.jobs * 3600 / two:.0f}"),
            ("one job, direct (no queue)", 1, f"{direct:.1f}", f"{3600 / direct:.0f}"),
            ("one job, on the queue", 1, f"{single:.1f}", f"{3600 / single:.0f}")]
    table = "\n".join(f"{a:<28} {b:>5} {c:>9} {d:>10}" for a, b, c, d in rows)
    overhead = single - direct
    print(table)
    print(f"queue overhead per job (enqueue to finished, less the direct run; includes starting the burst "
          f"worker process): {overhead:.2f} s")
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "jobs": args.jobs, "steps": args.steps,
        "seconds": {"one_worker": one, "two_workers": two, "direct_one_job": direct, "queue_one_job": single},
        "jobs_per_hour": {"one_worker": args.jobs * 3600 / one, "two_workers": args.jobs * 3600 / two},
        "overhead_per_job_s": overhead, "table": table,
    }
    write_report(report, args.out, "queue")


if __name__ == "__main__":
    main()
