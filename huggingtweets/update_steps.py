"""The steps of an update between preparing its data and the swap (``update._update`` runs them): train
from the bot's weights with the existing training job, complete the new folder with the whole dataset
version's files, score the previous and the new weights, write the history, the sample posts and the
card."""

from __future__ import annotations

import copy
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from . import versions
from .bot_folder import (AVATAR_PATTERN, CONFIG_FILE, HUB_FILE, METRICS_FILE, STATS_FILE, TRACKING_FILE, BotFolder,
                         TrainingRecord, read_json)
from .dataset.folder import DatasetFolder
from .update_data import UpdateData


def _iso(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def train_run(bot: BotFolder) -> dict[str, Any] | None:
    """The bot's tracked train run (``id``, ``name``, ``project``, ``url``), if ``tracking.json`` has one."""
    runs = bot.tracking.data.get("runs")
    run = runs.get("train") if isinstance(runs, dict) else None
    if not isinstance(run, dict) or not run.get("id"):
        return None
    return {k: run.get(k) for k in ("id", "name", "project", "url") if run.get(k) is not None}


def train(bot: BotFolder, upd: DatasetFolder, cfg, out: Path, current: int, tracker: str | None,
          say: Callable[[dict[str, Any]], None]) -> Path:
    """Continue training from the bot's weights on the update's set (``pipeline.train_bot``: the same
    job as ``train``, tracked as a run ``continued_from`` the bot's last one); return the new folder."""
    from .pipeline import train_bot

    extra = {"continued_from": train_run(bot),
             "update": {"bot": bot.path.name, "parent_version": current, "version": current + 1}}
    result = train_bot(upd, out, cfg, tracker=tracker, card=False, eval_posts=None, on_progress=say,
                       run_config=extra)
    return result.output


def complete_folder(staged: Path, bot: BotFolder, new: DatasetFolder, rec: TrainingRecord, data: UpdateData,
                    version: int) -> None:
    """The new version's folder says what the bot now is: the whole dataset version's ``stats.json`` and
    copy index (training wrote the update set's), the original base model in ``training_config.json``
    with the dataset version and the update's own set, the avatars and ``hub.json`` of the bot, and in
    ``tracking.json`` the run it continues."""
    from .training.copies import CopyIndex
    from .training.export import write_json

    shutil.copyfile(new.path / STATS_FILE, staged / STATS_FILE)
    record = read_json(staged / CONFIG_FILE)
    record = record if isinstance(record, dict) else {}
    ran = record.get("config")
    if rec.config:
        # The bot's settings stay its recipe's: what ``info`` and the card show, and what the next update
        # starts from (halving the rate of the last update's config would halve it again at every update);
        # the update's own (rate halved, more blocks fixed, the bot's folder as base) are kept beside them.
        record["config"] = copy.deepcopy(rec.config)
    elif isinstance(ran, dict) and isinstance(ran.get("model"), dict):
        record["config"] = copy.deepcopy(ran)
        record["config"]["model"]["base_model"] = rec.setting("model", "base_model")
    record["base_model"] = rec.base_model
    train_rows, valid_rows = new.rows("train"), new.rows("valid")
    update_set = {k: v for k, v in (record.get("dataset") or {}).items() if k != "path"}  # (.update/ is removed)
    record["update"] = {"version": version, "parent_version": version - 1, "config": ran,
                        "parent_dataset_hash": rec.dataset.hash, "update_set": update_set,
                        "new_train_rows": len(data.new_train), "replay_posts": len(data.replay)}
    record["dataset"] = {"bot": new.stats.bot, "hash": new.hash, "path": str(new.path.resolve()),
                         "train_posts": len(train_rows), "valid_posts": len(valid_rows)}
    write_json(staged / CONFIG_FILE, record)
    CopyIndex.build([r["text"] for r in train_rows + valid_rows]).save(staged)
    for p in list(bot.path.glob(AVATAR_PATTERN)) + [bot.path / HUB_FILE]:
        if p.is_file() and not (staged / p.name).exists():
            shutil.copy2(p, staged / p.name)
    info = read_json(staged / TRACKING_FILE)
    info = info if isinstance(info, dict) else {}
    previous = train_run(bot)
    if previous:
        info["continued_from"] = previous
    versions.write_json_atomic(staged / TRACKING_FILE, info)


def _overall(loaded, rows: list[dict[str, Any]], handles: list[str]):
    """The ``evaluation.Score`` of ``rows`` (None without rows)."""
    from .evaluation import _score

    return _score(loaded, rows, handles, None)[0] if rows else None


def _bits(loaded, rows: list[dict[str, Any]], handles: list[str]) -> float | None:
    score = _overall(loaded, rows, handles)
    return score.bits_per_char if score else None


def recorded_eval(folder: Path, rows: list[dict[str, Any]]):
    """The ``evaluation.Score`` of ``folder``'s weights on ``rows`` as its ``metrics.json`` already holds
    it, or None.

    Training scores its validation posts at its end (``training/evaluate.py``, the function ``evaluate``
    and ``measure`` use), and an update's ``measure`` writes the score of the whole validation side, so
    the figure need not be computed again: it is reused when it was scored in fp32 (``eval_precision``, or
    a training run in fp32), on the weights kept (no earlier best step), and over exactly these posts'
    characters (a guard against other posts or cleaning settings). Used for the previous version's figure
    on its validation posts, and for the new weights' figure on the new validation posts (the update's
    training set holds out exactly those)."""
    from .evaluation import Score

    metrics, record = read_json(folder / METRICS_FILE), read_json(folder / CONFIG_FILE)
    if not isinstance(metrics, dict) or not isinstance(record, dict) or not rows:
        return None
    # The settings the weights were trained with: an update's own (``record["update"]["config"]``), where
    # ``config`` stays the bot's recipe (``complete_folder``), else the training's.
    ran = (record.get("update") or {}).get("config") if isinstance(record.get("update"), dict) else None
    ran = ran if isinstance(ran, dict) else record.get("config")
    run = (ran.get("run") or {}) if isinstance(ran, dict) else {}
    # An update's own figure (``measure``: the saved weights, fp32), or a training run's in fp32 whose
    # last evaluation is of the weights it saved.
    ours = metrics.get("eval_precision") == "fp32"
    trained = run.get("precision") == "fp32" and metrics.get("best_step") in (None, metrics.get("steps"))
    chars = sum(len(str(r.get("text") or "")) + 1 for r in rows)
    bpc, loss, tokens = metrics.get("eval_bits_per_char"), metrics.get("eval_loss"), metrics.get("eval_tokens")
    if (ours or trained) and metrics.get("eval_chars") == chars and isinstance(bpc, float) \
            and isinstance(loss, float) and isinstance(tokens, int) and tokens > 0:
        return Score(len(rows), loss, bpc, tokens, chars)
    return None


def recorded_score(folder: Path, rows: list[dict[str, Any]]) -> float | None:
    """The bits/char of ``recorded_eval``, or None."""
    score = recorded_eval(folder, rows)
    return score.bits_per_char if score else None


def measure(old_folder: Path, staged: Path, data: UpdateData) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Bits/char of the previous weights and of the new ones on the previous version's validation posts
    and on the new ones, scored as ``huggingtweets evaluate`` scores them (each post on its own), in
    fp32 so that the two compare exactly. The new weights' score of the whole validation side (both sets:
    nats and characters add up, ``Score.combine``) becomes the new version's ``eval_*`` in
    ``metrics.json``, as training writes it for a bot trained from scratch. Returns the new weights,
    loaded, and the scores."""
    from .evaluation import Score
    from .generate import Bot

    handles = [u.handle for u in BotFolder(staged).stats.users]
    scores: dict[str, dict[str, Any]] = {k: {"posts": len(rows)} for k, rows in
                                          (("old_valid", data.old_valid), ("new_valid", data.new_valid))}
    recorded = recorded_score(old_folder, data.old_valid)
    previous = Bot.load(old_folder, dtype="fp32")
    scores["old_valid"]["before"] = recorded if recorded is not None else _bits(previous, data.old_valid, handles)
    scores["new_valid"]["before"] = _bits(previous, data.new_valid, handles)
    del previous
    # The update's training held out exactly the new validation posts: its last evaluation (fp32, the
    # weights saved) is the new weights' figure on them, read before this writes the whole side's.
    new = recorded_eval(staged, data.new_valid)
    loaded = Bot.load(staged, dtype="fp32")
    old = _overall(loaded, data.old_valid, handles)
    new = new if new is not None else _overall(loaded, data.new_valid, handles)
    scores["old_valid"]["after"] = old.bits_per_char if old else None
    scores["new_valid"]["after"] = new.bits_per_char if new else None
    whole = Score.combine([s for s in (old, new) if s is not None])
    if whole is not None:
        scores["all_valid"] = {"posts": whole.posts, "after": whole.bits_per_char}
    metrics = read_json(staged / METRICS_FILE)
    if whole is not None and isinstance(metrics, dict):
        metrics.update(eval_loss=whole.loss, eval_bits_per_char=whole.bits_per_char, eval_tokens=whole.tokens,
                       eval_chars=whole.chars, eval_precision="fp32")
        versions.write_json_atomic(staged / METRICS_FILE, metrics)
    return loaded, scores


def _counts(stats) -> list[dict[str, Any]]:
    return [{"handle": u.handle, "network": u.network, "kept": u.kept, "train": u.train_posts,
             "valid": u.valid_posts} for u in stats.users]


def first_entry(bot: BotFolder) -> dict[str, Any]:
    """Version 1 of a bot never updated: as trained."""
    stats, rec, metrics = bot.stats, bot.training, bot.metrics
    try:
        date = _iso(os.stat(bot.path / CONFIG_FILE).st_mtime)
    except OSError:
        date = stats.created_at or None
    run = train_run(bot)
    return {"version": 1, "parent": None, "date": date,
            "dataset": {"hash": stats.hash, "path": rec.dataset.path if rec else None},
            "accounts": _counts(stats), "sources": [str(s) for s in stats.settings.get("sources") or []],
            "metrics": {"eval_bits_per_char": metrics.eval_bits_per_char if metrics else None},
            "tracking": {"run": run.get("id") if run else None}}


def write_history(staged: Path, bot: BotFolder, new: DatasetFolder, data: UpdateData, result: Any,
                  specs: list[str], current: int) -> None:
    """``history.json`` of the new version: the bot's history (its version 1 as trained, for a bot never
    updated) and this version."""
    entries = list(versions.read_history(bot.path).versions) or [first_entry(bot)]
    metrics = read_json(staged / METRICS_FILE)
    tracked = read_json(staged / TRACKING_FILE)
    runs = tracked.get("runs") if isinstance(tracked, dict) else None
    run = runs.get("train") if isinstance(runs, dict) and isinstance(runs.get("train"), dict) else {}
    previous = train_run(bot)
    entries.append({
        "version": current + 1, "parent": current, "date": _iso(),
        "dataset": {"hash": new.hash, "path": str(new.path.resolve())}, "accounts": _counts(new.stats),
        "sources": specs, "new_posts": {"train": result.new_train, "valid": result.new_valid},
        "replay_posts": result.replay,
        "metrics": {"eval_bits_per_char": metrics.get("eval_bits_per_char") if isinstance(metrics, dict) else None,
                    **result.scores},
        "tolerance": result.tolerance, "forced": result.forced,
        "tracking": {"run": run.get("id"), "continued_from": previous.get("id") if previous else None},
    })
    versions.write_json_atomic(staged / versions.HISTORY_FILE, versions.History(entries).to_dict())


def finish_card(staged: Path, loaded, new: DatasetFolder, bot: BotFolder, eval_posts: int | None, n: int,
                say: Callable[[dict[str, Any]], None]) -> None:
    """Sample posts for the card (the bot's prompt), the evaluation when asked, then the card and the
    preview: what ``pipeline.train_bot`` does after training."""
    from .card import finalize_bot
    from .pipeline import _card_posts

    prompt = bot.predictions.prompt
    posts = _card_posts(loaded, prompt, n, None) if n else []
    if eval_posts is not None:
        from .evaluation import evaluate, save_evaluation

        say({"stage": "evaluating"})
        save_evaluation(staged, evaluate(loaded, new.path, eval_posts))
    say({"stage": "card"})
    finalize_bot(staged, [p for p in posts if not p.get("copy")][:n], prompt)
