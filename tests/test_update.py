"""``huggingtweets update``: a bot updated with a newer archive of its account, with the tiny model.

The bot is trained on a first X archive (built at test time), then updated with a larger one of the same
account: the new posts are trained on, the split stays stable, the previous version is kept and can be
put back byte for byte, a worse version is refused, kill -9 leaves the bot loadable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import huggingtweets as ht
from archive_fixtures import tweet, write_zip, x_files
from cli_runner import run
from tiny_model import make_posts, tiny_model

from huggingtweets import paths, update_steps, versions
from huggingtweets.bot_folder import BotFolder, publishable_files
from huggingtweets.dataset.folder import DatasetFolder
from huggingtweets.errors import (BaseModelChangedError, ModelFolderError, NoPreviousVersionError,
                                  OtherAccountError, SourceGoneError)
from huggingtweets.update import UPDATE_LR_SCALE, choose_sources, update_bot
from huggingtweets.update_data import REPLAY_MIN

POSTS = make_posts(400, seed=5)
QUIET = {"tracker": "none", "n_predictions": 2, "eval_posts": None}


def archive(path: Path, n: int, *, handle: str = "marsh_warbler", account_id: str = "4455667788") -> Path:
    """An X archive of the account's first ``n`` posts (the same posts, in the same order, for every n)."""
    tweets = [tweet(str(1_500_000_000_000_000_000 + i), POSTS[i]) for i in range(n)]
    return write_zip(path, x_files(tweets, handle=handle, account_id=account_id))


def train_bot(tmp_path: Path, n: int = 150, **settings) -> tuple[Path, Path]:
    """(bot folder, its first archive): a tiny bot trained in a few seconds."""
    first = archive(tmp_path / "first.zip", n)
    cfg = ht.resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 4, "batch_size": 8,
                                      "checkpoint_minutes": 0, **settings})
    bot = ht.make_bot([f"archive:{first}"], tmp_path / "bot", cfg, min_chars=0, tracker="none",
                      n_predictions=2, eval_posts=None)
    return bot.output, first


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def ids(ds: DatasetFolder, split: str) -> set[str]:
    return {r["id"] for r in ds.rows(split)}


@pytest.fixture
def bot(tmp_path):
    return train_bot(tmp_path)


def test_an_update_trains_on_the_new_posts_and_keeps_the_split(bot, tmp_path, monkeypatch, capsys):
    folder, _ = bot
    old = DatasetFolder.open(BotFolder(folder).training.dataset.path)
    seen: dict[str, list[dict]] = {}
    real_train = update_steps.train

    def spy(bot_, upd, *args, **kw):
        seen["train"], seen["valid"] = upd.rows("train"), upd.rows("valid")
        return real_train(bot_, upd, *args, **kw)

    monkeypatch.setattr(update_steps, "train", spy)
    stages = []
    result = update_bot(folder, [f"archive:{archive(tmp_path / 'second.zip', 260)}"], force=True,
                        on_progress=lambda r: stages.append(r.get("stage")), **QUIET)
    assert result.changed and result.version == 2 and result.previous == 1
    new = DatasetFolder.open(result.dataset)
    assert result.dataset.name == f"{old.path.name}-v2" and result.dataset.parent == old.path.parent
    # The split is stable: old posts keep their side; the new validation = the old one plus new posts.
    assert ids(old, "valid") < ids(new, "valid") and ids(old, "train") < ids(new, "train")
    new_train = ids(new, "train") - ids(old, "train")
    new_valid = ids(new, "valid") - ids(old, "valid")
    assert len(new_train) == result.new_train > 50 and len(new_valid) == result.new_valid
    # The update trains on every new training post plus a replay sample of older training posts.
    trained = {r["id"] for r in seen["train"]}
    assert new_train <= trained and not trained & ids(new, "valid")
    replay = trained - new_train
    assert replay <= ids(old, "train") and len(replay) == result.replay == min(len(ids(old, "train")),
                                                                               max(REPLAY_MIN, len(new_train)))
    # The loop's validation is the new posts'; the whole validation side is scored once, after training,
    # and becomes the new version's eval_* in metrics.json.
    assert {r["id"] for r in seen["valid"]} == new_valid
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["eval_chars"] == sum(len(r["text"]) + 1 for r in new.rows("valid"))
    old_s, new_s = result.scores["old_valid"], result.scores["new_valid"]
    old_chars = sum(len(r["text"]) + 1 for r in new.rows("valid") if r["id"] in ids(old, "valid"))
    combined = (old_s["after"] * old_chars + new_s["after"] * (metrics["eval_chars"] - old_chars)) / metrics["eval_chars"]
    assert metrics["eval_bits_per_char"] == pytest.approx(combined, rel=1e-9)
    # The previous weights' figure on the old validation posts is the one their training recorded (in
    # fp32, over the same posts), not computed again: it equals a fresh scoring of the kept version.
    old_rows = [r for r in new.rows("valid") if r["id"] in ids(old, "valid")]
    fresh = update_steps._bits(ht.Bot.load(folder / "versions" / "v1", dtype="fp32"), old_rows,
                               [u.handle for u in new.stats.users])
    assert old_s["before"] == pytest.approx(fresh, rel=1e-4)
    assert [s for s in stages if s in ("preparing", "training", "measuring", "card", "saving")] == \
        ["preparing", "training", "measuring", "card", "saving"]
    # The folder is the new version: the whole dataset version's stats, the original base model.
    b = BotFolder(folder)
    assert (folder / "stats.json").read_bytes() == (new.path / "stats.json").read_bytes()
    assert b.training.dataset.hash == new.hash and b.training.dataset.path == str(new.path.resolve())
    assert b.training.base_model["location"] == str(tiny_model())
    assert b.training.setting("model", "base_model") == str(tiny_model())
    history = json.loads((folder / "history.json").read_text())
    assert [v["version"] for v in history["versions"]] == [1, 2] and history["current"] == 2
    v2 = history["versions"][1]
    assert v2["parent"] == 1 and v2["new_posts"] == {"train": result.new_train, "valid": result.new_valid}
    assert v2["dataset"]["hash"] == new.hash and v2["replay_posts"] == result.replay
    assert set(v2["metrics"]["old_valid"]) == {"posts", "before", "after"}
    assert v2["accounts"][0]["kept"] == new.stats.users[0].kept
    assert (folder / "versions" / "v1" / "model.safetensors").is_file()
    assert not (folder / ".update").exists() and not (folder / versions.JOURNAL_FILE).exists()
    # Nothing of the history goes to the Hub.
    keep, skipped = publishable_files(folder)
    assert "history.json" not in {p.name for p in keep} and {"versions/", "history.json"} <= set(skipped)
    ht.Bot.load(folder).generate("my cat", 1)
    # The card lists the versions; `info` shows the history.
    card = (folder / "README.md").read_text()
    assert "updated with newer posts 1 time(s)" in card and f"+{result.new_posts} posts" in card
    code, out, _ = run(capsys, "info", folder)
    assert code == 0 and "History:" in out and f"v2  {v2['date'][:10]}  +{result.new_posts} posts" in out


def test_an_update_with_nothing_new_changes_nothing(bot, tmp_path, capsys):
    folder, first = bot
    before = tree_hashes(folder)
    datasets = sorted(p.name for p in Path(BotFolder(folder).training.dataset.path).parent.iterdir())
    result = update_bot(folder, **QUIET)  # the recorded source: the same archive
    assert not result.changed and "no new posts" in result.reason
    assert tree_hashes(folder) == before
    assert sorted(p.name for p in Path(BotFolder(folder).training.dataset.path).parent.iterdir()) == datasets
    code, out, err = run(capsys, "update", folder, "--tracker", "none")
    assert code == 0 and "Not updated: no new posts" in out and "Traceback" not in err
    assert tree_hashes(folder) == before


def test_a_worse_update_is_refused_and_force_keeps_it(tmp_path):
    folder, _ = train_bot(tmp_path, max_steps=60, learning_rate=3e-3)  # a bot that has learnt something
    before = tree_hashes(folder)
    second = f"archive:{archive(tmp_path / 'second.zip', 260)}"
    worse = {"learning_rate": 5.0, "max_grad_norm": 0, "max_steps": 30}
    result = update_bot(folder, [second], config=worse, **QUIET)
    assert not result.changed and result.new_train and result.rise > 0.01
    assert "--force" in result.reason and "previous version was kept" in result.reason
    assert tree_hashes(folder) == before
    assert not Path(f"{BotFolder(folder).training.dataset.path}-v2").exists()
    forced = update_bot(folder, [second], config=worse, force=True, **QUIET)
    assert forced.changed and forced.forced
    assert json.loads((folder / "history.json").read_text())["versions"][-1]["forced"] is True


def test_a_negative_tolerance_is_refused_before_anything_runs(bot, tmp_path, capsys):
    folder, _ = bot
    before = tree_hashes(folder)
    code, _, err = run(capsys, "update", folder, f"archive:{archive(tmp_path / 'second.zip', 260)}",
                       "--tolerance", "-0.5")
    assert code == 2 and err.count("\n") == 1 and "must be 0 or more" in err and "--force" in err
    assert tree_hashes(folder) == before
    assert not Path(f"{BotFolder(folder).training.dataset.path}-v2").exists()


def test_rollback_restores_the_previous_version_byte_for_byte(bot, tmp_path, capsys):
    folder, _ = bot
    before = tree_hashes(folder)
    recipe = json.loads((folder / "training_config.json").read_text())["config"]
    first = update_bot(folder, [f"archive:{archive(tmp_path / 'second.zip', 220)}"], force=True, **QUIET)
    after_first = tree_hashes(folder)
    third = f"archive:{archive(tmp_path / 'third.zip', 300)}"
    second = update_bot(folder, [third], force=True, **QUIET)
    assert first.version == 2 and second.version == 3
    # The bot's settings stay its recipe's; each update's own are beside them, its rate halved once
    # (not again at every update).
    record = json.loads((folder / "training_config.json").read_text())
    assert record["config"] == recipe
    assert record["update"]["config"]["optim"]["learning_rate"] == pytest.approx(
        recipe["optim"]["learning_rate"] * UPDATE_LR_SCALE)
    assert "path" not in record["update"]["update_set"]  # the update's working set is removed
    dataset_v3 = Path(record["dataset"]["path"])
    assert dataset_v3.name.endswith("-v3") and dataset_v3.is_dir()
    assert sorted(versions.snapshots(folder)) == [1, 2]
    code, out, _ = run(capsys, "update", folder, "--rollback")
    assert code == 0 and "back to version 2" in out
    assert {k: v for k, v in tree_hashes(folder).items() if not k.startswith("versions/")} == \
        {k: v for k, v in after_first.items() if not k.startswith("versions/")}
    assert ht.rollback(folder).version == 1
    # The version's files are the first one's byte for byte; only the log of rollbacks is left, beside.
    assert {k: v for k, v in tree_hashes(folder).items() if k != "versions/rollbacks.json"} == before
    assert [p.name for p in (folder / "versions").iterdir()] == ["rollbacks.json"]
    log = versions.read_rollbacks(folder)
    assert [(r["discarded"], r["restored"]) for r in log] == [(3, 2), (2, 1)]
    # The discarded versions' own dataset versions went with them (the first dataset stays).
    assert log[0]["dataset_removed"] == str(dataset_v3) and not dataset_v3.exists()
    assert log[1]["dataset_removed"].endswith("-v2") and not Path(log[1]["dataset_removed"]).exists()
    assert Path(BotFolder(folder).training.dataset.path).is_dir()
    assert log[0]["entry"]["version"] == 3 and log[1]["entry"]["new_posts"]["train"] == first.new_train
    code, out, _ = run(capsys, "info", folder)
    assert code == 0 and "v3 discarded, v2 put back" in out and "v2 discarded, v1 put back" in out
    assert not any(p.name == "rollbacks.json" for p in publishable_files(folder)[0])
    code, _, err = run(capsys, "update", folder, "--rollback")
    assert code == 2 and err.count("\n") == 1 and "no previous version" in err
    with pytest.raises(NoPreviousVersionError):
        ht.rollback(folder)
    again = update_bot(folder, [third], force=True, **QUIET)  # the same update once more: no second copy
    assert again.dataset.name.endswith("-v2") and not Path(f"{again.dataset}-2").exists()


def _slow_recipe(folder: Path, epochs: int) -> bytes:
    """Make the bot's recorded recipe run for ``epochs`` epochs; return the file as it was."""
    path = folder / "training_config.json"
    original = path.read_bytes()
    record = json.loads(original)
    record["config"]["data"]["epochs"] = epochs
    record["config"]["run"]["max_steps"] = 0
    path.write_text(json.dumps(record))
    return original


@pytest.mark.slow
def test_kill_9_during_an_update_leaves_the_bot_loadable_and_the_next_update_completes(bot, tmp_path):
    folder, _ = bot
    original = _slow_recipe(folder, 2000)
    before = tree_hashes(folder)
    second = f"archive:{archive(tmp_path / 'second.zip', 260)}"
    proc = subprocess.Popen([sys.executable, "-m", "huggingtweets", "update", str(folder), second, "--tracker",
                             "none"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 120
        for line in proc.stderr:
            if line.startswith(("  step ", "  validation ")) or time.monotonic() > deadline:
                break
        assert proc.poll() is None, "the update ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert (folder / ".update").is_dir()  # killed mid-training
    assert {k: v for k, v in tree_hashes(folder).items() if not k.startswith(".update/")} == before
    ht.Bot.load(folder).generate("my cat", 1)
    (folder / "training_config.json").write_bytes(original)
    result = update_bot(folder, [second], force=True, **QUIET)
    assert result.changed and result.version == 2 and not (folder / ".update").exists()


def _half_swapped(folder: Path) -> dict[str, str]:
    """A swap killed after its journal and one file moved; returns the staged version's hashes."""
    staged = folder / versions.WORK_DIR / "new"
    staged.mkdir(parents=True)
    for name in versions.version_files(folder):
        shutil.copy2(folder / name, staged / name)
    (staged / "metrics.json").write_text('{"eval_loss": 1.0}\n')
    (staged / "extra.json").write_text("{}\n")
    (staged / "predictions.json").unlink()
    want = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in staged.iterdir()}
    versions.snapshot(folder, 1)
    journal = {"staged": ".update/new", "files": versions.version_files(staged), "remove": ["predictions.json"]}
    versions.write_json_atomic(folder / versions.JOURNAL_FILE, journal)
    os.replace(staged / "metrics.json", folder / "metrics.json")
    return want


def test_a_half_done_swap_is_finished_by_the_next_load(bot):
    folder, _ = bot
    old = tree_hashes(folder)
    want = _half_swapped(folder)
    ht.Bot.load(folder)  # finishes the swap first
    assert not (folder / versions.JOURNAL_FILE).exists() and not (folder / ".update").exists()
    assert {n: h for n, h in tree_hashes(folder).items() if "/" not in n} == want
    assert {n[len("versions/v1/"):]: h for n, h in tree_hashes(folder).items() if n.startswith("versions/v1/")} \
        == old


def test_a_half_done_swap_is_finished_by_the_next_update(bot):
    folder, _ = bot
    want = _half_swapped(folder)
    result = update_bot(folder, **QUIET)  # nothing new, but the swap is finished
    assert not result.changed and not (folder / versions.JOURNAL_FILE).exists()
    assert {n: h for n, h in tree_hashes(folder).items() if "/" not in n} == want


TOKEN = "hf_fake_token_for_tests_0123456789"


def test_update_publish_makes_one_commit_without_the_history(bot, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    from fake_hub import FakeHub
    from huggingtweets.hub import publish

    folder, _ = bot
    with FakeHub(tokens={TOKEN: "jane"}) as hub:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        publish(folder, repo_id="jane/bot")
        files_before = set(hub.repos["jane/bot"].files)
        code, out, err = run(capsys, "update", folder, f"archive:{archive(tmp_path / 'second.zip', 260)}",
                             "--publish", "--force", "--tracker", "none")
        assert code == 0, err
        commits = hub.repos["jane/bot"].commits
        assert len(commits) == 2
        assert commits[-1]["summary"].startswith("Update to version 2 (+")
        files = set(hub.repos["jane/bot"].files)
        assert files == files_before
        assert not any(f.startswith("versions/") or f in ("history.json", ".swap-journal.json") for f in files)
        assert "Published version 2" in out
        assert hub.unhandled == []


# -- bad input ------------------------------------------------------------------------------------------


def test_a_folder_that_is_not_a_bot(tmp_path, capsys):
    (tmp_path / "notabot").mkdir()
    with pytest.raises(ModelFolderError, match="pass a bot's folder or its name"):
        update_bot(tmp_path / "notabot")
    code, _, err = run(capsys, "update", tmp_path / "notabot")
    assert code == 1 and err.count("\n") == 1 and "huggingtweets update jane" in err
    code, _, err = run(capsys, "update", "nosuchbot")
    assert code == 1 and err.count("\n") == 1 and "no bot named nosuchbot in " in err and "huggingtweets list" in err


def test_a_bot_whose_source_is_gone(bot, tmp_path, capsys):
    folder, first = bot
    first.rename(tmp_path / "moved.zip")
    before = tree_hashes(folder)
    with pytest.raises(SourceGoneError) as e:
        update_bot(folder, **QUIET)
    assert f"archive:{first}" in str(e.value)
    # The bot lives outside the home's bots/ folder: the command to run again names its path.
    assert f"huggingtweets update {folder} archive:NEW-PATH" in str(e.value)
    code, _, err = run(capsys, "update", folder)
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert tree_hashes(folder) == before
    # The moved archive, given, is the bot's own: it is read in the recorded one's place.
    assert choose_sources(BotFolder(folder), [f"archive:{tmp_path / 'moved.zip'}"], False, None) == \
        [f"archive:{tmp_path / 'moved.zip'}"]


def test_an_archive_of_another_account_is_refused(bot, tmp_path, capsys):
    folder, _ = bot
    other = f"archive:{archive(tmp_path / 'other.zip', 200, handle='someone_else', account_id='999')}"
    before = tree_hashes(folder)
    with pytest.raises(OtherAccountError, match="--allow-other-account"):
        update_bot(folder, [other], **QUIET)
    code, _, err = run(capsys, "update", folder, other)
    assert code == 2 and err.count("\n") == 1 and "@someone_else" in err and "@marsh_warbler" in err
    assert tree_hashes(folder) == before
    assert choose_sources(BotFolder(folder), [other], True, None) == [other]


def test_a_bot_of_another_base_model(bot, capsys):
    folder, _ = bot
    path = folder / "training_config.json"
    record = json.loads(path.read_text())
    record["base_model"]["location"] = "/models/an-older-version"
    path.write_text(json.dumps(record))
    with pytest.raises(BaseModelChangedError, match="huggingtweets train SOURCE"):
        update_bot(folder, **QUIET)
    code, _, err = run(capsys, "update", folder)
    assert code == 1 and err.count("\n") == 1 and "/models/an-older-version" in err


def test_update_needs_a_bot_or_all(capsys):
    code, _, err = run(capsys, "update")
    assert code == 2 and "--all" in err
    code, _, err = run(capsys, "update", "--all")
    assert code == 0 and "No bot with only live sources" in err


def test_update_all_updates_every_live_bot_and_reports_each_failure(tmp_path, monkeypatch, capsys):
    from memory_source import ACCOUNTS, make_account

    from huggingtweets import sources, update

    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    monkeypatch.setattr(update, "LIVE_SCHEMES", ("mem",))  # a live source that needs no network
    ACCOUNTS.clear()
    cfg = ht.resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 4, "batch_size": 8,
                                      "checkpoint_minutes": 0})
    for handle in ("bob", "jane"):
        make_account(handle, 150)
        ht.make_bot([f"mem:{handle}"], None, cfg, min_chars=0, tracker="none", n_predictions=2, eval_posts=None)
    train_bot(tmp_path)  # an archive's bot: not live, left alone
    make_account("jane", 230)  # jane posted more; bob's account is gone
    del ACCOUNTS["bob"]
    code, out, err = run(capsys, "update", "--all", "--tracker", "none", "--force")
    assert code == 1, err
    assert "Error: bob: its source mem:bob is gone" in err and "1 of 2 bots not updated" in err
    assert "Updated: jane: version 2" in out
    assert json.loads((ht.list_bots()[1].path / "history.json").read_text())["current"] == 2
    ACCOUNTS.clear()


def test_an_update_is_tracked_as_a_run_continued_from_the_first(tmp_path):
    """With W&B (offline): the update logs the dataset's new version as the next version of the same
    ``train-dataset`` artifact, and its train run's config names the run it continues."""
    from test_tracking import run_contents

    first = archive(tmp_path / "first.zip", 150)
    cfg = ht.resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 4, "batch_size": 8,
                                      "checkpoint_minutes": 0})
    bot = ht.make_bot([f"archive:{first}"], tmp_path / "bot", cfg, min_chars=0, tracker="wandb",
                      n_predictions=2, eval_posts=None)
    first_run = BotFolder.open(bot.output).tracking.data["runs"]["train"]["id"]
    second = archive(tmp_path / "second.zip", 260)
    result = update_bot(bot.output, [f"archive:{second}"], tracker="wandb", n_predictions=2, force=True)
    assert result.changed
    runs = sorted((paths.home() / "wandb").glob("offline-run-*"), key=lambda p: p.stat().st_mtime)
    assert len(runs) == 4  # preprocess + train, twice
    contents = [run_contents(r) for r in runs]
    datasets = [c for c in contents if "train-dataset" in c[1]]
    assert len(datasets) == 2 and datasets[0][0]["hash"] != datasets[1][0]["hash"]
    continued = [c[0] for c in contents if c[0].get("continued_from")]
    assert len(continued) == 1 and continued[0]["continued_from"]["id"] == first_run
    assert continued[0]["update"]["version"] == 2
    info = BotFolder.open(bot.output).tracking.data
    assert info["continued_from"]["id"] == first_run


def test_a_recorded_score_is_reused_only_when_it_is_of_the_same_posts_in_fp32(tmp_path):
    from huggingtweets.update_steps import recorded_score

    rows = [{"text": "one post"}, {"text": "another"}]  # 9 + 8 characters with their ends
    record = {"config": {"run": {"precision": "fp32"}}}
    metrics = {"eval_bits_per_char": 1.5, "eval_loss": 2.0, "eval_tokens": 6, "eval_chars": 17, "best_step": None,
               "steps": 10}

    def score(m: dict, r: dict = record, posts: list = rows):
        (tmp_path / "metrics.json").write_text(json.dumps(m))
        (tmp_path / "training_config.json").write_text(json.dumps(r))
        return recorded_score(tmp_path, posts)

    assert score(metrics) == 1.5
    assert score({**metrics, "eval_chars": 18}) is None  # other posts (or other cleaning)
    assert score(metrics, {"config": {"run": {"precision": "bf16"}}}) is None
    assert score({**metrics, "eval_precision": "fp32"}, {"config": {"run": {"precision": "bf16"}}}) == 1.5
    assert score({**metrics, "best_step": 4}) is None  # evaluated at an earlier step than the one saved
    assert score(metrics, posts=[]) is None
    assert score({**metrics, "eval_tokens": 0}) is None  # nothing scored
    from huggingtweets.update_steps import recorded_eval
    assert score(metrics) == 1.5
    whole = recorded_eval(tmp_path, rows)
    assert (whole.posts, whole.loss, whole.tokens, whole.chars) == (2, 2.0, 6, 17)  # what Score.combine adds up


def test_a_network_error_mid_fetch_is_not_a_gone_source_and_the_next_update_continues(tmp_path, monkeypatch,
                                                                                     capsys):
    """A live source whose connection fails after a few pages: the error says to run again (not that the
    source is gone), the bot is left byte for byte, the pages fetched stay stored, and the next update
    goes on. A service that says the account is suspended is a gone source."""
    import memory_source as mem

    from huggingtweets import sources, update
    from huggingtweets.store import Store

    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    monkeypatch.setattr(update, "LIVE_SCHEMES", ("mem",))
    mem.ACCOUNTS.clear(), mem.FAIL_AFTER.clear(), mem.SUSPENDED.clear()
    cfg = ht.resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 4, "batch_size": 8,
                                      "checkpoint_minutes": 0})
    mem.make_account("jane", 150)
    folder = ht.make_bot(["mem:jane"], None, cfg, min_chars=0, tracker="none", n_predictions=2,
                         eval_posts=None).output
    before = tree_hashes(folder)
    mem.make_account("jane", 230)
    mem.FAIL_AFTER["jane"] = 30  # 150 posts are 22 pages of 7: the failure comes among the new ones
    code, out, err = run(capsys, "update", str(folder), "--tracker", "none", "--force")
    assert code == 1 and "connection was reset" in err and "run the same command again" in err, err
    assert "is gone" not in err and "Traceback" not in err
    assert tree_hashes(folder) == before
    with Store() as store:
        stored = [n for network, _, handle, n in store.accounts() if (network, handle) == ("mem", "jane")]
    assert stored and 150 < stored[0] < 230, stored  # the pages fetched before the failure are kept
    mem.FAIL_AFTER.clear()
    code, out, err = run(capsys, "update", str(folder), "--tracker", "none", "--force")
    assert code == 0, err
    assert json.loads((folder / "history.json").read_text())["current"] == 2

    mem.make_account("jane", 260)
    mem.SUSPENDED.add("jane")
    code, out, err = run(capsys, "update", str(folder), "--tracker", "none", "--force")
    assert code == 1 and "its source mem:jane is gone" in err and "suspended" in err, err
    mem.ACCOUNTS.clear(), mem.SUSPENDED.clear()


def test_an_untracked_bot_is_updated_untracked_unless_asked(bot, tmp_path, monkeypatch):
    """``--tracker auto`` (the default) follows the bot: one trained with ``--tracker none`` leaves no W&B
    run behind its update (nor a refused one)."""
    folder, _ = bot
    monkeypatch.delenv("HUGGINGTWEETS_TRACKER", raising=False)
    result = update_bot(folder, [f"archive:{archive(tmp_path / 'second.zip', 260)}"], force=True,
                        tracker="auto", n_predictions=2, eval_posts=None)
    assert result.changed
    assert not list((paths.home() / "wandb").glob("offline-run-*"))
    assert not (BotFolder(folder).tracking.data.get("runs") or {}).get("train")


def test_a_relative_archive_path_is_found_again_from_another_folder(tmp_path, monkeypatch, capsys):
    """Sources are recorded with absolute paths: `update` with the recorded source works from anywhere."""
    work = tmp_path / "work"
    work.mkdir()
    archive(work / "first.zip", 150)
    monkeypatch.chdir(work)
    cfg = ht.resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 4, "batch_size": 8,
                                      "checkpoint_minutes": 0})
    folder = ht.make_bot(["archive:first.zip"], tmp_path / "bot", cfg, min_chars=0, tracker="none",
                         n_predictions=2, eval_posts=None).output
    assert BotFolder(folder).stats.settings["sources"] == [f"archive:{work / 'first.zip'}"]
    monkeypatch.chdir(tmp_path)
    archive(work / "first.zip", 230)  # the same file, with newer posts
    code, out, err = run(capsys, "update", folder, "--tracker", "none", "--eval-posts", "0", "--force")
    assert code == 0 and "Updated:" in out, err
    code, out, _ = run(capsys, "info", folder)
    # The history says what each figure is over: a version's own validation posts include the new ones.
    assert code == 0 and "validation posts (previous " in out and " -> " in out


def test_update_all_json_is_one_document(tmp_path, capsys):
    code, out, err = run(capsys, "update", "--all", "--json")
    assert code == 0 and json.loads(out) == {"bots": [], "failed": 0}
