"""The web app for other people: malformed requests answered 4xx in one line, uploads limited while
they stream, sessions made only when a visitor acts (private, expiring, capped), live sources and local
models off for visitors when asked, avatars written atomically, and no link followed out of an archive."""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import stat
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("python_multipart", reason="the web app needs its extra: pip install 'huggingtweets[app]'")

from starlette.testclient import TestClient  # noqa: E402

from huggingtweets import paths  # noqa: E402
from huggingtweets.app import Settings, create_app  # noqa: E402
from huggingtweets.app.sessions import COOKIE, Sessions, folder_key  # noqa: E402
from huggingtweets.errors import ArchiveFormatError  # noqa: E402
from huggingtweets.sources._container import Container  # noqa: E402

from app_helpers import LiveServer, archive, open_page  # noqa: E402

MiB = 1024**2


def client(settings: Settings | None = None) -> TestClient:
    return open_page(TestClient(create_app(settings), base_url="http://127.0.0.1"))


def sessions_root() -> Path:
    return paths.app_sessions_dir()


def folders() -> list[Path]:
    return sorted(sessions_root().iterdir()) if sessions_root().is_dir() else []


def one_line_error(r) -> str:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    message = r.json()["error"]
    assert message and "\n" not in message and "Traceback" not in message
    return message


BAD_BODIES = {
    "bad boundary": ("multipart/form-data; boundary=", b"--\r\nnonsense\r\n"),
    "no boundary": ("multipart/form-data", b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--\r\n"),
    "truncated": ("multipart/form-data; boundary=xyz",
                  b'--xyz\r\nContent-Disposition: form-data; name="file0"; filename="a.zip"\r\n\r\nPK\x03'),
    "wrong content-type": ("text/plain", b"kind0=upload"),
    "huge part header": ("multipart/form-data; boundary=xyz",
                         b'--xyz\r\nContent-Disposition: form-data; name="kind0"\r\nX-Pad: ' + b"a" * 2 * MiB
                         + b"\r\n\r\nupload\r\n--xyz--\r\n"),
    "binary garbage": ("multipart/form-data; boundary=xyz", os.urandom(4096)),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_a_malformed_upload_is_a_4xx_in_one_line(case):
    content_type, body = BAD_BODIES[case]
    with client() as c:
        one_line_error(c.post("/api/prepare", content=body, headers={"Content-Type": content_type}))


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b"{" + b" " * (2 * MiB) + b"}"])
def test_a_non_json_body_on_a_json_route_is_a_4xx_in_one_line(body):
    with client() as c:
        for path in ("/api/train", "/api/generate"):
            one_line_error(c.post(path, content=body, headers={"Content-Type": "application/json"}))


def _post_large(port: int, cookie: str, csrf: str, total: int, chunked: bool) -> tuple[int, int]:
    """POST ``total`` bytes of a multipart upload to /api/prepare; (bytes sent before the server
    answered or closed, status)."""
    sock = socket.create_connection(("127.0.0.1", port))
    boundary = "b0undary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="kind0"\r\n\r\nupload\r\n--{boundary}\r\n'
            f'Content-Disposition: form-data; name="file0"; filename="big.zip"\r\n\r\n').encode()
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(head) + total}"
    sock.sendall((f"POST /api/prepare HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {COOKIE}={cookie}\r\n"
                  f"X-CSRF-Token: {csrf}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                  f"{length}\r\n\r\n").encode())
    frame = (lambda b: b"%x\r\n%s\r\n" % (len(b), b)) if chunked else (lambda b: b)
    sent, chunk = 0, b"\0" * MiB
    try:
        sock.sendall(frame(head))
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(frame(chunk))
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = b""
    try:
        sock.settimeout(10)
        while b"\r\n" not in reply and (data := sock.recv(65536)):
            reply += data
    except (ConnectionResetError, socket.timeout):
        pass
    sock.close()
    return sent, int(reply.split(b" ")[1]) if reply.startswith(b"HTTP/1.1 ") else 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_upload_over_the_limit_is_stopped_while_it_streams(chunked):
    app = create_app(Settings(max_upload_bytes=5 * MiB))
    with LiveServer(app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        conn.request("GET", "/api/state")
        r = conn.getresponse()
        csrf = json.loads(r.read())["csrf"]
        cookie = r.getheader("set-cookie").split(";")[0].split("=", 1)[1]
        conn.close()
        sent, status = _post_large(server.port, cookie, csrf, 200 * MiB, chunked)
        assert status == 413
        assert sent < 60 * MiB  # stopped near the 5 MiB limit, not after the whole 200 MiB
        folder = sessions_root() / folder_key(cookie)
        written = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0
        assert written < MiB  # nothing of the upload left in the session's folder


def test_looking_makes_no_folder_acting_makes_a_private_one(tmp_path):
    app = create_app()
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for _ in range(25):
            c.cookies.clear()
            assert c.get("/api/state").status_code == 200
        assert folders() == []
        open_page(c)
        assert c.post("/api/cancel").status_code < 500
        [folder] = folders()
        assert folder.name == folder_key(c.cookies[COOKIE])
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "session.json").stat().st_mode) == 0o600
        with open(archive(tmp_path / "a.zip", "heron_watch", n=60), "rb") as f:
            assert c.post("/api/prepare", data={"kind0": "upload"}, files={"file0": ("a.zip", f)}).status_code == 202
        [upload] = (folder / "uploads").iterdir()
        assert stat.S_IMODE(upload.stat().st_mode) == 0o600


def test_idle_sessions_are_swept_with_their_folders():
    sessions = Sessions(idle_hours=1)
    fresh, old = sessions.create(), sessions.create()
    sessions.persist(fresh)
    sessions.persist(old)
    old.last_seen = time.time() - 2 * 3600
    left = sessions.root / ("0" * 32)  # a folder from before a restart, idle for a day
    left.mkdir()
    (left / "session.json").write_text("{}")
    os.utime(left / "session.json", (time.time() - 86400,) * 2)
    os.utime(left, (time.time() - 86400,) * 2)
    assert sessions.sweep() == 2
    assert folders() == [fresh.folder]
    assert sessions.get(old.id) is None


def test_sessions_are_capped_and_the_next_visitor_told_so():
    settings = Settings(max_sessions=2)
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        for i in range(3):
            c.cookies.clear()
            open_page(c)
            r = c.post("/api/cancel")
            if i < 2:
                assert r.status_code < 500
        assert r.status_code == 503 and "full" in r.json()["error"]
        assert len(folders()) == 2


def test_a_full_session_refuses_uploads(tmp_path):
    with client(Settings(max_session_bytes=4_000)) as c:
        with open(archive(tmp_path / "a.zip", "heron_watch", n=300), "rb") as f:
            r = c.post("/api/prepare", data={"kind0": "upload"}, files={"file0": ("a.zip", f)})
        assert "upload limit" in one_line_error(r)  # the file is over what is left of the session's room
        session = c.app.state.ht.sessions.get(c.cookies[COOKIE])
        (session.folder / "filler").write_bytes(b"\0" * 5_000)
        with open(tmp_path / "a.zip", "rb") as f:
            r = c.post("/api/prepare", data={"kind0": "upload"}, files={"file0": ("a.zip", f)})
        assert r.status_code == 413 and "your session on this app is full" in one_line_error(r)


def test_live_sources_and_local_models_can_be_off_for_visitors(tmp_path):
    from huggingtweets.app.training_routes import _config

    settings = Settings(allow_live_sources=False, allow_local_models=False)
    with client(settings) as c:
        r = c.post("/api/prepare", data={"kind0": "x", "value0": "someone"})
        assert "does not download from" in one_line_error(r)
        state, session = c.app.state.ht, c.app.state.ht.sessions.get(c.cookies[COOKIE])
        with pytest.raises(Exception, match="does not train from a folder"):
            _config(state, session, {"base_model": str(tmp_path)}, resume=False)
        _config(state, session, {"base_model": "HuggingFaceTB/SmolLM2-135M-Instruct"}, resume=False)


def test_a_link_out_of_an_archive_folder_is_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("private key")
    folder = tmp_path / "export"
    (folder / "data" / "profile_media").mkdir(parents=True)
    (folder / "data" / "tweets.js").symlink_to(secret)
    (folder / "data" / "profile_media" / "1-avatar.jpg").symlink_to(secret)
    (folder / "data" / "account.js").write_text("window.YTD.account.part0 = []")
    (folder / "data" / "inside.js").symlink_to(folder / "data" / "account.js")  # inside: followed
    with Container.open(folder) as c:
        assert not c.exists("data/tweets.js")
        assert c.glob("data/profile_media/*") == []
        assert c.read("data/inside.js").startswith(b"window.YTD")
        with pytest.raises(ArchiveFormatError, match="outside the archive folder"):
            c.read("data/tweets.js")


def test_avatars_written_at_once_by_many_never_collide():
    from huggingtweets.sources._archive_base import save_avatar

    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for _ in range(40):
                save_avatar(bytes([i]) * 20_000, "x", "same_handle", ".jpg")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    avatars = paths.cache_dir() / "avatars"
    assert [p.name for p in avatars.iterdir()] == ["x-same_handle.jpg"]


def test_each_visitor_prepares_with_a_cache_of_its_own(tmp_path):
    """Two sessions importing the same archive never write one avatar file: the preparation of each runs
    with the visitor's own cache folder (``paths.using_cache``)."""
    import threading

    from huggingtweets import paths
    from huggingtweets.sources._archive_base import save_avatar

    seen: dict[str, str] = {}

    def visitor(name: str) -> None:
        with paths.using_cache(tmp_path / name / "cache"):
            seen[name] = save_avatar(name.encode(), "x", "jane", ".jpg")

    threads = [threading.Thread(target=visitor, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen["a"] != seen["b"] and Path(seen["a"]).read_bytes() == b"a" and Path(seen["b"]).read_bytes() == b"b"
    assert paths.cache_dir() == paths.home() / "cache"  # outside the block: the home's cache


def test_generation_workers_are_capped_when_every_one_is_busy(tmp_path):
    """Many visitors, each with a bot of their own, asking at once: beyond ``max_busy`` processes the next
    is told the app is busy (503) instead of starting one more process per visitor."""
    from huggingtweets.app.generation import Generators, GeneratorsBusyError

    class Busy:
        def __init__(self, folder):
            self.folder, self.last_used, self.stopped = folder, 0.0, False

        def busy(self):
            return True

        def alive(self):
            return True

        def stop(self):
            self.stopped = True

    gens = Generators(max_workers=1, max_busy=3)
    busy = {tmp_path / str(i): Busy(tmp_path / str(i)) for i in range(3)}
    gens._workers = dict(busy)
    with pytest.raises(GeneratorsBusyError) as e:
        gens.generate(tmp_path / "another-bot", "My dream is", n=1)
    assert e.value.status == 503 and "try again in a minute" in str(e.value)
    assert gens._workers == busy and not any(w.stopped for w in busy.values())
    assert Generators(max_workers=2).max_busy == 4
