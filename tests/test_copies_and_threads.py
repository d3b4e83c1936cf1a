"""Copies of training posts are never shown (preview, card, tracker, the web app's posts) and are replaced
when dropped; every wait says what it is doing; generation takes its share of the cores."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from huggingtweets.card import finalize_bot, redraw_preview
from huggingtweets.errors import UsageError
from huggingtweets.generate import Bot, generate
from huggingtweets.training import hardware, resolve_config
from huggingtweets.training.copies import CopyIndex, words
from cli_runner import run_cli
from test_card import PREDICTIONS, make_bot_folder
from tiny_model import make_dataset, make_posts, tiny_model

TRAINED = "my cat loves tiny robots today"
"""A training post of six words: a copy is any text with four of them in a row (``copies.window_for``)."""
COPYING_PROMPT = "my cat loves tiny robots."
"""A prompt that holds four of its words in a row, so every post written from it copies it."""


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """The CLI and the worker set this process's torch threads; later tests get them back."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


from test_generate import bot_folder  # noqa: E402,F401 - the same tiny trained bot, a module fixture


@pytest.fixture
def copying_bot(bot_folder, tmp_path) -> Path:
    """The bot, with a copy index that holds ``TRAINED``: every post from ``COPYING_PROMPT`` copies it."""
    folder = tmp_path / "copying"
    shutil.copytree(bot_folder, folder)
    CopyIndex.build([TRAINED]).save(folder)
    return folder


@pytest.fixture
def busy_machine():
    """Two processes that keep a core busy each, for as long as the test runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for p in loops:
        p.kill()
        p.wait()


# --- 4. copies are dropped and replaced, never shown ---------------------------------------------------


def test_dropped_copies_are_replaced_by_more_samples(bot_folder):
    bot = Bot.load(bot_folder, dtype="fp32")
    first = bot.generate("the moon", n=3, seed=11, max_new_tokens=30, copies="keep")
    copied = [g.text for g in first if len(words(g.text)) >= 4]
    assert copied
    bot.copies = CopyIndex.build(copied)  # the first samples, as if they were training posts
    posts = bot.generate("the moon", n=3, seed=11, max_new_tokens=30, copies="drop")
    assert len(posts) == 3 and not any(g.copy for g in posts)
    assert posts.dropped >= len(copied) and posts.samples == 3 + posts.dropped
    assert not set(g.text for g in posts) & set(copied)


def test_when_every_sample_copies_drop_stops_at_three_times_the_count(copying_bot):
    bot = Bot.load(copying_bot, dtype="fp32")
    marked = bot.generate(COPYING_PROMPT, n=4, seed=0, max_new_tokens=8)
    assert len(marked) == 4 and all(g.copy for g in marked)
    posts = bot.generate(COPYING_PROMPT, n=4, seed=0, max_new_tokens=8, copies="drop")
    assert list(posts) == [] and (posts.samples, posts.dropped) == (12, 12)
    fewer = generate(bot, COPYING_PROMPT, n=4, seed=0, max_new_tokens=8, copies="drop", max_samples=5)
    assert fewer == []
    with pytest.raises(UsageError, match=r"max_samples must be >= n \(got 2 for 4 posts\)"):
        bot.generate(COPYING_PROMPT, n=4, copies="drop", max_samples=2)


def test_cli_drop_refills_and_says_how_many_were_dropped(bot_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the same arithmetic in both runs: the same samples
    folder = tmp_path / "bot"
    shutil.copytree(bot_folder, folder)
    args = ["generate", folder, "the moon", "-n", "3", "--seed", "11", "--max-new-tokens", "30", "--json"]
    code, out, _ = run_cli(args + ["--copies", "keep"], capsys)
    assert code == 0
    copied = [p["text"] for p in json.loads(out) if len(words(p["text"])) >= 4]
    CopyIndex.build(copied).save(folder)
    code, out, err = run_cli(args + ["--copies", "drop"], capsys)
    posts = json.loads(out)  # still a valid list; the note is on stderr
    assert code == 0 and len(posts) == 3 and not any(p["copy"] for p in posts)
    note = re.fullmatch(r"Note: (\d+) of (\d+) samples copied a training post and were dropped; others "
                        r"were written in their place\.", err.splitlines()[-1])
    assert note, err
    dropped, samples = int(note[1]), int(note[2])
    assert dropped >= len(copied) and samples == 3 + dropped  # the copies, and any later sample that copied


def test_cli_drop_with_every_sample_a_copy_fails_with_advice(copying_bot, capsys):
    code, out, err = run_cli(["generate", copying_bot, COPYING_PROMPT, "-n", "2", "--seed", "0",
                              "--max-new-tokens", "8", "--copies", "drop", "--json", "-q"], capsys)
    assert code == 1 and out == ""
    assert err == ("Error: every one of the 6 samples copied a training post, so no post is left: the bot has "
                   "learnt its posts by heart. Try a higher --temperature (e.g. 1.3) or another prompt, or "
                   "train it on more posts or for fewer --epochs; --copies mark shows the copies, marked\n")
    code, out, _ = run_cli(["generate", copying_bot, COPYING_PROMPT, "-n", "2", "--seed", "0",
                            "--max-new-tokens", "8", "-q"], capsys)
    assert code == 0 and out.count("[copies a training post]") == 2  # the terminal shows them, marked


class RecordingTracker:
    """A tracker that keeps what it is given (the real one's table is checked in test_tracking)."""

    name, mode = "recording", None

    def __init__(self):
        self.tables: list[tuple[str, list]] = []

    def log_predictions(self, prompt, predictions):
        self.tables.append((prompt, list(predictions)))

    def info(self):
        return {}


def test_finalize_leaves_copies_out_of_the_file_the_preview_and_the_table(tmp_path):
    from huggingtweets.tracking import prediction_rows

    folder = make_bot_folder(tmp_path, 1)
    posts = [{"text": PREDICTIONS[0], "copy": True}, {"text": PREDICTIONS[1], "copy": False},
             {"text": PREDICTIONS[2], "copy": None}]
    tracker = RecordingTracker()
    finalize_bot(folder, posts, tracker=tracker)
    saved = json.loads((folder / "predictions.json").read_text())
    assert saved["predictions"] == PREDICTIONS[1:3]
    assert tracker.tables == [("My dream is", PREDICTIONS[1:3])]
    assert prediction_rows("p", posts + ["a string"]) == [["p", PREDICTIONS[1]], ["p", PREDICTIONS[2]],
                                                          ["p", "a string"]]


def test_redraw_keeps_generates_numbers_and_refuses_a_copy(tmp_path):
    folder = make_bot_folder(tmp_path, 1)
    finalize_bot(folder, PREDICTIONS)
    posts = [{"text": "Hello one", "copy": False}, {"text": "Hello copied", "copy": True},
             {"text": "Hello three", "copy": False}]
    with pytest.raises(UsageError, match=r"^--pick 2: that post copies a training post"):
        redraw_preview(folder, [2], posts, "Hello")
    redraw_preview(folder, [3], posts, "Hello")
    saved = json.loads((folder / "predictions.json").read_text())
    assert saved == {"prompt": "Hello", "predictions": ["Hello one", "Hello three"], "picked": [2]}
    with pytest.raises(UsageError, match="every post given copies a training post"):
        redraw_preview(folder, None, posts[1:2], "Hello")


def test_a_bot_that_only_copies_gets_a_card_without_posts(tmp_path):
    from huggingtweets.pipeline import train_bot

    posts = make_posts(150, seed=2) + [TRAINED] * 30
    ds = make_dataset(tmp_path / "ds", posts)
    cfg = resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 2, "batch_size": 2,
                                   "checkpoint_minutes": 0})
    records: list[dict] = []
    result = train_bot(ds, tmp_path / "bot", cfg, tracker="none", eval_posts=None, prompt=COPYING_PROMPT,
                       n_predictions=3, seed=0, on_progress=records.append)
    assert len(result.predictions) == 3 and all(p["copy"] for p in result.predictions)  # for the terminal
    saved = json.loads((result.output / "predictions.json").read_text())
    assert saved["predictions"] == []  # never the copies, not even when nothing else is left
    assert (result.output / "predictions.png").is_file()
    (card,) = [r for r in records if r.get("stage") == "card"]
    assert card["note"].startswith("every sample post copied a training post, so the card and its preview "
                                   "show none")


# --- 5. feedback while waiting, and the worker's stream ------------------------------------------------


def test_generate_says_what_it_writes_before_loading(bot_folder, capsys):
    code, out, err = run_cli(["generate", bot_folder, "rain", "-n", "2", "--seed", "1", "--max-new-tokens", "5"],
                             capsys)
    assert code == 0 and err.splitlines()[0].startswith("Writing 2 posts")
    assert err.splitlines()[0].endswith("...")
    code, out, err = run_cli(["generate", bot_folder, "rain", "-n", "1", "--max-new-tokens", "5", "-q"], capsys)
    assert code == 0 and err == ""


def test_on_post_hears_each_post_as_it_ends(bot_folder):
    bot = Bot.load(bot_folder, dtype="fp32")
    heard = []
    posts = bot.generate("my cat", n=5, seed=1, max_new_tokens=30, on_post=heard.append)
    assert sorted(g.text for g in heard) == sorted(g.text for g in posts) and len(heard) == 5
    assert [g.tokens for g in heard] == sorted(g.tokens for g in heard)  # shorter posts end first


def test_the_worker_streams_posts_and_never_returns_a_copy(copying_bot, bot_folder):
    from huggingtweets.app.runner import run_generation

    events: list[dict] = []
    requests = io.StringIO(orjson.dumps({"prompt": "rain", "n": 3, "seed": 1}).decode() + "\n" +
                           orjson.dumps({"prompt": COPYING_PROMPT, "n": 2, "seed": 0}).decode() + "\n")
    assert run_generation(copying_bot, requests, events.append) == 0
    assert events[0] == {"event": "ready"}
    posts = events[1:4]
    assert [e["event"] for e in posts] == ["post"] * 3 and [e["done"] for e in posts] == [1, 2, 3]
    assert all(e["n"] == 3 and e["text"].startswith("rain") and not e["copy"] for e in posts)
    final = events[4]  # the answer as before, with how it was reached
    assert sorted(p["text"] for p in final["predictions"]) == sorted(e["text"] for e in posts)
    assert final["samples"] == 3 + final["dropped"] and final["threads"] >= 1
    assert ("note" in final) == (final["dropped"] > 0)
    only_copies = events[5]  # no post event: every sample copied
    assert only_copies["predictions"] == [] and (only_copies["samples"], only_copies["dropped"]) == (6, 6)
    assert only_copies["note"].startswith("Every one of the 6 posts written copied a post of the account")
    assert len(events) == 6


def test_the_app_hears_the_stream_from_a_real_worker(bot_folder, tmp_path):
    from huggingtweets.app.generation import Generators

    gens = Generators(1)
    heard: list[dict] = []
    shown: list[dict] = []
    try:
        posts = gens.generate(bot_folder, "rain", 2, 1, tmp_path / "generate.log", on_post=shown.append,
                              on_event=heard.append)
    finally:
        gens.close()
    assert [e["event"] for e in heard] == ["post", "post", "done"]
    assert sorted(p["text"] for p in posts) == sorted(e["text"] for e in heard[:2])
    assert sorted(posts, key=lambda p: p["text"]) == sorted(shown, key=lambda p: p["text"])
    assert heard[2]["samples"] == 2 + heard[2]["dropped"]


# --- 5. threads: each process its share ---------------------------------------------------------------


def test_the_thread_rule():
    assert hardware.generation_threads(cores=2, busy=0.1) == 2
    assert hardware.generation_threads(cores=2, busy=1.0) == 1
    assert hardware.generation_threads(cores=2, busy=3.5) == 1
    assert hardware.generation_threads(cores=16, busy=4.2) == 12
    assert [hardware.training_threads(c) for c in (1, 2, 3, 4, 16)] == [1, 2, 3, 3, 15]


def test_workers_get_their_thread_env_before_torch(monkeypatch):
    from huggingtweets.app.jobs import _child_env

    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"):
        monkeypatch.delenv(k, raising=False)
    cores = hardware.machine_cores()
    trainer, generator = _child_env("train"), _child_env("generate")
    assert trainer["OMP_NUM_THREADS"] == trainer["MKL_NUM_THREADS"] == str(hardware.training_threads(cores))
    assert "OMP_NUM_THREADS" not in generator  # sized at each request, to what the machine leaves free
    for env in (trainer, generator):
        assert (env["GOMP_SPINCOUNT"], env["KMP_BLOCKTIME"]) == ("10000", "0")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's choice stands
    assert _child_env("train")["OMP_NUM_THREADS"] == "3"


def test_busy_cores_sees_other_processes(busy_machine):
    assert hardware.busy_cores() >= 1.5
    if hardware.machine_cores() >= 2:
        assert hardware.generation_threads(cores=hardware.machine_cores()) < hardware.machine_cores()


def test_generate_takes_a_share_on_a_busy_machine(bot_folder, busy_machine, capsys, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    if hardware.machine_cores() < 2:
        pytest.skip("one core: nothing to share")
    code, _, err = run_cli(["generate", bot_folder, "rain", "-n", "2", "--max-new-tokens", "5"], capsys)
    first = err.splitlines()[0]
    assert code == 0 and first.startswith("Writing 2 posts (the machine is busy: on ")
    assert first.endswith(f" of its {hardware.machine_cores()} cores)...")
    import torch

    assert torch.get_num_threads() < hardware.machine_cores()
