"""What the web app's tests share: archives of made-up accounts, a live server, polling the state."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

from archive_fixtures import tweet, write_zip, x_files
from tiny_model import make_posts

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_ARCHIVE = ROOT / "examples" / "sample-archive.zip"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def archive(path: Path, handle: str, n: int = 300, seed: int = 0, account_id: str = "4455667788") -> Path:
    """An X archive zip of ``handle`` with ``n`` made-up posts (about 35 characters each)."""
    posts = [tweet(str(10_000 + i), text) for i, text in enumerate(make_posts(n, seed=seed))]
    return write_zip(path, x_files(posts, handle=handle, account_id=account_id))


def sample_archive(tmp: Path) -> tuple[Path, str]:
    """The example archive and its handle, or a made-up one when the example is not there."""
    if SAMPLE_ARCHIVE.is_file():
        return SAMPLE_ARCHIVE, "tollan_keeper"
    return archive(tmp / "sample-archive.zip", "sample_keeper", n=400), "sample_keeper"


def open_page(client):
    """A test client as the page is: its session started, and its CSRF token sent with every request."""
    client.get("/")
    client.headers["X-CSRF-Token"] = client.get("/api/state").json()["csrf"]
    return client


def wait_for(get: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool],
             timeout: float = 60, every: float = 0.2) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        state = get()
        if done(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s; last state: {state}")
        time.sleep(every)


class LiveServer:
    """The app served by uvicorn on 127.0.0.1, on a free port, in a thread."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app's server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(60)
        self.sock.close()
