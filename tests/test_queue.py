"""The web app's training jobs on a real queue: a real redis-server on 127.0.0.1, real `huggingtweets worker`
processes, a tiny model trained for real. Without `--queue` the app keeps its embedded queue (test_app.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("python_multipart", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("rq", reason="the queue needs its extra: pip install 'huggingtweets[queue]'")
pytest.importorskip("redis", reason="the queue needs its extra: pip install 'huggingtweets[queue]'")
REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="no redis-server on PATH: run "
                                "scripts/install_debian_packages.sh (Debian's redis-server package)")

from starlette.testclient import TestClient  # noqa: E402

from huggingtweets import paths  # noqa: E402
from huggingtweets.app import Settings, create_app  # noqa: E402
from huggingtweets.app import jobs as jobs_mod  # noqa: E402
from huggingtweets.app.sessions import COOKIE  # noqa: E402

from app_helpers import archive, open_page, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _with_pytest() -> None:  # preexec_fn: a process of the tests dies with them, even when killed
    from huggingtweets.app.rq_worker import die_with_parent

    die_with_parent(signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A redis-server of its own: 127.0.0.1, a free port, no persistence, in a temporary folder."""
    import redis

    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder), "--protected-mode", "yes"],
                            stdout=open(folder / "redis.log", "wb"), stderr=subprocess.STDOUT,
                            preexec_fn=_with_pytest)
    url = f"redis://127.0.0.1:{port}/0"
    conn = redis.Redis.from_url(url)
    deadline = time.monotonic() + 20
    while True:
        try:
            conn.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"redis-server did not start: {(folder / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def queue_url(redis_url):
    """The queue, emptied for each test."""
    import redis

    redis.Redis.from_url(redis_url).flushall()
    return redis_url


class Workers:
    """`huggingtweets worker` processes on the test's queue, sharing the test's app folder."""

    def __init__(self, url: str, logs: Path):
        self.url, self.logs = url, logs
        self.procs: list[subprocess.Popen] = []

    def start(self, *extra: str, pythonpath: str | None = None) -> subprocess.Popen:
        shared = paths.home() / "app"
        shared.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [pythonpath, str(ROOT)])),
               "OMP_NUM_THREADS": "1"}
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "huggingtweets", "worker", "--queue", self.url,
                                 "--shared-dir", str(shared), "--monitor-seconds", "1",
                                 "--maintenance-seconds", "2", *extra],
                                stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=_with_pytest)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("*.log")))


@pytest.fixture
def workers(queue_url, tmp_path):
    logs = tmp_path / "worker-logs"
    logs.mkdir()
    w = Workers(queue_url, logs)
    yield w
    w.stop()


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    pytest.importorskip("torch")
    from tiny_model import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("base") / "tiny")


def client(app) -> TestClient:
    return open_page(TestClient(app, base_url="http://127.0.0.1"))


def prepared(app, tmp_path: Path, handle: str, n: int = 300, seed: int = 0) -> TestClient:
    """A visitor whose dataset is ready (downloaded in the server, as without the queue)."""
    c = client(app)
    c.__enter__()
    zip_path = archive(tmp_path / f"{handle}.zip", handle, n=n, seed=seed, account_id=str(zlib.crc32(handle.encode())))
    with open(zip_path, "rb") as f:
        r = c.post("/api/prepare", data={"kind0": "upload"}, files={"file0": (zip_path.name, f, "application/zip")})
    assert r.status_code == 202, r.text
    s = wait_for(lambda: c.get("/api/state").json(), lambda s: s["prepare"]["status"] != "running")
    assert s["prepare"]["status"] == "done", s["prepare"]
    return c


def training(c: TestClient) -> dict:
    return c.get("/api/state").json()["training"]


def finished(c: TestClient, timeout: float = 240) -> dict:
    return wait_for(lambda: training(c), lambda t: t["status"] in jobs_mod.FINISHED, timeout=timeout, every=0.5)


def queue_app(url: str, tiny_base: Path, **kw) -> object:
    # No W&B runs here: two offline runs finishing at once on two workers once held a job in its card
    # stage past the test's 240 s (W&B tracking itself is tested in test_tracking.py and test_app.py).
    kw.setdefault("tracker", "none")
    return create_app(Settings(default_base_model=str(tiny_base), queue_url=url, **kw))


def rq_meta(url: str, job_id: str) -> dict:
    import redis
    from rq.job import Job

    return Job.fetch(f"train-{job_id}", connection=redis.Redis.from_url(url)).meta


# --- small parts ----------------------------------------------------------------------------------


def test_worker_and_app_commands_take_the_queue():
    from click.testing import CliRunner

    from huggingtweets.cli.main import cli

    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0
    for option in ("--queue", "--concurrency", "--gpus", "--shared-dir", "--checkpoint-minutes"):
        assert option in result.output
    assert "--queue" in CliRunner().invoke(cli, ["app", "--help"]).output


def test_an_unreachable_queue_is_one_line_without_its_password():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    proc = subprocess.run([sys.executable, "-m", "huggingtweets", "worker", "--queue",
                           f"redis://user:secret@127.0.0.1:{closed}/0"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot reach the queue at redis://user:***@127.0.0.1")
    assert "secret" not in proc.stderr


def test_gpus_are_shared_among_the_worker_processes_and_several_train_with_ddp():
    from huggingtweets.app.rq_worker import gpu_slots, runner_command

    assert gpu_slots(0, 2) == [None, None]
    assert gpu_slots(4, 2) == ["0,1", "2,3"]
    assert gpu_slots(2, 2) == ["0", "1"]
    assert gpu_slots(1, 3) == ["0", "0", "0"]
    assert gpu_slots(3, 2) == ["0", "1"]
    assert runner_command(Path("j.json"), 1, "py") == ["py", "-m", "huggingtweets.app.runner", "train", "j.json"]
    assert runner_command(Path("j.json"), 2, "py")[:6] == ["py", "-m", "torch.distributed.run", "--standalone",
                                                           "--nproc_per_node", "2"]


def test_what_the_page_says_of_each_state_of_a_job():
    from huggingtweets.app.jobs import TrainingJob
    from huggingtweets.app.rq_queue import apply_state

    job = TrainingJob("j", Path("/x"), {})
    apply_state(job, "queued", {"tries": 0}, None)
    assert job.status == "queued" and job.message == "Waiting for a free worker…"
    apply_state(job, "started", {"tries": 1, "view": {"status": "running", "step": 7, "total": 20, "loss": 2.5,
                                                      "message": "Training…"}}, None)
    assert (job.status, job.step, job.total, job.loss, job.message) == ("running", 7, 20, 2.5, "Training…")
    apply_state(job, "queued", {"tries": 1, "state": "running", "view": {"status": "running", "step": 7}}, None)
    assert job.status == "queued" and "try 2 of 3" in job.message and "the worker running it stopped" in job.message
    apply_state(job, "failed", {"tries": 3, "state": "failed", "error": "training failed: OSError: disk"}, "x")
    assert job.status == "error"
    assert job.message == "Training failed 3 time(s); the last time: training failed: OSError: disk"
    apply_state(job, "finished", {"tries": 1, "view": {"status": "done", "message": "Trained for 3 steps."}}, None)
    assert job.status == "done" and job.message == "Trained for 3 steps."


def test_each_visitor_sees_their_place_and_cannot_fill_the_queue(queue_url, tmp_path, tiny_base):
    """No worker: the jobs wait. Places are 1, 2, 3; a second run of one visitor is refused; cancelling a
    waiting job moves the others up."""
    app = queue_app(queue_url, tiny_base)
    with TestClient(app):
        visitors = [prepared(app, tmp_path, h, n=200) for h in ("marsh_warbler", "reed_bunting", "sand_martin")]
        for c in visitors:
            assert c.post("/api/train", json={"max_steps": 2}).status_code == 202
        assert [training(c)["position"] for c in visitors] == [1, 2, 3]
        assert all(training(c)["status"] == "queued" for c in visitors)
        r = visitors[0].post("/api/train", json={"max_steps": 2})
        assert r.status_code == 400 and "already queued or running" in r.json()["error"]
        # The queue itself holds the limit too (another server, or a restarted one, on the same Redis).
        queue = app.state.ht.queue
        job = visitors[0].app.state.ht.sessions.get(visitors[0].cookies[COOKIE]).live["job"]
        from huggingtweets.app.jobs import TrainingJob
        from huggingtweets.errors import QueueFullError

        again = TrainingJob("again", job.folder.parent / "again", job.spec)
        with pytest.raises(QueueFullError, match="already have 1 training run"):
            queue.submit(again)
        assert again.status == "error"
        assert visitors[1].post("/api/cancel").json()["training"]["status"] == "cancelled"
        assert [training(visitors[0])["position"], training(visitors[2])["position"]] == [1, 2]
        for c in visitors:
            c.__exit__(None, None, None)


# --- real workers ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_jobs_of_two_sessions_finish_on_two_workers(queue_url, workers, tmp_path, tiny_base):
    app = queue_app(queue_url, tiny_base)
    workers.start()
    workers.start()
    with TestClient(app):
        a, b = prepared(app, tmp_path, "marsh_warbler"), prepared(app, tmp_path, "reed_bunting", seed=1)
        for c in (a, b):
            assert c.post("/api/train", json={"max_steps": 3}).status_code == 202
        for c, handle in ((a, "marsh_warbler"), (b, "reed_bunting")):
            t = finished(c)
            assert t["status"] == "done", (t, workers.log())
            assert t["step"] == 3 and "Trained for 3 steps" in t["message"]
            state = c.get("/api/state").json()
            assert state["model"]["bot"] == handle
            folder = app.state.ht.sessions.get(c.cookies[COOKIE]).bots / handle
            for must in ("model.safetensors", "README.md", "metrics.json", "predictions.png"):
                assert (folder / must).is_file(), must
            c.__exit__(None, None, None)
    workers_used = {rq_meta(queue_url, j)["worker"] for j in _job_ids(app)}
    assert len(workers_used) >= 1


def _job_ids(app) -> list[str]:
    return [s.data["training"]["id"] for s in app.state.ht.sessions.loaded() if s.data.get("training")]


def test_a_job_that_fails_three_times_is_reported_with_the_reason(queue_url, workers, tmp_path, tiny_base):
    """A crash (not a mistake in the settings, which is not retried) is tried three times, then the visitor
    reads why. The training process is made to crash as it starts, by a sitecustomize of this test's."""
    crash = tmp_path / "crash"
    crash.mkdir()
    (crash / "sitecustomize.py").write_text(
        "import os, sys\n"
        "if 'huggingtweets.app.runner' in getattr(sys, 'orig_argv', []):\n"
        "    os._exit(3)\n")
    workers.start(pythonpath=str(crash))
    app = queue_app(queue_url, tiny_base)
    with TestClient(app):
        c = prepared(app, tmp_path, "marsh_warbler", n=200)
        assert c.post("/api/train", json={"max_steps": 2}).status_code == 202
        t = finished(c, timeout=120)
        assert t["status"] == "error", (t, workers.log())
        assert t["message"].startswith("Training failed 3 time(s); the last time: the training process ended "
                                       "unexpectedly (exit code 3)"), t["message"]
        job_id = app.state.ht.sessions.get(c.cookies[COOKIE]).data["training"]["id"]
        assert rq_meta(queue_url, job_id)["tries"] == 3
        c.__exit__(None, None, None)


@pytest.mark.slow
def test_ten_jobs_from_five_sessions_all_finish(queue_url, workers, tmp_path, tiny_base):
    app = queue_app(queue_url, tiny_base)
    workers.start()
    workers.start()
    handles = ["marsh_warbler", "reed_bunting", "sand_martin", "rock_pipit", "wood_lark"]
    with TestClient(app):
        visitors = [prepared(app, tmp_path, h, n=150, seed=i) for i, h in enumerate(handles)]
        for steps in (2, 4):  # each visitor trains twice: 10 jobs
            for c in visitors:
                assert c.post("/api/train", json={"max_steps": steps}).status_code == 202
            for c, handle in zip(visitors, handles):
                t = finished(c, timeout=600)
                assert t["status"] == "done" and t["step"] == steps, (t, workers.log())
                assert c.get("/api/state").json()["model"]["bot"] == handle
        for c in visitors:
            c.__exit__(None, None, None)
    used = {rq_meta(queue_url, j)["worker"] for j in _job_ids(app)}
    assert len(used) == 2, "both workers took jobs"


def test_a_restarted_server_finds_its_queued_jobs_and_shows_them_finish(queue_url, workers, tmp_path, tiny_base):
    """The server stops with a job waiting (no worker yet); a new server, the same cookie: the job is shown
    in its place, a worker starts, and the new server shows it finish with its model."""
    app = queue_app(queue_url, tiny_base)
    with TestClient(app):
        c = prepared(app, tmp_path, "marsh_warbler")
        cookie = c.cookies[COOKIE]
        assert c.post("/api/train", json={"max_steps": 3}).status_code == 202
        assert training(c)["status"] == "queued"
        c.__exit__(None, None, None)
    app = queue_app(queue_url, tiny_base)
    with TestClient(app, base_url="http://127.0.0.1", cookies={COOKIE: cookie}) as c:
        t = training(c)
        assert t["status"] == "queued" and t["position"] == 1, t
        workers.start()
        t = finished(c)
        assert t["status"] == "done" and t["step"] == 3, (t, workers.log())
        assert c.get("/api/state").json()["model"]["bot"] == "marsh_warbler"


def _processes_with(arg: str) -> list[int]:
    """The processes whose command line has ``arg``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and arg.encode() in (proc / "cmdline").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def _process_of(url: str, worker_name: str) -> int:
    """The `huggingtweets worker` process whose RQ worker is ``worker_name``."""
    import redis
    from rq import Worker

    rq_worker = Worker.find_by_key(f"rq:worker:{worker_name}", connection=redis.Redis.from_url(url))
    stat = Path(f"/proc/{rq_worker.pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])  # its parent


@pytest.mark.slow
def test_a_worker_killed_mid_training_its_job_resumes_on_the_other_from_the_last_checkpoint(
        queue_url, workers, tmp_path, tiny_base):
    app = queue_app(queue_url, tiny_base)
    for _ in range(2):
        workers.start("--checkpoint-steps", "25")
    with TestClient(app):
        c = prepared(app, tmp_path, "marsh_warbler")
        steps = 1500
        assert c.post("/api/train", json={"max_steps": steps, "epochs": 1000}).status_code == 202
        session = app.state.ht.sessions.get(c.cookies[COOKIE])
        checkpoints = session.bots / "marsh_warbler" / "checkpoints"
        wait_for(lambda: training(c), lambda t: t["status"] == "running" and t["step"] >= 50
                 and any(checkpoints.glob("step-*")), timeout=180, every=0.1)
        job_id = session.data["training"]["id"]
        killed_worker = rq_meta(queue_url, job_id)["worker"]
        victim = _process_of(queue_url, killed_worker)
        assert victim in [p.pid for p in workers.procs]
        os.kill(victim, signal.SIGKILL)  # the worker, its work horse and the training go down at once
        # No orphan trains on (the retry starts only once the heartbeat has expired, a minute later).
        job_file = str(session.jobs / job_id / "job.json")
        wait_for(lambda: {"left": _processes_with(job_file)}, lambda d: not d["left"], timeout=30)
        seen: list[dict] = []

        def watch() -> dict:
            seen.append(training(c))
            return seen[-1]

        t = wait_for(watch, lambda t: t["status"] in jobs_mod.FINISHED, timeout=400, every=0.5)
        assert t["status"] == "done" and t["step"] == steps, (t, workers.log())
        assert all(s["status"] in ("running", "queued", "done") for s in seen), seen  # never shown failed
        meta = rq_meta(queue_url, job_id)
        assert meta["tries"] == 2 and meta["worker"] != killed_worker
        assert 0 < meta["resumed_from"] < steps, "the second try started from the checkpoint, not from zero"
        assert (session.bots / "marsh_warbler" / "model.safetensors").is_file()
        assert not checkpoints.exists()  # a finished run removes its checkpoints
        c.__exit__(None, None, None)


@pytest.mark.slow
def test_cancel_stops_a_running_job_with_a_checkpoint_and_resume_goes_on_from_it(queue_url, workers, tmp_path,
                                                                                tiny_base):
    app = queue_app(queue_url, tiny_base)
    workers.start()
    with TestClient(app):
        c = prepared(app, tmp_path, "marsh_warbler")
        assert c.post("/api/train", json={"epochs": 1000, "max_steps": 100_000}).status_code == 202
        wait_for(lambda: training(c), lambda t: t["status"] == "running" and t["step"] > 0, timeout=120)
        assert c.post("/api/cancel").json()["training"]["status"] in ("cancelling", "cancelled")
        t = wait_for(lambda: training(c), lambda t: t["status"] in jobs_mod.FINISHED, timeout=60)
        assert t["status"] == "cancelled" and t["resumable"], (t, workers.log())
        stopped_at = t["step"]
        assert c.post("/api/train", json={"resume": True}).status_code == 202
        t = wait_for(lambda: training(c), lambda t: t["status"] == "running" and t["step"] > stopped_at,
                     timeout=120)
        job_id = app.state.ht.sessions.get(c.cookies[COOKIE]).data["training"]["id"]
        assert rq_meta(queue_url, job_id)["resumed_from"] == stopped_at
        c.post("/api/cancel")
        wait_for(lambda: training(c), lambda t: t["status"] == "cancelled", timeout=60)
        c.__exit__(None, None, None)
