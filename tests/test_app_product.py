"""The web app as a finished product: the card rendered and sanitised, no session id or path shown,
the cookie's flags and the CSRF check, "Download the model" and "Delete my data", errors in web words,
copies never shared, posts shown as they are written, a busy port refused, and the whole flow in
headless Chromium at desktop width and at 390 px, light and dark, with screenshots."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("python_multipart", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("nh3", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
pytest.importorskip("markdown_it", reason="the web app needs its extra: pip install 'huggingtweets[app]'")

from starlette.testclient import TestClient  # noqa: E402

from huggingtweets import paths  # noqa: E402
from huggingtweets.bot_folder import publishable_files  # noqa: E402
from huggingtweets.app import create_app  # noqa: E402
from huggingtweets.app.sessions import COOKIE, folder_key  # noqa: E402

from app_helpers import archive, open_page, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOT = "marsh_warbler"


def new_client(app=None, base_url: str = "http://127.0.0.1") -> TestClient:
    return TestClient(app or create_app(), base_url=base_url)


def session_of(c: TestClient):
    return c.app.state.ht.sessions.get(c.cookies[COOKIE])


def seed_model(c: TestClient, card: str | None = None) -> Path:
    """A model folder in the session as training leaves it, with fake weights, the JSON records (one with
    the dataset's path in the session), files that must never leave, and a card."""
    from tiny_model import make_dataset

    session = session_of(c)
    dataset = make_dataset(session.datasets / "ab12cd34", handle=BOT)
    folder = session.bots / BOT
    folder.mkdir(parents=True)
    shutil.copy(dataset / "stats.json", folder)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(os.urandom(300_000))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "training_config.json").write_text(json.dumps(
        {"dataset": {"bot": BOT, "path": str(dataset.resolve())}, "config": {"hub_token": "hf_x" * 6}}))
    (folder / "copy_index.bin").write_bytes(b"\0" * 64)
    (folder / "checkpoints" / "step-3").mkdir(parents=True)
    (folder / "checkpoints" / "step-3" / "optimizer.pt").write_bytes(b"x")
    (folder / "avatar-marsh_warbler.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (folder / "README.md").write_text(card if card is not None else f"# {BOT}\n\nmodel='{folder.resolve()}'\n")
    session.update(model={"bot": BOT, "folder": BOT},
                   dataset={"bot": BOT, "folder": "ab12cd34", "users": [{"handle": BOT}]})
    return folder


def secrets_of(c: TestClient) -> list[str]:
    """What the page must never show: the session id (the login cookie) and local paths."""
    session = session_of(c)
    return [session.id, str(session.folder.resolve()), str(paths.home().resolve()), str(Path.home())]


# --- the model card ---------------------------------------------------------------------------------

EVIL_CARD = """---
license: mit
tags: [huggingtweets]
---
# The bot

<div style="color: red" onclick="steal()">Avatar</div>
<script>alert(1)</script>
<img src="x" onerror="alert(2)">

[a link](javascript:alert(3)) and [the project](https://github.com/borisdayma/huggingtweets)

| Data | @marsh_warbler |
| --- | ---: |
| Tweets kept | 300 |

```python
generator = pipeline('text-generation', model='{folder}')
```

![GitHub stars](https://img.shields.io/github/stars/x)
![avatar](avatar-marsh_warbler.jpg)
"""


def test_the_card_is_a_rendered_sanitised_page_without_paths():
    with new_client() as c:
        open_page(c)
        session = session_of(c)
        folder = session.bots / BOT
        seed_model(c, EVIL_CARD.replace("{folder}", str(folder.resolve())))
        r = c.get("/api/card")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        card = r.json()
        html = card["html"]
        assert "<h1>The bot</h1>" in html and "<table>" in html and "<td>300</td>" in html
        assert "<summary>Metadata</summary>" in html and "license: mit" in html
        for bad in ("<script", "onclick", "onerror", "style=", 'href="javascript', "img.shields.io"):
            assert bad not in html.lower(), bad
        link = re.search(r"<a ([^>]*)>the project</a>", html).group(1)
        assert dict(re.findall(r'(\w+)="([^"]*)"', link)) == {
            "href": "https://github.com/borisdayma/huggingtweets", "rel": "noopener noreferrer", "target": "_blank"}
        assert '<img src="/api/model-image/avatar-marsh_warbler.jpg" alt="avatar">' in html
        assert "GitHub stars" in html  # a picture from another site is shown as its text
        assert "model='bots/marsh_warbler'" in card["markdown"]
        for secret in secrets_of(c):
            assert secret not in r.text, secret
        assert c.get("/api/model-image/avatar-marsh_warbler.jpg").status_code == 200
        for name in ("..%2Fsession.json", "README.md", "missing.png"):
            assert c.get(f"/api/model-image/{name}").status_code == 404


def test_the_card_written_for_a_session_model_names_no_path_or_session():
    pytest.importorskip("jinja2")
    from huggingtweets.card import write_card

    with new_client() as c:
        open_page(c)
        folder = seed_model(c)
        write_card(folder)
        r = c.get("/api/card")
        assert r.status_code == 200
        assert "<h2>How to use</h2>" in r.json()["html"]
        for secret in secrets_of(c):
            assert secret not in r.text, secret


def test_the_state_names_no_session_or_path():
    with new_client() as c:
        open_page(c)
        seed_model(c)
        session = session_of(c)
        session.update(training={"status": "error", "message": (
            f"the training process ended unexpectedly (exit code 9); see {session.jobs / 'abc' / 'train.log'}")})
        r = c.get("/api/state")
        for secret in secrets_of(c):
            assert secret not in r.text, secret
        assert r.json()["training"]["message"] == "the training process ended unexpectedly (exit code 9); see " \
                                                  "train.log"


def test_no_file_of_the_session_names_its_cookie(tmp_path):
    # A dataset's stats.json names its uploads by path, and it leaves the machine (publish, W&B): the
    # folder is named by a hash of the cookie, not by the cookie.
    with new_client() as c:
        open_page(c)
        with open(archive(tmp_path / "a.zip", BOT), "rb") as f:
            assert c.post("/api/prepare", data={"kind0": "upload"}, files={"file0": ("a.zip", f)}).status_code == 202
        wait_for(lambda: c.get("/api/state").json(), lambda s: s["prepare"]["status"] == "done")
        cookie, folder = c.cookies[COOKIE], session_of(c).folder
        assert folder.name == folder_key(cookie) != cookie
        stats = next(folder.glob("datasets/*/stats.json")).read_text()
        assert str(folder) in stats  # the upload's path, which is why the folder must not be the cookie
        for path in folder.rglob("*"):
            assert path.is_dir() or cookie.encode() not in path.read_bytes(), path


def test_a_session_folder_named_by_its_cookie_is_renamed():
    cookie = "c" * 43
    legacy = paths.home() / "app" / "sessions" / cookie
    legacy.mkdir(parents=True)
    (legacy / "session.json").write_text(json.dumps({"sources": ["a.zip"]}))
    with new_client() as c:
        c.cookies.set(COOKIE, cookie)
        assert c.get("/api/state").json()["sources"] == ["a.zip"]
    assert not legacy.exists() and (legacy.parent / folder_key(cookie) / "session.json").is_file()


# --- the cookie and the CSRF check ------------------------------------------------------------------


def _set_cookie(r) -> str:
    return next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE))


def test_the_session_cookie_is_http_only_strict_and_secure_over_https():
    with new_client() as c:
        flags = [f.strip().lower() for f in _set_cookie(c.get("/api/state")).split(";")]
        assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
        assert "secure" not in flags  # plain HTTP on this machine: a Secure cookie would not come back
    with new_client(base_url="https://127.0.0.1") as c:
        flags = [f.strip().lower() for f in _set_cookie(c.get("/api/state")).split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=strict" in flags


def test_the_page_itself_sets_no_cookie():
    # Arriving from a link on another site, the browser sends no SameSite=Strict cookie: a cookie set by
    # the page's answer would replace the visitor's own and lose their work.
    with new_client() as c:
        r = c.get("/", headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 200 and "set-cookie" not in r.headers
        assert "Content-Security-Policy" in r.headers


def test_the_cookie_is_secure_behind_a_trusted_https_proxy():
    pytest.importorskip("uvicorn")
    import httpx

    from app_helpers import LiveServer

    with LiveServer(create_app()) as server:
        # uvicorn trusts X-Forwarded-Proto from 127.0.0.1 (FORWARDED_ALLOW_IPS), as from a local proxy.
        r = httpx.get(server.url + "/api/state", headers={"X-Forwarded-Proto": "https"})
        assert "secure" in [f.strip().lower() for f in _set_cookie(r).split(";")]
        r = httpx.get(server.url + "/api/state")
        assert "secure" not in [f.strip().lower() for f in _set_cookie(r).split(";")]


FOREIGN = "this request did not come from the app's page: reload the page and try again"


@pytest.mark.parametrize("path", ["/api/prepare", "/api/train", "/api/cancel", "/api/generate", "/api/preview",
                                  "/api/publish", "/api/delete"])
def test_every_action_needs_the_page_s_csrf_token(path):
    with new_client() as c:
        open_page(c)
        folder = seed_model(c)
        token = c.headers.pop("X-CSRF-Token")
        for headers in ({}, {"X-CSRF-Token": "x" * 43},
                        {"X-CSRF-Token": token, "Origin": "http://attacker.example"},
                        {"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"}):
            r = c.post(path, json={}, headers=headers)
            assert (r.status_code, r.json()) == (403, {"error": FOREIGN}), headers
        assert folder.is_dir()
        # The page itself: its token, its origin.
        r = c.post(path, json={}, headers={"X-CSRF-Token": token, "Origin": "http://127.0.0.1",
                                           "Sec-Fetch-Site": "same-origin"})
        assert r.status_code != 403, r.text


def test_another_session_s_token_does_not_pass():
    app = create_app()
    with new_client(app) as a, new_client(app) as b:
        open_page(a)
        open_page(b)
        r = a.post("/api/train", json={}, headers={"X-CSRF-Token": b.headers["X-CSRF-Token"]})
        assert r.status_code == 403


# --- download and delete ----------------------------------------------------------------------------


def test_download_the_model_is_a_zip_of_the_publishable_files_without_paths():
    with new_client() as c:
        open_page(c)
        folder = seed_model(c)
        r = c.get("/api/download")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        assert r.headers["content-disposition"] == 'attachment; filename="huggingtweets-marsh_warbler.zip"'
        zf = zipfile.ZipFile(io.BytesIO(r.content))
        names = sorted(zf.namelist())
        assert names == sorted(f"{BOT}/{p.name}" for p in publishable_files(folder)[0])
        assert {f"{BOT}/{n}" for n in ("README.md", "config.json", "model.safetensors", "stats.json",
                                       "tokenizer.json", "training_config.json")} <= set(names)
        assert not any("copy_index" in n or "checkpoints" in n or "optimizer" in n for n in names)
        assert zf.read(f"{BOT}/model.safetensors") == (folder / "model.safetensors").read_bytes()
        config = json.loads(zf.read(f"{BOT}/training_config.json"))
        assert config["dataset"]["path"] == "datasets/ab12cd34"
        assert config["config"]["hub_token"] == "<redacted>"
        for name in zf.namelist():
            for secret in secrets_of(c):
                assert secret.encode() not in zf.read(name), (name, secret)


def test_download_without_a_model_says_so():
    with new_client() as c:
        open_page(c)
        r = c.get("/api/download")
        assert (r.status_code, r.json()) == (400, {"error": "no model yet: train one in step 2 first"})


def test_delete_my_data_removes_everything_of_the_session(tmp_path):
    from huggingtweets.tracking import wandb_dir

    app = create_app()
    with new_client(app) as c, new_client(app) as other:
        open_page(c)
        open_page(other).post("/api/cancel")  # it acts, so it has a folder
        state = c.get("/api/state").json()
        with open(archive(tmp_path / "a.zip", BOT), "rb") as f:
            assert c.post("/api/prepare", data={"kind0": "upload"}, files={"file0": ("a.zip", f)}).status_code == 202
        wait_for(lambda: c.get("/api/state").json(), lambda s: s["prepare"]["status"] == "done")
        folder = seed_model(c)
        run = wandb_dir() / "wandb" / "offline-run-20250101_000000-abc"
        run.mkdir(parents=True)
        elsewhere = tmp_path / "not-a-run"
        elsewhere.mkdir()
        (folder / "tracking.json").write_text(json.dumps(
            {"mode": "offline", "runs": {"train": {"dir": str(run)}, "x": {"dir": str(elsewhere)}}}))
        session = session_of(c)
        cookie = session.id
        assert (session.folder / "posts.sqlite").is_file() and any(session.uploads.iterdir())

        r = c.post("/api/delete")
        assert r.status_code == 200 and r.json() == {"deleted": True}
        flags = [f.strip().lower() for f in _set_cookie(r).split(";")]
        assert 'max-age=0' in flags or any(f.startswith("expires=thu, 01 jan 1970") for f in flags)
        assert not session.folder.exists() and not run.exists()
        assert elsewhere.is_dir()  # only run folders under W&B's own folder are removed
        assert session_of(other).folder.is_dir()  # another visitor's data stays
        # The old cookie names nothing now: a new, empty session.
        c.cookies.set(COOKIE, cookie)
        r = c.get("/api/state")
        assert r.json()["dataset"] is None and r.json()["model"] is None
        assert r.cookies.get(COOKIE) not in (None, cookie)
        assert not (paths.home() / "app" / "sessions" / folder_key(cookie)).exists()
        assert state["csrf"] != r.json()["csrf"]


# --- errors in web words ----------------------------------------------------------------------------


def test_typed_errors_in_web_words():
    from huggingtweets import errors as E
    from huggingtweets.app.web_errors import web_message

    upload = str(paths.home() / "app" / "sessions" / ("A" * 43) / "uploads" / "0a1b2c-my posts.csv")
    cases = {
        E.HandleRequiredError(f"file:{upload}"):
            "my posts.csv does not say whose posts these are: write the account's handle in the Handle field "
            "and press Download again",
        E.NotEnoughDataError("jane", 120, 2000, {"downloaded": 40, "kept": 3, "short": 30, "replies": 7}):
            "@jane: only 120 characters of usable text after cleaning (3 of 40 posts kept; dropped 30 as "
            "short, 7 as replies), under the 2,000 needed to train a bot; add more posts: a full archive, "
            "or another account",
        E.BaseModelUnavailableError("org/missing", "SmolLM2"):
            "could not get base model 'org/missing' from the Hugging Face Hub (offline, or no such model): "
            "empty the Base model field to use the app's default, or name a folder on the server",
        E.TrainingDivergedError(7, float("nan"), "/home/me/x/checkpoints/step-5"):
            "training loss became nan at step 7: train again with another recipe or fewer steps",
        E.InvalidRepoIdError("a/b/c", "too many slashes"):
            "invalid repository 'a/b/c': too many slashes; write it as NAMESPACE/NAME, for example "
            "jane/jane-bot (letters, digits, '-', '_', '.')",
        E.GenerationError("the generation process stopped (exit code 1); see /srv/x/sessions/y/generate.log"):
            "the generation process stopped (exit code 1); see generate.log",
        E.TrainingError("training loss became inf: train with a lower learning rate (--lr 1e-4); the last "
                        "checkpoint is kept in /a/b/checkpoints/step-3; run the same command with --resume"):
            "training loss became inf; the last checkpoint is kept in step-3",
    }
    for error, words in cases.items():
        assert web_message(error) == words


def test_an_upload_without_a_handle_asks_for_the_handle_field():
    with new_client() as c:
        open_page(c)
        r = c.post("/api/prepare", data={"kind0": "upload"},
                   files={"file0": ("my posts.csv", b"text\nthe first post is here\nand another one\n")})
        assert r.status_code == 202
        state = wait_for(lambda: c.get("/api/state").json(), lambda s: s["prepare"]["status"] != "running")
        assert state["prepare"]["error"] == ("my_posts.csv does not say whose posts these are: write the "
                                             "account's handle in the Handle field and press Download again")
        r = c.post("/api/train", json={"epochs": "many"})
        assert r.json()["error"] == "no data yet: download posts in step 1 first"


# --- copies and posts as they are written -----------------------------------------------------------


class FakeGenerators:
    """Generation workers that hand over posts one by one (``on_post``) and wait when told to."""

    def __init__(self, posts: list[dict]):
        self.posts, self.go_on = posts, threading.Event()

    def generate(self, folder, prompt, n=10, seed=None, log_path=None, on_post=None, on_event=None):
        for i, post in enumerate(self.posts):
            if on_post is not None:
                on_post(post)
            if i == 2:
                assert self.go_on.wait(30)
        if on_event is not None:
            on_event({"event": "done", "note": "2 posts that copied a post of the account were kept."})
        return self.posts

    def forget(self, folder):
        pass

    def close(self):
        pass


def test_copies_are_never_shared_nor_drawn_and_posts_show_as_they_are_written():
    posts = [{"text": f"My dream is number {i}", "copy": i in (1, 4)} for i in range(10)]
    fake = FakeGenerators(posts)
    with new_client() as c:
        c.app.state.ht.generators = fake
        open_page(c)
        seed_model(c)
        answer = {}
        writer = threading.Thread(target=lambda: answer.update(r=c.post("/api/generate", json={})))
        writer.start()
        partial = wait_for(lambda: c.get("/api/state").json(), lambda s: s["writing"] is not None and
                           len(s["writing"]["posts"]) == 3, timeout=20)["writing"]
        assert partial["n"] == 10 and [p["text"] for p in partial["posts"]] == [p["text"] for p in posts[:3]]
        assert partial["posts"][1]["share"] == {} and partial["posts"][0]["share"]
        fake.go_on.set()
        writer.join(30)
        state = answer["r"].json()
        assert state["writing"] is None and len(state["predictions"]) == 10
        assert state["generate_note"] == "2 posts that copied a post of the account were kept."
        for p, shown in zip(posts, state["predictions"]):
            assert shown["copy"] == p["copy"] and bool(shown["share"]) == (not p["copy"])
        r = c.post("/api/preview", json={"index": 4})
        assert r.status_code == 400
        assert r.json()["error"] == "that post copies a training post: choose another for the preview"


# --- the command ------------------------------------------------------------------------------------


def test_the_app_refuses_a_busy_port_in_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = subprocess.run([sys.executable, "-m", "huggingtweets", "app", "--port", str(port)],
                             capture_output=True, text=True, timeout=60, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2
    assert out.stderr == (f"Error: port {port} on 127.0.0.1 is already in use (another `huggingtweets app`?): "
                          f"stop that program, or pass --port with a free port\n")


# --- the whole flow in a real browser ---------------------------------------------------------------

NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"
UNNAMED = """() => [...document.querySelectorAll('button, input, select, textarea, a[href], summary, progress')]
  .filter((n) => n.getClientRects().length && n.type !== 'hidden')
  .filter((n) => {
    const by = n.getAttribute('aria-labelledby');
    const name = n.getAttribute('aria-label') || (by && document.getElementById(by)?.textContent) ||
      (n.labels && n.labels.length && n.labels[0].textContent) || n.textContent || n.getAttribute('title');
    return !(name && name.trim());
  }).map((n) => n.outerHTML.slice(0, 100))"""
TAB_STOPS = """() => { const n = document.activeElement;
  return n.id || n.getAttribute('aria-label') || n.className || n.tagName; }"""
BACKGROUND = {"light": "rgb(255, 255, 255)", "dark": "rgb(18, 18, 18)"}


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    pytest.importorskip("torch")
    from tiny_model import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("base") / "tiny")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser test leaves its screenshots: $HUGGINGTWEETS_SCREENSHOTS, or pytest's temp folder."""
    folder = Path(os.environ.get("HUGGINGTWEETS_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the web app: {folder}")
    return folder


class Shooter:
    """Screenshots of each step in light and dark, checking the colours and, on a phone, the width."""

    def __init__(self, page, folder: Path, label: str, scheme: str):
        self.page, self.folder, self.label, self.scheme = page, folder, label, scheme

    def __call__(self, step: str) -> None:
        for scheme in ("light", "dark"):
            self.page.emulate_media(color_scheme=scheme)
            assert self.page.evaluate("() => getComputedStyle(document.body).backgroundColor") == \
                BACKGROUND[scheme], (step, scheme)
            assert self.page.evaluate(NO_OVERFLOW), f"{self.label} {scheme} {step}: wider than the screen"
            if self.page.viewport_size["width"] <= 400:  # the smallest phones too
                size = self.page.viewport_size
                self.page.set_viewport_size({**size, "width": 360})
                assert self.page.evaluate(NO_OVERFLOW), f"360px {scheme} {step}: wider than the screen"
                self.page.set_viewport_size(size)
            assert self.page.evaluate(UNNAMED) == [], (step, scheme)
            self.page.screenshot(path=str(self.folder / f"{self.label}-{scheme}-{step}.png"), full_page=True)
        self.page.emulate_media(color_scheme=self.scheme)


def _tab_stops(page, n: int = 120) -> set[str]:
    page.locator("body").focus()
    page.evaluate("() => document.activeElement.blur()")
    seen = set()
    for _ in range(n):
        page.keyboard.press("Tab")
        seen.add(page.evaluate(TAB_STOPS))
    return seen


def _flow(page, server_url: str, shoot: Shooter, archive_path: Path, handle: str, tmp_path: Path, app) -> None:
    page.goto(server_url + "/")
    page.wait_for_selector("#source-rows select")
    shoot("1-start")
    assert page.get_by_role("button", name="Delete my data").is_visible()
    # Each step's status line is read out as it changes; errors interrupt.
    assert page.evaluate("() => [...document.querySelectorAll('.status')].every((n) =>"
                         " n.getAttribute('aria-live') === 'polite')")
    assert page.evaluate("() => [...document.querySelectorAll('.error')].every((n) =>"
                         " n.getAttribute('role') === 'alert')")

    # Step 1: the archive; the table and sample posts.
    page.set_input_files("#file0", str(archive_path))
    page.click("#download")
    page.wait_for_selector("#data-table tbody tr", timeout=30_000)
    assert f"@{handle}" in page.inner_text("#data-table")
    shoot("2-data")

    # Step 2: train; the progress bar has a name and ends full.
    page.click("#step2 summary")
    page.fill("#max-steps", "12")
    page.click("#train")
    page.wait_for_function("() => document.getElementById('train-status').textContent.startsWith('Trained')",
                           timeout=120_000)
    assert page.get_by_role("progressbar", name="Training progress").is_visible()
    shoot("3-trained")

    # Step 3: ten posts with share links that say an AI wrote them (none on a copy).
    page.click("#generate")
    page.wait_for_function("() => document.querySelectorAll('#predictions li').length === 10 &&"
                           " document.querySelectorAll('#predictions .use-preview').length > 0", timeout=90_000)
    own = page.locator("#predictions li:not(.is-copy)")
    assert page.locator("#predictions li.is-copy a.share").count() == 0
    href = own.first.locator("a.share-x").get_attribute("href")
    assert href.startswith("https://twitter.com/intent/tweet?") and "generated%20by%20an%20AI%20bot" in href
    shoot("4-posts")

    # The preview, chosen from the keyboard; the card as a page.
    own.first.locator(".use-preview").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => { const i = document.getElementById('preview-image');"
                           " return i.complete && i.naturalWidth > 0; }", timeout=30_000)
    page.wait_for_selector("#card h2", timeout=10_000)
    assert page.locator("#card script, #card [style], #card [onerror]").count() == 0
    cookie = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)
    shown = page.content() + page.inner_text("body")
    for secret in (cookie, str(paths.home()), app.state.ht.settings.default_base_model):
        assert secret not in shown, secret
    shoot("5-preview")

    # Download the model.
    with page.expect_download() as got:
        page.click("#download-model")
    zipped = tmp_path / got.value.suggested_filename
    got.value.save_as(zipped)
    names = zipfile.ZipFile(zipped).namelist()
    assert f"{handle}/README.md" in names and f"{handle}/model.safetensors" in names

    # Every control is reached by the keyboard.
    stops = _tab_stops(page)
    for needed in ("download", "train", "generate", "download-model", "prompt", "repo-id", "token", "publish",
                   "delete-data", "Use post 2 for the preview", "Post on X: post 1"):
        assert needed in stops or any(needed in s for s in stops), (needed, sorted(stops))

    # Delete my data: confirmed in a dialog (Escape keeps it), then everything is gone.
    folder = app.state.ht.sessions.get(cookie).folder
    page.focus("#delete-data")
    page.keyboard.press("Enter")
    page.wait_for_selector("#delete-dialog[open]")
    shoot("6-delete-dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector("#delete-dialog:not([open])", state="attached")
    assert folder.is_dir()
    page.click("#delete-data")
    page.click("#delete-confirm")
    page.wait_for_function("() => document.getElementById('delete-status').textContent === "
                           "'Your data is deleted.'", timeout=30_000)
    assert not folder.exists()
    assert page.is_hidden("#dataset") and page.locator("#predictions li").count() == 0
    shoot("7-deleted")


@pytest.mark.slow
@pytest.mark.parametrize("width, scheme", [(1280, "light"), (390, "dark")], ids=["desktop", "phone"])
def test_the_whole_flow_in_chromium(tmp_path, tiny_base, screenshots, width, scheme):
    from app_helpers import CHROMIUM, CHROMIUM_ARGS, LiveServer, sample_archive

    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install_debian_packages.sh")
    pytest.importorskip("uvicorn", reason="the web app needs its extra: pip install 'huggingtweets[app]'")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    pytest.importorskip("huggingtweets.card", reason="the card module writes the preview image")
    from huggingtweets.app import Settings

    archive_path, handle = sample_archive(tmp_path)
    app = create_app(Settings(default_base_model=str(tiny_base)))
    errors: list[str] = []
    with LiveServer(app) as server, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                          accept_downloads=True)
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            _flow(page, server.url, Shooter(page, screenshots, f"{width}px", scheme), archive_path, handle,
                  tmp_path, app)
        finally:
            browser.close()
    assert errors == []
    assert len(list(screenshots.glob(f"{width}px-*.png"))) == 14
