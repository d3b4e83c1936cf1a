"""The typed folder contracts (dataset/folder.py, bot_folder.BotFolder) and the one orchestrator
(pipeline.make_bot) that the CLI, the Python API and the web app share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import huggingtweets as ht
from huggingtweets import sources
from huggingtweets.bot_folder import BotFolder, BotMetrics, Predictions, TrainingRecord
from huggingtweets.dataset.folder import AccountStats, DatasetFolder, DatasetStats
from huggingtweets.errors import DatasetError, ModelFolderError, UsageError
from memory_source import ACCOUNTS, make_account
from tiny_model import make_dataset, tiny_model


@pytest.fixture(autouse=True)
def mem_scheme(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    ACCOUNTS.clear()


# -- the dataset folder ------------------------------------------------------------------------------


def test_stats_json_keeps_its_layout_and_reads_back_typed(tmp_path):
    make_account("jane", 300)
    ds = ht.prepare(["mem:jane"], tmp_path / "ds")
    on_disk = json.loads((tmp_path / "ds" / "stats.json").read_text())
    # The file is the flat JSON it always was; the typed view writes back exactly what it read.
    assert on_disk["users"][0]["kept"] == ds.stats.users[0].kept > 0
    assert DatasetStats.from_dict(on_disk).to_dict() == on_disk == ds.stats.to_dict()
    opened = DatasetFolder.open(tmp_path / "ds")
    assert opened.stats == ds.stats and opened.hash == ds.hash and opened.name == "jane"
    assert len(opened.rows("train")) == opened.stats.users[0].train_rows
    assert len(opened.rows("valid")) == opened.stats.users[0].valid_posts


def test_an_older_stats_json_without_the_newer_keys_opens(tmp_path):
    folder = make_dataset(tmp_path / "ds")
    (folder / "stats.json").write_text(json.dumps({"users": [{"handle": "old", "downloaded": 5, "kept": 4}]}))
    stats = DatasetFolder.open(folder).stats
    assert stats.bot == "old" and stats.hash == "" and stats.users[0].name == "old"
    assert (stats.users[0].kept, stats.users[0].retweets, stats.users[0].notes) == (4, 0, [])


@pytest.mark.parametrize("content", ["{not json", "[]", '{"users": []}', '{"users": [{"name": "x"}]}',
                                     '{"users": [{"handle": "x", "kept": "many"}]}', '{"users": "jane"}'])
def test_a_malformed_stats_json_is_one_clear_error(tmp_path, content):
    folder = make_dataset(tmp_path / "ds")
    (folder / "stats.json").write_text(content)
    with pytest.raises(DatasetError, match=r"stats.json is malformed; recreate the folder with `huggingtweets "
                                           r"prepare`$"):
        DatasetFolder.open(folder)


def test_missing_files_are_named(tmp_path):
    folder = make_dataset(tmp_path / "ds")
    (folder / "valid.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"not a dataset folder \(missing valid.jsonl\)"):
        DatasetFolder.open(folder)
    with pytest.raises(DatasetError, match="no such dataset folder"):
        DatasetFolder.open(tmp_path / "nowhere")


def test_an_unknown_count_is_none_and_a_known_one_is_not():
    acc = AccountStats("fay", downloaded=3, kept=3, replies=0, retweets=2, unknown=["replies", "retweets"])
    assert acc.count("replies") is None  # the source could not tell: "unknown", never a guessed 0
    assert acc.count("retweets") == 2  # found some after all: a count
    assert acc.count("kept") == 3 and acc.initial == "F"


# -- the bot folder -----------------------------------------------------------------------------------


def _bot(tmp_path: Path) -> Path:
    folder = tmp_path / "bot"
    folder.mkdir()
    (folder / "stats.json").write_text((make_dataset(tmp_path / "ds") / "stats.json").read_text())
    return folder


def test_bot_folder_reads_each_file_typed_and_tolerates_broken_optional_ones(tmp_path):
    folder = _bot(tmp_path)
    bot = BotFolder(folder)
    assert bot.training is None and bot.metrics is None and bot.tracking.mode is None
    assert bot.predictions == Predictions() and bot.hub_repo == (None, None) and not bot.has_preview

    (folder / "training_config.json").write_text(json.dumps({
        "config": {"optim": {"learning_rate": 3e-4}}, "block_size": 128, "base_model": {"name": "x"},
        "dataset": {"bot": "tiny_poster", "hash": "sha256:1", "path": "/d", "train_posts": "many"}}))
    (folder / "metrics.json").write_text(json.dumps({"eval_loss": 1.5, "steps": True, "wall_seconds": 9,
                                                     "evaluation": {"n": 3}}))
    (folder / "predictions.json").write_text(json.dumps({"prompt": "Hi", "predictions": [{"text": "a"}, "b"],
                                                         "picked": [2]}))
    (folder / "hub.json").write_text(json.dumps({"repo_id": "jane/bot", "endpoint": "http://127.0.0.1:1"}))
    rec = bot.training
    assert isinstance(rec, TrainingRecord) and rec.setting("optim", "learning_rate") == 3e-4
    assert rec.block_size == 128 and rec.dataset.hash == "sha256:1" and rec.dataset.train_posts is None
    m = bot.metrics
    assert isinstance(m, BotMetrics) and (m.eval_loss, m.steps, m.wall_seconds) == (1.5, None, 9)
    assert m.evaluation == {"n": 3}
    assert bot.predictions.shown == ["b"] and bot.predictions.prompt == "Hi"
    assert bot.hub_repo == ("jane/bot", "http://127.0.0.1:1")

    (folder / "training_config.json").write_text("[1, 2")
    (folder / "metrics.json").write_text("[1, 2]")
    assert bot.training is None and bot.metrics is None


def test_a_bot_without_stats_is_not_a_bot(tmp_path):
    folder = _bot(tmp_path)
    (folder / "stats.json").write_text("{}")
    with pytest.raises(ModelFolderError, match="no readable stats.json"):
        BotFolder(folder).stats
    with pytest.raises(ModelFolderError, match="not a trained bot"):
        BotFolder.open(folder)


# -- one orchestrator ---------------------------------------------------------------------------------


def test_make_bot_runs_the_whole_job_from_a_source_and_reports_its_stages(tmp_path):
    make_account("jane", 300)
    records: list[dict] = []
    cfg = ht.resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 2, "batch_size": 2,
                                      "checkpoint_minutes": 0})
    bot = ht.make_bot(["mem:jane"], tmp_path / "bot", cfg, min_chars=0, tracker="none", n_predictions=2,
                      eval_posts=None, on_progress=records.append)
    stages = [r["stage"] for r in records if "stage" in r]
    assert stages == ["preparing", "prepared", "training", "card"]
    steps = [r for r in records if "loss" in r]
    assert [r["step"] for r in steps] == [1, 2] and all(r["total_steps"] == 2 for r in steps)
    assert bot.dataset.stats.users[0].handle == "jane" and bot.output == tmp_path / "bot"
    assert BotFolder(bot.output).stats == bot.dataset.stats  # the bot carries its dataset's stats
    assert (bot.output / "README.md").is_file() and (bot.output / "predictions.png").is_file()
    # From the dataset folder it made, the same job skips the data stages.
    records.clear()
    again = ht.make_bot(bot.dataset.path, tmp_path / "bot2", cfg, tracker="none", card=False, eval_posts=None,
                        on_progress=records.append)
    assert [r["stage"] for r in records if "stage" in r] == ["training"]
    assert again.dataset.hash == bot.dataset.hash


def test_make_bot_refuses_a_dataset_folder_mixed_with_sources(tmp_path):
    folder = make_dataset(tmp_path / "ds")
    with pytest.raises(UsageError, match="is a dataset folder: pass one dataset folder alone"):
        ht.make_bot([str(folder), "mem:jane"])
