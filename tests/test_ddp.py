"""Training runs unchanged under torchrun: two CPU processes (gloo) on a tiny model."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from huggingtweets.training import resolve_config, train
from tiny_model import make_dataset, tiny_model


@pytest.mark.slow
def test_two_processes_train_one_model(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    out = tmp_path / "bot"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "huggingtweets", "train", str(ds), "--base-model", str(tiny_model()), "-o", str(out),
           "--batch-size", "2", "--epochs", "1", "--lr", "0.01", "-q"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.getcwd()}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("Trained: ") == 1, "only the first process reports"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["eval_loss"] is not None
    # Each step takes 2 blocks on each of 2 processes: half the steps of one process with batch 2.
    alone = train(ds, tmp_path / "alone", resolve_config("default", {
        "base_model": str(tiny_model()), "batch_size": 2, "epochs": 1, "learning_rate": 0.01}))
    assert metrics["steps"] == -(-alone.metrics["steps"] // 2)
    assert metrics["train_tokens"] >= alone.metrics["train_tokens"]
    assert (out / "model.safetensors").is_file() and not (out / "checkpoints").exists()
