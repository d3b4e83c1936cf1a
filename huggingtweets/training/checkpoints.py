"""Checkpoints of a training run: written atomically, one kept, read back for ``--resume``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..bot_folder import CHECKPOINTS
from .strategy import trainable


def checkpoint_dirs(output: Path) -> list[Path]:
    root = output / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted((p for p in root.glob("step-*") if (p / "state.pt").is_file()), key=lambda p: p.name)


def save_checkpoint(output: Path, step: int, model, optimizer, scaler, extra: dict[str, Any],
                    best_state: dict | None) -> Path:
    """Write ``checkpoints/step-N`` atomically (temporary folder, then rename) and drop older ones."""
    import torch

    root = output / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:08d}"
    tmp = root / f".tmp-step-{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    state = {
        "step": step,
        "weights": {n: p.detach().cpu() for n, p in trainable(model).items()},
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
        **extra,
    }
    torch.save(state, tmp / "state.pt")
    if best_state is not None:
        torch.save(best_state, tmp / "best.pt")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for old in checkpoint_dirs(output):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path) -> tuple[dict[str, Any], dict | None]:
    import torch

    state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    best = torch.load(path / "best.pt", map_location="cpu") if (path / "best.pt").is_file() else None
    return state, best
