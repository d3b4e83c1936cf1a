"""The data of an update: which posts of the new dataset version are new, and the update's training set
(the new training posts plus a replay sample of older ones, all validation posts).

Replay: an update trains on every new training post and on ``REPLAY_RATIO`` older training posts per new
one, at least ``REPLAY_MIN`` (or all of them when there are fewer), drawn with the dataset's seed. Training
on the new posts alone moves the model towards the latest weeks' topics and forgets the older voice
(catastrophic forgetting); mixing old and new one to one is the usual rehearsal setting in continual
learning, and the floor keeps a small update (a dozen new posts) from being a few steps over a handful of
posts. The training loop's validation set is the new validation posts only: the whole new version's
validation side (every old validation post, on the same side as before since the split is keyed on the
post, and the new ones) is scored once, after training, by ``update_steps.measure``, which also writes
it into the new version's ``metrics.json``; scoring it in the loop as well would be the same work twice.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from .dataset.folder import STATS_FILE, TRAIN_FILE, VALID_FILE, DatasetFolder, DatasetStats

REPLAY_RATIO = 1.0
"""Older training posts replayed per new training post (bench/README.md, "update": 0.5 forgot more, +2.7%
bits/char on the previous validation posts at the recipe's learning rate, against +1.0% for 1.0)."""
REPLAY_MIN = 100
"""Older training posts replayed at the least (all of them when there are fewer)."""

Key = tuple[str, str]
"""(account, post id): the account is the store's key when known, else the handle in lower case."""


@dataclass
class UpdateData:
    """What is new in a dataset version against the previous one."""

    new_train: list[dict[str, Any]] = field(default_factory=list)
    """Rows of new training posts (with the balancing repeats of a cyborg)."""
    new_valid: list[dict[str, Any]] = field(default_factory=list)
    old_valid: list[dict[str, Any]] = field(default_factory=list)
    """The previous version's validation posts, as the new version holds them."""
    old_train: list[dict[str, Any]] = field(default_factory=list)
    """The previous version's training posts still in the new version (each once)."""
    replay: list[dict[str, Any]] = field(default_factory=list)
    moved: list[Key] = field(default_factory=list)
    """Posts whose side changed between the versions (the split is stable, so none unless the split
    settings changed)."""

    @property
    def new_posts(self) -> int:
        return len({_row_key(r, {}) for r in self.new_train}) + len(self.new_valid)


def _account_of(stats: DatasetStats) -> dict[str, str]:
    """handle -> the account's stable key (``network:account``, or the handle where it is unknown)."""
    return {u.handle: (f"{u.network}:{u.account}" if u.account else f"{u.network}:@{u.handle.lower()}")
            for u in stats.users}


def _row_key(row: dict[str, Any], accounts: dict[str, str]) -> Key:
    handle = str(row.get("handle") or "")
    return accounts.get(handle, handle.lower()), str(row.get("id"))


def _keys(ds: DatasetFolder, split: str) -> set[Key]:
    accounts = _account_of(ds.stats)
    return {_row_key(r, accounts) for r in ds.rows(split)}


def diff(old: DatasetFolder, new: DatasetFolder, seed: int) -> UpdateData:
    """Sort the new version's rows into new and old posts, and draw the replay sample."""
    old_train, old_valid = _keys(old, "train"), _keys(old, "valid")
    accounts = _account_of(new.stats)
    data = UpdateData()
    for row in new.rows("train"):
        key = _row_key(row, accounts)
        if key in old_valid:
            data.moved.append(key)
        if key not in old_train and key not in old_valid:
            data.new_train.append(row)
        elif not row.get("copy"):
            data.old_train.append(row)
    for row in new.rows("valid"):
        key = _row_key(row, accounts)
        if key in old_train:
            data.moved.append(key)
        (data.old_valid if key in old_valid or key in old_train else data.new_valid).append(row)
    n_new = len({_row_key(r, accounts) for r in data.new_train})
    want = min(len(data.old_train), max(REPLAY_MIN, round(REPLAY_RATIO * n_new)))
    data.replay = random.Random(f"update:{seed}").sample(data.old_train, want) if want else []
    return data


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in rows)


def write_update_set(full: DatasetFolder, data: UpdateData, out: Path, seed: int) -> DatasetFolder:
    """The update's training set as a dataset folder: the new training rows and the replay sample,
    shuffled together; the new validation rows (see the module). Its ``stats.json`` is the new version's
    with this folder's hash and row counts."""
    out.mkdir(parents=True, exist_ok=True)
    train = data.new_train + data.replay
    random.Random(f"update-order:{seed}").shuffle(train)
    valid = data.new_valid
    digest = hashlib.sha256()
    for name, rows in ((TRAIN_FILE, train), (VALID_FILE, valid)):
        blob = _jsonl(rows)
        (out / name).write_bytes(blob)
        digest.update(name.encode() + b"\0" + blob)
    users = []
    for u in full.stats.users:
        mine = [r for r in train if r.get("handle") == u.handle]
        users.append(replace(u, train_rows=len(mine), train_posts=len({str(r.get("id")) for r in mine})))
    stats = replace(full.stats, users=users, hash="sha256:" + digest.hexdigest(),
                    settings={**full.stats.settings, "update_of": full.hash})
    stats.write(out / STATS_FILE)
    return DatasetFolder(out, stats)
