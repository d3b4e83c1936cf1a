"""The web app's jobs on a real queue: a real redis-server on 127.0.0.1, real `huggingtweets worker`
processes, a tiny model trained for real; prepare and generate jobs go there too. Without `--queue` the app
keeps its embedded queue and runs steps 1 and 3 itself (test_app.py)."""

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


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server of its own: 127.0.0.1, a free port, no persistence, in ``folder``; (process, URL)."""
    import redis

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
            return proc, url
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail(f"redis-server did not start: {(folder / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    proc, url = start_redis(tmp_path_factory.mktemp("redis"))
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
    """A visitor whose dataset is ready (made by the app: with `--queue`, by a worker's prepare job)."""
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


def queue_app(url: str | None, tiny_base: Path, **kw) -> object:
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
    for option in ("--queue", "--jobs", "--concurrency", "--gpus", "--shared-dir", "--checkpoint-minutes"):
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
    # The worker's last progress written before the end, and what the job returned: the job is finished.
    stale = {"tries": 1, "view": {"status": "running", "step": 3, "total": 3, "message": "Writing the card…"}}
    job = TrainingJob("k", Path("/x"), {})
    apply_state(job, "finished", stale, None, {"status": "done", "step": 3, "message": "Trained for 3 steps."})
    assert (job.status, job.message) == ("done", "Trained for 3 steps.")
    job = TrainingJob("l", Path("/x"), {})
    apply_state(job, "finished", stale, None)  # no return value to read: RQ's status is final
    assert job.status == "done"


def test_each_visitor_sees_their_place_and_cannot_fill_the_queue(queue_url, workers, tmp_path, tiny_base):
    """No worker trains: the jobs wait. Places are 1, 2, 3; a second run of one visitor is refused; cancelling
    a waiting job moves the others up."""
    workers.start("--jobs", "generate,prepare")  # the visitors' data, but no training
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


def test_a_worker_takes_the_kinds_of_job_it_is_given_in_priority_order():
    from huggingtweets.app.rq_worker import job_kinds

    assert job_kinds(None) == job_kinds("") == ["generate", "prepare", "train"]
    assert job_kinds("train, generate") == ["generate", "train"]  # generate first, whatever the order given
    with pytest.raises(ValueError, match="unknown job kind"):
        job_kinds("generate,paint")
    proc = subprocess.run([sys.executable, "-m", "huggingtweets", "worker", "--queue", "redis://127.0.0.1:1/0",
                           "--jobs", "generate,paint"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode != 0
    assert "--jobs generate,paint: unknown job kind(s) paint: choose among generate, prepare, train" in proc.stderr


def test_a_worker_takes_posts_before_data_and_data_before_training(queue_url, tmp_path):
    """Jobs waiting on the three queues, enqueued train first: one worker starts them generate first."""
    import redis
    from rq import Queue

    from huggingtweets.app.rq_queue import JOB_QUEUES

    conn = redis.Redis.from_url(queue_url)
    waiting = {kind: Queue(JOB_QUEUES[kind], connection=conn).enqueue("time.sleep", 0.2)
               for kind in ("train", "prepare", "generate")}
    proc = subprocess.run([sys.executable, "-m", "huggingtweets", "worker", "--queue", queue_url, "--burst"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for job in waiting.values():
        job.refresh()
        assert job.get_status() == "finished"
    order = sorted(waiting, key=lambda kind: waiting[kind].started_at)
    assert order == ["generate", "prepare", "train"]


def test_uploads_travel_as_paths_inside_the_shared_folder(tmp_path):
    from huggingtweets.app.rq_steps import relative_source, resolved_source

    root = tmp_path / "app"
    upload = root / "sessions" / "k" / "uploads" / "1a2b3c-posts.zip"
    moved = relative_source(f"archive:{upload}", root)
    assert moved == "archive:sessions/k/uploads/1a2b3c-posts.zip"
    assert resolved_source(moved, Path("/mnt/ht")) == "archive:/mnt/ht/sessions/k/uploads/1a2b3c-posts.zip"
    assert relative_source(f"file:{upload}", root) == "file:sessions/k/uploads/1a2b3c-posts.zip"
    for live in ("x:jack", "mastodon:@a@b.social", "bsky:a.bsky.social"):
        assert relative_source(live, root) == live and resolved_source(live, Path("/mnt/ht")) == live


def _steps_jobs(url: str, queue: str) -> list:
    """The finished RQ jobs of one of the app's queues."""
    import redis
    from rq import Queue
    from rq.job import Job

    conn = redis.Redis.from_url(url)
    ids = Queue(queue, connection=conn).finished_job_registry.get_job_ids()
    return [j for j in Job.fetch_many(ids, connection=conn) if j is not None]


def test_prepare_on_the_queue_makes_the_same_dataset_as_the_server_does(queue_url, workers, tmp_path, tiny_base):
    from huggingtweets.app.rq_queue import PREPARE_QUEUE

    workers.start("--jobs", "prepare")
    embedded = create_app(Settings(default_base_model=str(tiny_base), tracker="none"))
    with TestClient(embedded):
        c = prepared(embedded, tmp_path, "marsh_warbler", n=200)
        here = c.get("/api/state").json()
        c.__exit__(None, None, None)
    assert not _steps_jobs(queue_url, PREPARE_QUEUE)  # without --queue, the server made it itself
    app = queue_app(queue_url, tiny_base)
    with TestClient(app):
        c = prepared(app, tmp_path, "marsh_warbler", n=200)
        there = c.get("/api/state").json()
        session = app.state.ht.sessions.get(c.cookies[COOKIE])
        assert (session.datasets / there["dataset"]["folder"] / "stats.json").is_file()
        c.__exit__(None, None, None)
    (job,) = _steps_jobs(queue_url, PREPARE_QUEUE)  # made by the worker
    assert job.return_value()["dataset"]["folder"] == there["dataset"]["folder"]
    assert job.meta["tries"] == 1 and job.meta["progress"] == {"@marsh_warbler": 200}, job.meta
    for key in ("bot", "users", "table", "samples", "warnings", "hash"):
        assert there["dataset"][key] == here["dataset"][key], key
    assert there["dataset"]["table"]["header"] == ["Data", "@marsh_warbler"]
    assert there["prepare"] == {"status": "done"} and there["sources"] == here["sources"]


def test_the_visitors_mistake_on_a_worker_reads_as_in_the_server(queue_url, workers, tmp_path, tiny_base):
    """Too little text: the page's one line, not retried."""
    from huggingtweets.app.rq_queue import PREPARE_QUEUE

    workers.start("--jobs", "prepare")
    errors = []
    for url in (None, queue_url):
        app = queue_app(url, tiny_base)  # None: the embedded mode
        with TestClient(app):
            c = client(app)
            zip_path = archive(tmp_path / "few.zip", "marsh_warbler", n=5)
            with open(zip_path, "rb") as f:
                r = c.post("/api/prepare", data={"kind0": "upload"}, files={"file0": ("few.zip", f, "application/zip")})
            assert r.status_code == 202, r.text
            s = wait_for(lambda: c.get("/api/state").json(), lambda s: s["prepare"]["status"] != "running")
            errors.append(s["prepare"])
    assert errors[0]["status"] == errors[1]["status"] == "error"
    assert errors[1]["error"] == errors[0]["error"] and "after cleaning" in errors[1]["error"], errors
    (job,) = _steps_jobs(queue_url, PREPARE_QUEUE)
    assert job.meta["tries"] == 1  # not retried


def test_with_no_worker_for_its_kind_a_job_ends_in_one_clear_line(queue_url, workers, tmp_path, tiny_base, caplog):
    import redis
    from rq import Queue

    from huggingtweets.app.rq_queue import GENERATE_QUEUE, PREPARE_QUEUE
    from huggingtweets.app.rq_steps import RQSteps
    from huggingtweets.errors import NoWorkerError

    workers.start("--jobs", "train")  # a worker, but for training only
    app = queue_app(queue_url, tiny_base, queue_wait_seconds=1)
    with TestClient(app):
        c = client(app)
        zip_path = archive(tmp_path / "a.zip", "marsh_warbler", n=50)
        started = time.monotonic()
        with open(zip_path, "rb") as f:
            assert c.post("/api/prepare", data={"kind0": "upload"},
                          files={"file0": ("a.zip", f, "application/zip")}).status_code == 202
        s = wait_for(lambda: c.get("/api/state").json(), lambda s: s["prepare"]["status"] != "running", timeout=30)
        assert time.monotonic() - started < 15
        assert s["prepare"] == {"status": "error", "error": "no worker of this app took the job within 1 s; whoever "
                                "runs the app must start one for its queue (the server's log says how)"}
    assert (f"no worker took the prepare job within 1 s: start `huggingtweets worker --queue {queue_url}` (with "
            f"prepare among its --jobs)") in caplog.text
    steps = RQSteps(queue_url, wait_seconds=0.5, root=paths.home() / "app")
    with pytest.raises(NoWorkerError) as e:
        steps.generate(paths.home() / "app" / "sessions" / "k" / "bots" / "b", "My dream is")
    assert str(e.value) == (f"no worker took the generate job within 0.5 s: start `huggingtweets worker --queue "
                            f"{queue_url}` (with generate among its --jobs)")
    conn = redis.Redis.from_url(queue_url)
    assert Queue(GENERATE_QUEUE, connection=conn).count == Queue(PREPARE_QUEUE, connection=conn).count == 0


@pytest.mark.slow
def test_a_light_worker_writes_the_posts_and_leaves_training_to_others(queue_url, workers, tmp_path, tiny_base):
    """`--jobs generate,prepare` takes no training run; a training worker does; the light one writes the 10
    posts, with the same code as `huggingtweets generate` (the same posts for the same seed)."""
    from huggingtweets.app.rq_queue import GENERATE_QUEUE

    light = workers.start("--jobs", "generate,prepare")
    app = queue_app(queue_url, tiny_base)
    with TestClient(app):
        c = prepared(app, tmp_path, "marsh_warbler")
        assert c.post("/api/train", json={"max_steps": 3}).status_code == 202
        time.sleep(5)  # the light worker is idle, and leaves the run in the queue
        t = training(c)
        assert t["status"] == "queued" and t["position"] == 1, (t, workers.log())
        trainer = workers.start("--jobs", "train")
        t = finished(c)
        assert t["status"] == "done", (t, workers.log())
        r = c.post("/api/generate", json={"prompt": "My dream is", "seed": 1})
        assert r.status_code == 200, (r.text, workers.log())
        state = r.json()
        folder = app.state.ht.sessions.get(c.cookies[COOKIE]).bots / "marsh_warbler"
        train_worker = rq_meta(queue_url, state["training"]["id"])["worker"]
        c.__exit__(None, None, None)
    predictions = state["predictions"]
    assert len(predictions) == 10 and all(p["text"].strip() for p in predictions), predictions
    assert all(not p["copy"] and p["share"] for p in predictions)  # copies dropped; each may be shared
    assert state["writing"] is None
    (job,) = _steps_jobs(queue_url, GENERATE_QUEUE)
    assert _process_of(queue_url, job.meta["worker"]) == light.pid
    assert _process_of(queue_url, train_worker) == trainer.pid
    assert len(job.meta["posts"]) == 10  # each post reached the page as it ended
    from huggingtweets.app.share import printable
    from huggingtweets.generate import Bot

    own = Bot.load(folder).generate("My dream is", 10, seed=1, copies="drop")
    assert sorted(p["text"] for p in predictions) == sorted(printable(p.text) for p in own)


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
    """The server stops with a job waiting (no worker trains yet); a new server, the same cookie: the job is
    shown in its place, a worker starts, and the new server shows it finish with its model."""
    workers.start("--jobs", "prepare")
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
    """The only worker is killed mid-training: the server itself puts the job back in line once the
    worker's heartbeat has expired (no other worker runs yet to do it, and no page asks after the job),
    and a worker started then finishes it from the last checkpoint."""
    import redis
    from rq.job import Job

    app = queue_app(queue_url, tiny_base)
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
        conn = redis.Redis.from_url(queue_url)
        wait_for(lambda: {"status": Job.fetch(f"train-{job_id}", connection=conn).get_status()},
                 lambda d: d["status"] == "queued", timeout=150, every=1)  # the server's sweep
        workers.start("--checkpoint-steps", "25")
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


def test_a_worker_given_another_folder_than_the_apps_stops_with_one_line(queue_url, tmp_path, tiny_base):
    """A worker whose --shared-dir is not the app's (a mount missing) refuses to start, instead of telling
    visitors that their uploads are gone."""
    app = queue_app(queue_url, tiny_base)
    with TestClient(app):
        empty = tmp_path / "not-mounted"
        empty.mkdir()
        cmd = [sys.executable, "-m", "huggingtweets", "worker", "--queue", queue_url, "--burst"]
        wrong = subprocess.run(cmd + ["--shared-dir", str(empty)], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1, wrong.stderr
        assert "is not the shared folder of the app on this queue" in wrong.stderr
        assert "Traceback" not in wrong.stderr and not list(empty.iterdir())
        right = subprocess.run(cmd + ["--shared-dir", str(paths.home() / "app")], capture_output=True, text=True,
                               timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert right.returncode == 0, right.stderr


@pytest.mark.slow
def test_redis_away_keeps_the_visitors_model_and_answers_in_one_line(tmp_path, tiny_base, caplog):
    """Redis stops after a model is trained: Train answers 503 in one line and the model stays (it used to
    be removed before the queue refused the run), writing posts answers the same, and the server logs
    one line per request, no traceback."""
    import logging

    folder = tmp_path / "redis-own"
    folder.mkdir()
    proc, url = start_redis(folder)
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = Workers(url, logs)
    try:
        app = queue_app(url, tiny_base)
        workers.start()
        with TestClient(app):
            c = prepared(app, tmp_path, "marsh_warbler")
            assert c.post("/api/train", json={"max_steps": 3}).status_code == 202
            assert finished(c)["status"] == "done", workers.log()
            model = app.state.ht.sessions.get(c.cookies[COOKIE]).bots / "marsh_warbler" / "model.safetensors"
            assert model.is_file()
            workers.stop()
            proc.terminate()
            proc.wait(10)
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="huggingtweets.app"):
                r = c.post("/api/train", json={"max_steps": 3})
                assert r.status_code == 503 and "cannot be reached" in r.json()["error"], r.text
                assert "redis://" not in r.json()["error"] and "127.0.0.1" not in r.json()["error"]
                assert model.is_file()  # the visitor's model is as it was
                assert training(c)["status"] == "done"
                r = c.post("/api/generate", json={"prompt": "My dream is"})
                assert r.status_code == 503 and "cannot be reached" in r.json()["error"], r.text
            assert not [rec for rec in caplog.records if rec.exc_info], "no traceback in the server's log"
            c.__exit__(None, None, None)
    finally:
        workers.stop()
        if proc.poll() is None:
            proc.kill()
