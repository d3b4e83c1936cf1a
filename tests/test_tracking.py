"""Tracking with W&B in offline mode: the runs' files hold the artifacts and the config, never a secret."""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import pytest

from test_card import PREDICTIONS, make_bot_folder

from huggingtweets import paths, tracking
from huggingtweets.card import card_data_from_folder, finalize_bot
from huggingtweets.sources.base import Post

SECRET = "hf_PlantedSecretValue1234567890abcdef"
OTHER_SECRET = "sk-another-planted-secret-42"


def wandb_records(path: Path):
    """The protobuf records of a ``run-*.wandb`` file (a LevelDB-style log: 32 KiB blocks, 7-byte headers)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # the block's tail is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        payload = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 1:  # a whole record
            chunks = [payload]
        elif kind == 2:  # first, middle and last fragments
            pending, chunks = payload, []
        elif kind == 3:
            pending, chunks = pending + payload, []
        elif kind == 4:
            chunks, pending = [pending + payload], b""
        else:
            chunks = []
        for raw in chunks:
            record = pb.Record()
            record.ParseFromString(raw)
            yield record


def run_contents(run_dir: Path) -> tuple[dict, dict[str, list[str]]]:
    """(config, artifact name -> file names) recorded in an offline run folder."""
    config: dict = {}
    artifacts: dict[str, list[str]] = {}
    (wandb_file,) = run_dir.glob("run-*.wandb")
    for r in wandb_records(wandb_file):
        kind = r.WhichOneof("record_type")
        items = r.run.config.update if kind == "run" else r.config.update if kind == "config" else []
        for item in items:
            config[item.key] = json.loads(item.value_json)
        if kind == "artifact":
            artifacts[r.artifact.name] = [e.path for e in r.artifact.manifest.contents]
    return config, artifacts


def make_dataset(root: Path) -> Path:
    folder = root / "dataset"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "a post", "handle": "waitforgot", "id": "1"}\n')
    (folder / "valid.jsonl").write_text('{"text": "another", "handle": "waitforgot", "id": "2"}\n')
    (folder / "stats.json").write_text(json.dumps({"bot": "waitforgot", "hash": "sha256:00", "users": [
        {"handle": "waitforgot", "kept": 2}], "settings": {"sources": [f"x:waitforgot?token={SECRET}"]}}))
    return folder


# Two offline W&B runs (the first starts the wandb service): about 2 s on 2 cores.
def test_offline_runs_hold_artifacts_and_config_and_no_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("MY_SERVICE_API_KEY", OTHER_SECRET)
    monkeypatch.delenv("WANDB_DIR", raising=False)
    dataset = make_dataset(tmp_path)
    posts = [Post("1", f"my token is {SECRET}", raw={"auth": SECRET}),
             Post("2", "RT @someone: a retweet", kind="retweet")]
    with tracking.start_preprocess_run(dataset, posts) as pre:
        assert pre.mode == "offline" and pre.run_urls() == {"preprocess": None, "train": None}

    model = make_bot_folder(tmp_path, 1)
    config = {"recipe": "quick", "optim": {"learning_rate": 2e-4}, "hub_token": SECRET,
              "note": f"pushed with {OTHER_SECRET}", "eos_token": "<|endoftext|>"}
    run = tracking.start_train_run(config, output=model, dataset=dataset,
                                   base_model="HuggingFaceTB/SmolLM2-135M-Instruct")
    run.log_metrics({"step": 10, "loss": 3.5, "lr": 1e-4, "log_history": [1, 2]})
    run.log_metrics({"step": 20, "eval": {"loss": 3.1, "bits_per_char": 1.2}})
    run.log_summary({"eval_loss": 3.1})
    run.log_model(model)
    finalize_bot(model, PREDICTIONS, tracker=run)
    run.finish()

    root = paths.home() / "wandb"
    runs = sorted(root.glob("offline-run-*"))
    assert len(runs) == 2
    by_kind = {}
    # W&B's service process may still be writing the last records when finish() returns on a busy
    # machine (seen once in a full run): read again until the train run's artifacts are there.
    deadline = time.monotonic() + 60
    while True:
        for d in runs:
            config_seen, artifacts = run_contents(d)
            by_kind[config_seen.get("step", "train")] = (config_seen, artifacts)
        if "finetuned-model" in by_kind.get("train", ({}, {}))[1] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    pre_config, pre_artifacts = by_kind["preprocess"]
    assert pre_artifacts == {"raw-dataset": ["raw_posts.jsonl"],
                             "train-dataset": ["stats.json", "train.jsonl", "valid.jsonl"]}
    assert pre_config["dataset"]["bot"] == "waitforgot"
    train_config, train_artifacts = by_kind["train"]
    # W&B logs a table as an artifact of its own, named after the run.
    assert {a for a in train_artifacts if not a.startswith("run-")} == {"pretrained-model", "finetuned-model"}
    assert any(a.endswith("-predictions") for a in train_artifacts)
    assert "model.safetensors" in train_artifacts["finetuned-model"]
    assert "checkpoints" not in str(train_artifacts)
    assert train_config["optim"] == {"learning_rate": 2e-4}
    assert train_config["hub_token"] == "<redacted>" and train_config["eos_token"] == "<|endoftext|>"
    assert train_config["note"] == "pushed with <redacted>"
    tables = list(root.glob("offline-run-*/files/media/table/predictions_*.table.json"))
    assert len(tables) == 1
    table = json.loads(tables[0].read_text())
    assert table["columns"] == ["Input", "Prediction"] and table["data"][0] == ["My dream is", PREDICTIONS[0]]

    # No secret anywhere W&B wrote (runs, staged artifact copies, cache) nor in what the card step wrote;
    # the dataset's own stats.json holds one (a source URL with a token), which W&B got redacted.
    wandb_dirs = [root, Path.home() / ".local" / "share" / "wandb", Path.home() / ".cache" / "wandb"]
    files = [p for base in wandb_dirs if base.exists() for p in base.rglob("*") if p.is_file()]
    assert len(files) > 10
    files += [dataset / "tracking.json", model / "tracking.json", model / "README.md", model / "predictions.json"]
    for p in files:
        data = p.read_bytes()
        assert SECRET.encode() not in data and OTHER_SECRET.encode() not in data, p

    info = json.loads((model / "tracking.json").read_text())
    assert info["mode"] == "offline" and set(info["runs"]) == {"preprocess", "train"}
    assert all(r["url"] is None and Path(r["dir"]).is_dir() for r in info["runs"].values())
    assert tracking.sync_command(info).startswith("wandb sync ")
    data = card_data_from_folder(model)
    assert data.tracking_mode == "offline" and data.train_run_url is None


def test_tracker_none_writes_nothing(tmp_path):
    dataset = make_dataset(tmp_path)
    with tracking.start_preprocess_run(dataset, [], tracker="none") as pre:
        assert isinstance(pre, tracking.NoTracker)
    run = tracking.start_train_run({"a": 1}, output=tmp_path / "model", dataset=dataset, tracker="none")
    run.log_metrics({"loss": 1.0}, step=1)
    run.log_model(tmp_path)
    run.log_predictions("My dream is", ["x"])
    run.finish()
    assert run.run_urls() == {"preprocess": None, "train": None}
    assert not (paths.home() / "wandb").exists() and not (dataset / "tracking.json").exists()


def test_tracker_names(monkeypatch):
    assert tracking.resolve_tracker("none") == "none"
    assert tracking.resolve_tracker("wandb") == "wandb"
    assert tracking.resolve_tracker(None) == "wandb"  # auto, with wandb installed
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert tracking.resolve_tracker("auto") == "none"
    from huggingtweets.errors import UsageError

    with pytest.raises(UsageError, match="unknown tracker 'tensorboard': use one of auto, wandb, none"):
        tracking.resolve_tracker("tensorboard")


def test_offline_unless_logged_in(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("NETRC", raising=False)
    assert not tracking.wandb_logged_in() and tracking.wandb_mode() == "offline"
    netrc = Path.home() / ".netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "x" * 40 + "\n")
    netrc.chmod(0o600)
    assert tracking.wandb_logged_in() and tracking.wandb_mode() == "online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert tracking.wandb_mode() == "offline"
    netrc.unlink()
    settings = Path.home() / ".config" / "wandb" / "settings"
    settings.parent.mkdir(parents=True)
    settings.write_text("[default]\napi_key = " + "z" * 40 + "\n")
    assert tracking.wandb_logged_in()
    settings.unlink()
    assert not tracking.wandb_logged_in()
    monkeypatch.setenv("WANDB_API_KEY", "y" * 40)
    monkeypatch.delenv("WANDB_MODE")
    assert tracking.wandb_mode() == "online"


def test_scrub_by_key_and_by_value(monkeypatch):
    monkeypatch.setenv("X_BEARER_TOKEN", "bearer-planted-0001")
    for key in ("token", "hub_token", "api_key", "WANDB_API_KEY", "password", "clientSecret", "x_bearer_token",
                "authorization"):
        assert tracking.is_secret_key(key), key
    for key in ("eos_token", "pad_token_id", "max_new_tokens", "tokenizer", "sort_key", "keep_newlines",
                "learning_rate"):
        assert not tracking.is_secret_key(key), key
    cleaned = tracking.scrub({"a": {"hub_token": "x", "eos_token": "</s>"},
                              "urls": ["https://user:pw@host/p?access_token=abc&x=1", "see bearer-planted-0001"],
                              "hf": "hf_" + "a" * 34, "empty_token": None})
    assert cleaned == {"a": {"hub_token": "<redacted>", "eos_token": "</s>"},
                       "urls": ["https://user:<redacted>@host/p?access_token=<redacted>&x=1", "see <redacted>"],
                       "hf": "<redacted>", "empty_token": None}


def test_the_train_run_config_is_training_config_json_with_auto_values_resolved(tmp_path):
    """W&B hears the settings before training and ends with exactly what training_config.json holds:
    ``precision: auto`` and ``block_size: 0`` appear there as what was used, never as asked."""
    from huggingtweets.pipeline import train_bot
    from huggingtweets.training import resolve_config
    from tiny_model import make_dataset as tiny_dataset, tiny_model

    cfg = resolve_config("quick", {"base_model": str(tiny_model()), "max_steps": 2, "batch_size": 2})
    assert cfg.run.precision == "auto" and cfg.data.block_size == 0
    bot = train_bot(tiny_dataset(tmp_path / "ds"), tmp_path / "bot", cfg, card=False, eval_posts=None)
    saved = json.loads((bot.output / "training_config.json").read_text())
    assert saved["config"]["run"]["precision"] != "auto" and saved["config"]["data"]["block_size"] > 0
    (run_dir,) = (paths.home() / "wandb").glob("offline-run-*")
    deadline = time.monotonic() + 60
    while True:  # W&B's service may still be writing the last records when the run's finish() returns
        config, _ = run_contents(run_dir)
        config = {k: v for k, v in config.items() if not k.startswith("_")}  # W&B's own keys (_wandb)
        if config == saved or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert config == saved
