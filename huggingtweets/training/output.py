"""The model folder a training run writes: its default name, and what may already be there.

A run never replaces a bot silently. Without ``output`` it writes ``$HUGGINGTWEETS_HOME/bots/<bot name>``
when that is free, else the first free ``<bot name>-2``, ``-3``, ...; a folder that already holds a bot
is replaced only with ``overwrite``, or continued with ``resume``; a folder that holds anything else is
never written to.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import paths
from ..bot_folder import CHECKPOINTS, CONFIG_FILE, BotFolder
from ..dataset.folder import DatasetStats
from ..errors import CheckpointError, FolderExistsError, UsageError
from .checkpoints import checkpoint_dirs
from .hardware import Dist


def default_output(stats: DatasetStats) -> Path:
    return paths.bots_dir() / stats.bot


def choose_output(stats: DatasetStats, output: str | Path | None = None, *, overwrite: bool = False,
                  resume: bool = False) -> tuple[Path, Path | None]:
    """(the folder to write, the default folder kept when another name was chosen, else ``None``).

    ``output`` given: that folder, as it is (``check_output`` decides). Else the default folder with
    ``overwrite`` or ``resume``, or the first free name beside it.
    """
    if output:
        return Path(output), None
    default = default_output(stats)
    if overwrite or resume:
        return default, None
    free = paths.free_name(default)
    return free, (default if free != default else None)


def check_output(out: Path, *, resume: bool, overwrite: bool) -> list[Path]:
    """The output folder is new, empty or a model folder; its state agrees with ``resume`` and
    ``overwrite``. Returns the checkpoints to resume from (``[]`` when not resuming). Changes nothing.

    Raises:
        UsageError: both ``resume`` and ``overwrite``; a folder that holds something else than a bot; a
            bot whose preview was chosen by hand, to resume.
        FolderExistsError: a trained bot is there and neither ``resume`` nor ``overwrite`` is on.
        CheckpointError: ``resume`` without a checkpoint; a checkpoint without ``resume`` or ``overwrite``.
    """
    if resume and overwrite:
        raise UsageError("--resume continues a run and --overwrite starts it over: pass only one of them")
    used = out.is_dir() and any(out.iterdir())
    if used and not (out / CONFIG_FILE).is_file() and not (out / CHECKPOINTS).is_dir():
        # Saving replaces weight files; never in a folder that holds something else.
        raise UsageError(f"{out} exists and is not a model folder written by huggingtweets; pass a new "
                         f"or empty folder with -o")
    checkpoints = checkpoint_dirs(out)
    if resume:
        if not checkpoints:
            raise CheckpointError(f"--resume: no checkpoint in {out / CHECKPOINTS}; run without --resume to "
                                  f"start training")
        if BotFolder(out).predictions.picked:
            raise UsageError(f"{out}: its preview was chosen by hand (`huggingtweets preview --pick`), and "
                             f"resuming would draw a new one; pass another folder with -o, or --overwrite "
                             f"instead of --resume to start over")
        return checkpoints
    if used and not overwrite:
        if checkpoints:
            raise CheckpointError(f"{out} has a checkpoint of an unfinished run ({checkpoints[-1].name}): add "
                                  f"--resume to continue it, or --overwrite to start over")
        raise FolderExistsError(str(out), "trained bot")
    return []


def prepare_output(out: Path, *, resume: bool, overwrite: bool, d: Dist) -> list[Path]:
    """``check_output``, then with ``overwrite`` the old bot deleted, by the first process once every
    process has looked at the folder. Returns the checkpoints to resume from."""
    checkpoints = check_output(out, resume=resume, overwrite=overwrite)
    if overwrite and out.is_dir() and any(out.iterdir()):
        d.barrier()
        if d.main:
            shutil.rmtree(out)
    return checkpoints
