"""From cleaned posts to the dataset folder: split, balancing, ``stats.json`` and a content hash.

The folder holds ``train.jsonl`` and ``valid.jsonl`` (one ``{"text", "handle", "id"}`` object per
line) and ``stats.json``. The split is decided per post by a seeded hash of (handle, post id), so it is
stable: the same posts always fall on the same side, and adding posts never moves old ones.
Balancing follows the original: with several accounts, each account's training posts are repeated
until its text matches the longest account's character count (repeats carry ``"copy": k``).
"""

from __future__ import annotations

import hashlib
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..errors import DatasetError
from .folder import COUNT_KEYS, STATS_FILE, AccountStats, DatasetStats

# The original measured "enough data" on posts joined by GPT-2's end-of-text token.
EOT = "<|endoftext|>"
MIN_CHARS = 6_000
WARN_CHARS = 40_000


@dataclass
class AccountData:
    """One account's cleaned posts with its profile and counts, ready to be split."""

    handle: str
    name: str | None
    network: str
    source: str
    texts: list[tuple[str, str]]  # (post id, clean text)
    counts: dict[str, int]
    profile: dict[str, Any] = field(default_factory=dict)
    account: str = ""  # the store's key for this account (with ``network``)
    unknown: list[str] = field(default_factory=list)  # counts the source could not tell ("replies")

    @property
    def chars(self) -> int:
        """Characters of kept text joined by the end-of-text token, as the original counted."""
        if not self.texts:
            return 0
        return sum(len(t) for _, t in self.texts) + len(EOT) * (len(self.texts) - 1)


@dataclass
class SplitSettings:
    valid_fraction: float = 0.1
    """Share of each account's posts held out for validation (``--valid-fraction``)."""
    seed: int = 42
    """Seed of the split and of the balancing sample (``--seed``)."""
    balance: bool = True
    """Repeat smaller accounts' posts to match the largest (``--no-balance`` turns it off)."""


def _unit(seed: int, handle: str, post_id: str) -> float:
    h = hashlib.blake2b(f"{seed}\0{handle}\0{post_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def split(acc: AccountData, s: SplitSettings) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    if s.valid_fraction <= 0 or len(acc.texts) < 2:
        return list(acc.texts), []
    keyed = [(_unit(s.seed, acc.handle, pid), pid, text) for pid, text in acc.texts]
    train = [(pid, t) for u, pid, t in keyed if u >= s.valid_fraction]
    valid = [(pid, t) for u, pid, t in keyed if u < s.valid_fraction]
    if not valid:  # a small account still gets one validation post
        u, pid, t = min(keyed)
        valid = [(pid, t)]
        train = [(p, x) for p, x in train if p != pid]
    return train, valid


def balance_repeats(train: dict[str, list[tuple[str, str]]], seed: int) -> dict[str, list[tuple[str, str, int]]]:
    """Per handle, the training rows with their copy number, repeated up to the longest account's chars."""
    chars = {h: sum(len(t) for _, t in rows) for h, rows in train.items()}
    target = max(chars.values(), default=0)
    out: dict[str, list[tuple[str, str, int]]] = {}
    for h, rows in train.items():
        result = [(pid, t, 0) for pid, t in rows]
        have, copy = chars[h], 1
        if have == 0:
            out[h] = result
            continue
        while have + chars[h] <= target:  # whole copies first
            result.extend((pid, t, copy) for pid, t in rows)
            have += chars[h]
            copy += 1
        rng = random.Random(f"{seed}:{h}")
        for pid, t in rng.sample(rows, len(rows)):  # then a seeded sample for the remainder
            if have >= target:
                break
            result.append((pid, t, copy))
            have += len(t)
        out[h] = result
    return out


def _write_jsonl(path: Path, rows: list[dict]) -> bytes:
    data = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return data


def write_dataset(out: Path, accounts: list[AccountData], settings: dict[str, Any],
                  split_settings: SplitSettings) -> DatasetStats:
    """Split, balance and write the folder; return what ``stats.json`` now holds."""
    # Rows are grouped per account. Two accounts may show the same handle (jane on X and a file
    # of another jane): only then is the key made unique, so that one-handle datasets keep the
    # balancing sample they always had (it is seeded by the key).
    seen = [a.handle for a in accounts]
    keys = [a.handle if seen.count(a.handle) == 1 else f"{a.handle}#{i}" for i, a in enumerate(accounts)]
    train_rows: dict[str, list[tuple[str, str]]] = {}
    valid_rows: dict[str, list[tuple[str, str]]] = {}
    for key, acc in zip(keys, accounts):
        train_rows[key], valid_rows[key] = split(acc, split_settings)
    if split_settings.balance and len(accounts) > 1:
        repeated = balance_repeats(train_rows, split_settings.seed)
    else:
        repeated = {h: [(p, t, 0) for p, t in rows] for h, rows in train_rows.items()}

    train: list[dict] = []
    valid: list[dict] = []
    for key, acc in zip(keys, accounts):
        for pid, text, copy in repeated[key]:
            row = {"text": text, "handle": acc.handle, "id": pid}
            if copy:
                row["copy"] = copy
            train.append(row)
        valid.extend({"text": t, "handle": acc.handle, "id": p} for p, t in valid_rows[key])

    try:
        out.mkdir(parents=True, exist_ok=True)
    except (NotADirectoryError, FileExistsError):
        raise DatasetError(f"cannot create the dataset folder {out}: a part of that path is a file; "
                           f"choose another folder with -o") from None
    digest = hashlib.sha256()
    for name, rows in (("train.jsonl", train), ("valid.jsonl", valid)):
        data = _write_jsonl(out / name, rows)
        digest.update(name.encode() + b"\0" + data)

    users = []
    for key, acc in zip(keys, accounts):
        extra = acc.profile.get("extra") or {}
        excluded = bool(extra.get("retweets_excluded"))  # the service left retweets out
        users.append(AccountStats(
            handle=acc.handle, name=acc.name or acc.handle, network=acc.network, account=acc.account,
            source=acc.source, **{k: int(acc.counts.get(k, 0)) for k in COUNT_KEYS}, kept_chars=acc.chars,
            train_posts=len(train_rows[key]), valid_posts=len(valid_rows[key]), train_rows=len(repeated[key]),
            avatar_url=acc.profile.get("avatar_url"), avatar_path=acc.profile.get("avatar_path"),
            url=acc.profile.get("url"), notes=list(extra.get("notes") or ()), retweets_excluded=excluded,
            # the source carries no sign of these: their counts say "unknown"
            unknown=sorted(set(acc.unknown) | ({"retweets"} if excluded else set()))))
    stats = DatasetStats(
        bot="-".join(sorted(a.handle.lower() for a in accounts)), users=users,
        hash="sha256:" + digest.hexdigest(), settings={**settings, **asdict(split_settings)},
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    stats.write(out / STATS_FILE)
    return stats
