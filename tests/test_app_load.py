"""The web app under load, on 127.0.0.1 only: 50 visitors at once each upload a small archive and prepare
it, then 20 requests at once ask one bot for posts. No request may fail or answer 5xx, each visitor's
dataset must be its own, the server's memory must stay bounded; p50/p95 latencies are printed
(``.venv/bin/python -m pytest tests/test_app_load.py -s -q``)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("python_multipart", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("uvicorn", reason="the web app needs its extra: pip install 'huggingtweets[app]'")

from huggingtweets.app import create_app  # noqa: E402
from huggingtweets.app.sessions import COOKIE  # noqa: E402

from app_helpers import LiveServer, archive  # noqa: E402

N_SESSIONS = 50
N_GENERATE = 20
N_PREDICTIONS = 10
BUSY = "posts are being written; wait for them"
RSS_GROWTH_LIMIT_MB = 400  # the server's process (this one), from after a warm-up visit to the end
DEADLINE_S = 80  # the whole load, both phases: the test fails rather than hang


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Visitor:
    """One browser: its own cookie and CSRF token, one connection to the server at a time."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""
        self.csrf = ""
        self.calls: list[tuple[str, int, float]] = []  # (kind, status, seconds)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                kind: str = "") -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        h = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookie:
            h["Cookie"] = f"{COOKIE}={self.cookie}"
        if self.csrf and method != "GET":
            h["X-CSRF-Token"] = self.csrf
        start = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            raw = r.read()
        finally:
            conn.close()
        took = time.perf_counter() - start
        for value in r.headers.get_all("set-cookie") or []:
            name, _, rest = value.partition("=")
            if name.strip() == COOKIE:
                self.cookie = rest.split(";")[0]
        self.calls.append((kind or path, r.status, took))
        ctype = r.getheader("content-type") or ""
        return r.status, (json.loads(raw) if "json" in ctype else raw)

    def open_page(self) -> None:
        status, _ = self.request("GET", "/", kind="page")
        assert status == 200
        status, state = self.request("GET", "/api/state", kind="state")
        assert status == 200 and self.cookie
        self.csrf = state["csrf"]

    def state(self) -> dict:
        status, state = self.request("GET", "/api/state", kind="state")
        assert status == 200, (status, state)
        return state

    def prepare(self, zip_path: Path) -> tuple[int, Any]:
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"kind0\"\r\n\r\nupload\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file0\"; filename=\"{zip_path.name}\"\r\n"
                f"Content-Type: application/zip\r\n\r\n").encode() + zip_path.read_bytes() + \
            f"\r\n--{boundary}--\r\n".encode()
        return self.request("POST", "/api/prepare", body,
                            {"Content-Type": f"multipart/form-data; boundary={boundary}"}, kind="prepare")

    def generate(self, seed: int) -> tuple[int, Any]:
        body = json.dumps({"prompt": "My dream is", "seed": seed}).encode()
        return self.request("POST", "/api/generate", body, {"Content-Type": "application/json"}, kind="generate")


def run_all(target, args: list[tuple], deadline: float) -> list[BaseException | None]:
    """Run ``target(*a)`` for each ``a`` in its own thread, all released at once; their errors."""
    barrier = threading.Barrier(len(args))
    errors: list[BaseException | None] = [None] * len(args)

    def one(i: int, a: tuple) -> None:
        try:
            barrier.wait(30)
            target(*a)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors[i] = e

    threads = [threading.Thread(target=one, args=(i, a), daemon=True) for i, a in enumerate(args)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(1.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "the load did not finish in time"
    return errors


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    pytest.importorskip("torch")
    from tiny_model import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("base") / "tiny")


@pytest.mark.slow
def test_fifty_visitors_prepare_and_twenty_requests_write_posts(tmp_path, tiny_base):
    from tiny_model import make_dataset

    zips = [archive(tmp_path / f"load{i:02d}.zip", f"load_acct_{i:02d}", n=200 + i, seed=i,
                    account_id=str(7_000_000 + i)) for i in range(N_SESSIONS)]
    app = create_app()
    deadline = time.monotonic() + DEADLINE_S
    with LiveServer(app) as server:
        # A warm-up visit, so that what is imported once (the sources, the store) is not counted as growth.
        warm = Visitor(server.port)
        warm.open_page()
        assert warm.prepare(archive(tmp_path / "warm.zip", "warm_acct", n=200))[0] == 202
        while warm.state()["prepare"]["status"] == "running":
            time.sleep(0.1)
        assert warm.state()["prepare"]["status"] == "done"
        rss_before = rss_mb()

        # --- 50 visitors at once: open the page, upload, wait for the dataset ----------------------------
        visitors = [Visitor(server.port) for _ in range(N_SESSIONS)]
        results: list[dict | None] = [None] * N_SESSIONS
        ends: list[float] = [0.0] * N_SESSIONS

        def visit(i: int) -> None:
            v = visitors[i]
            v.open_page()
            start = time.perf_counter()
            status, answer = v.prepare(zips[i])
            assert status == 202, (status, answer)
            state = v.state()
            while state["prepare"]["status"] == "running":
                assert time.monotonic() < deadline, "preparing did not finish in time"
                time.sleep(0.2)
                state = v.state()
            ends[i] = time.perf_counter() - start
            results[i] = state

        errors = run_all(visit, [(i,) for i in range(N_SESSIONS)], deadline)
        assert errors == [None] * N_SESSIONS, [repr(e) for e in errors if e]
        assert len({v.cookie for v in visitors}) == N_SESSIONS
        for i, state in enumerate(results):
            assert state["prepare"]["status"] == "done", state["prepare"]
            ds = state["dataset"]
            assert [u["handle"] for u in ds["users"]] == [f"load_acct_{i:02d}"], ds["users"]
            assert ds["table"]["rows"][0] == ["Tweets downloaded", 200 + i]
            assert state["sources"] == [zips[i].name]
        assert len({s["dataset"]["hash"] for s in results}) == N_SESSIONS
        prepare_ends = ends[:]

        # --- one bot (a model folder as training leaves it), 20 requests for posts at once -------------
        owner = Visitor(server.port)
        owner.open_page()
        session = app.state.ht.sessions.get(owner.cookie)
        folder = session.bots / "marsh_warbler"
        shutil.copytree(tiny_base, folder)
        shutil.copy(make_dataset(tmp_path / "ds", handle="marsh_warbler") / "stats.json", folder)
        session.update(model={"bot": "marsh_warbler", "folder": "marsh_warbler"},
                       dataset={"bot": "marsh_warbler", "users": [{"handle": "marsh_warbler"}]})
        # Twenty tabs of the visitor, each asking until it has its posts (one set is written at a time).
        tabs = []
        for _ in range(N_GENERATE):
            tab = Visitor(server.port)
            tab.cookie, tab.csrf = owner.cookie, owner.state()["csrf"]
            tabs.append(tab)
        gen_ends: list[float] = [0.0] * N_GENERATE
        busy = [0] * N_GENERATE

        def ask(i: int) -> None:
            start = time.perf_counter()
            while True:
                assert time.monotonic() < deadline, "writing posts did not finish in time"
                status, answer = tabs[i].generate(seed=i)
                if status == 400 and answer == {"error": BUSY}:
                    busy[i] += 1
                    time.sleep(0.2)  # as the page polls
                    continue
                assert status == 200, (status, answer)
                predictions = answer["predictions"]
                assert len(predictions) == N_PREDICTIONS
                for p in predictions:
                    assert isinstance(p["text"], str) and isinstance(p["copy"], bool)
                    assert isinstance(p["share"], dict) and (p["copy"] or p["share"])
                gen_ends[i] = time.perf_counter() - start
                return

        errors = run_all(ask, [(i,) for i in range(N_GENERATE)], deadline)
        assert errors == [None] * N_GENERATE, [repr(e) for e in errors if e]
        workers = list(app.state.ht.generators._workers.values())
        worker_rss = sum(rss_mb(w.proc.pid) for w in workers if w.alive())
        rss_after = rss_mb()

    # One set of posts is written at a time per visitor: the others were told to wait, never run at once.
    assert sum(busy) > 0
    calls = [c for v in visitors + tabs for c in v.calls]
    assert not [c for c in calls if c[1] >= 500], "5xx answers"
    assert all(c[1] < 400 or (c[0] == "generate" and c[1] == 400) for c in calls)

    rows = [("prepare: POST /api/prepare", [t for k, s, t in calls if k == "prepare"]),
            ("prepare: upload to dataset", prepare_ends),
            ("GET /api/state (both phases)", [t for k, s, t in calls if k == "state"]),
            ("generate: POST answered 200", [t for k, s, t in calls if k == "generate" and s == 200]),
            ("generate: request to posts", gen_ends)]
    print(f"\nload on 127.0.0.1: {N_SESSIONS} visitors preparing at once, {N_GENERATE} requests for posts "
          f"at once ({sum(busy)} 'busy' answers retried), {os.cpu_count()} CPUs")
    print(f"{'latency (s)':32} {'n':>5} {'p50':>7} {'p95':>7} {'max':>7}")
    for name, values in rows:
        print(f"{name:32} {len(values):5d} {statistics.median(values):7.3f} {pct(values, 0.95):7.3f} "
              f"{max(values):7.3f}")
    growth = rss_after - rss_before
    print(f"server RSS: {rss_before:.0f} MB -> {rss_after:.0f} MB (+{growth:.0f} MB, limit "
          f"{RSS_GROWTH_LIMIT_MB} MB); generation worker(s): {len(workers)}, {worker_rss:.0f} MB")
    assert growth < RSS_GROWTH_LIMIT_MB
    assert len(workers) == 1  # one bot: one worker, however many requests
