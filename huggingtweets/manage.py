"""Everyday housekeeping: what is here (bots, datasets, stored accounts and their sizes), what one bot is,
and deleting what is no longer wanted. ``huggingtweets list``, ``info`` and ``delete`` call these.

    import huggingtweets as ht
    for bot in ht.list_bots():
        print(bot.name, bot.bytes, bot.path)
    print(ht.bot_info("jane").bits_per_char)
    ht.delete_account("x:jane", built=True)   # the stored posts, and the bots and datasets made from them

Bots are found under ``$HUGGINGTWEETS_HOME/bots`` and in the web app's session folders; datasets under
``$HUGGINGTWEETS_HOME/datasets``; accounts in the post store. A folder is deleted only when its contract
says it is a bot (``bot_folder``) or a dataset (``dataset.folder``), and nothing outside the home is
deleted unless its path was given.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import paths
from .bot_folder import (CHECKPOINTS, STATS_FILE, TRACKING_FILE, BotFolder, BotMetrics, app_bot_folders,
                         bot_path, read_json, resolve_bot_folder)
from .dataset.counts import counts_table
from .dataset.folder import AccountStats, DatasetFolder, DatasetStats
from .errors import (AmbiguousNameError, DatasetError, ModelFolderError, NotManagedError, UnknownAccountError,
                     UsageError)
from .store import Store

KINDS = ("bot", "dataset", "account")
"""What ``list`` and ``delete`` take (the plural is accepted too)."""


def kind_of(word: str) -> str:
    """``bot``, ``dataset`` or ``account`` for one of them or its plural.

    Raises:
        UsageError: another word.
    """
    kind = word.lower().rstrip("s")
    if kind not in KINDS:
        raise UsageError(f"unknown kind {word!r}: use bot, dataset or account")
    return kind


def human_size(n: int) -> str:
    """``1234567`` -> ``"1.2 MB"`` (powers of 1000, as file managers show them)."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# --- listing -----------------------------------------------------------------------------------------


@dataclass
class BotEntry:
    """One bot folder: under ``bots/``, or made in the web app (``web_app``)."""

    name: str
    path: Path
    bytes: int
    accounts: list[str]
    """The handles it was trained on."""
    trained: bool
    """``False``: an unfinished run (only checkpoints so far)."""
    web_app: bool = False
    hub_repo: str | None = None
    """Where it is published on the Hugging Face Hub, once it is."""

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class DatasetEntry:
    name: str
    path: Path
    bytes: int
    accounts: list[str]
    train_rows: int
    valid_posts: int

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class AccountEntry:
    """One account in the post store; ``spec`` (``NETWORK:HANDLE``) is how ``delete account`` names it."""

    network: str
    account: str
    """The store's key: the network's stable id when known, else the handle."""
    handle: str
    posts: int
    bytes: int
    """About how much its posts take in the store (raw records and texts)."""

    @property
    def spec(self) -> str:
        return f"{self.network}:{self.handle}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "spec": self.spec}


def _is_unfinished(path: Path) -> bool:
    ckpt = path / CHECKPOINTS
    return ckpt.is_dir() and any(p.name.startswith("step-") for p in ckpt.iterdir())


def _is_trained(path: Path) -> bool:
    try:
        resolve_bot_folder(path)
        return True
    except ModelFolderError:
        return False


def _stats(path: Path) -> DatasetStats | None:
    try:
        return DatasetStats.read(path / STATS_FILE)
    except DatasetError:
        return None


def _bot_folders() -> list[tuple[Path, bool]]:
    """(folder, made in the web app) of every folder that may be a bot."""
    home = paths.bots_dir()
    mine = sorted(p for p in home.iterdir() if p.is_dir()) if home.is_dir() else []
    return [(p, False) for p in mine] + [(p, True) for p in app_bot_folders()]


def list_bots() -> list[BotEntry]:
    """The bots under ``$HUGGINGTWEETS_HOME/bots`` and those made in the web app, with their sizes;
    folders that are neither a trained bot nor an unfinished run are left out."""
    found = []
    for path, web_app in _bot_folders():
        trained = _is_trained(path)
        if not trained and not _is_unfinished(path):
            continue
        stats = _stats(path)
        found.append(BotEntry(path.name, path, paths.folder_bytes(path), [u.handle for u in stats.users] if stats else [],
                              trained, web_app, BotFolder(path).hub_repo[0]))
    return found


def _dataset_folders() -> list[DatasetFolder]:
    root = paths.datasets_dir()
    found = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        try:
            found.append(DatasetFolder.open(path))
        except DatasetError:
            continue
    return found


def list_datasets() -> list[DatasetEntry]:
    """The dataset folders under ``$HUGGINGTWEETS_HOME/datasets``, with their sizes."""
    return [DatasetEntry(ds.path.name, ds.path, paths.folder_bytes(ds.path), [u.handle for u in ds.stats.users],
                         sum(u.train_rows for u in ds.stats.users), sum(u.valid_posts for u in ds.stats.users))
            for ds in _dataset_folders()]


def list_accounts(store: Store | None = None) -> list[AccountEntry]:
    """The accounts in the post store (``[]`` when there is no store yet: none is created)."""
    if store is None and not paths.store_path().is_file():
        return []
    own = store is None
    store = store or Store()
    try:
        sizes = store.account_bytes()
        return [AccountEntry(n, a, h, count, sizes.get((n, a), 0)) for n, a, h, count in store.accounts()]
    finally:
        if own:
            store.close()


# --- one bot ---------------------------------------------------------------------------------------------


@dataclass
class BotInfo:
    """What ``huggingtweets info`` shows of a bot: its data, how it was trained, how good it is, where it is."""

    name: str
    path: Path
    bytes: int
    web_app: bool
    sources: list[str]
    """The sources as they were typed (``archive:x.zip``)."""
    accounts: list[AccountStats]
    counts: list[tuple[str, str, list[int | None]]]
    """``dataset.counts.counts_table`` of the accounts: (label, key, one count per account)."""
    recipe: str | None = None
    settings: str | None = None
    """One line of the settings that matter most (``training.recipes.describe``)."""
    config: dict[str, Any] = field(default_factory=dict)
    """All resolved settings (``training_config.json``'s ``config``)."""
    base_model: str | None = None
    dataset: str | None = None
    """The dataset folder it was trained on, as training recorded it."""
    metrics: BotMetrics | None = None
    evaluation: str | None = None
    """One line of the evaluation written at the end of training (``None``: not evaluated)."""
    versions: dict[str, str] = field(default_factory=dict)
    hub_repo: str | None = None
    hub_url: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    """``history.json``'s versions, oldest first (empty for a bot never updated)."""
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    """``versions/rollbacks.json``: each rollback's date, the version discarded and the one put back."""

    @property
    def bits_per_char(self) -> float | None:
        """Validation bits per character (lower is better)."""
        return self.metrics.eval_bits_per_char if self.metrics else None

    def to_dict(self) -> dict[str, Any]:
        d = _jsonable(asdict(self))
        d["accounts"] = [a.to_dict() for a in self.accounts]
        d["counts"] = [{"label": label, "key": key, "values": values} for label, key, values in self.counts]
        d["bits_per_char"] = self.bits_per_char
        return d


def _share(v: Any) -> str:
    return f"{v:.0%}" if isinstance(v, (int, float)) else "n/a"


def evaluation_line(ev: dict[str, Any] | None) -> str | None:
    """One line of ``metrics.json``'s ``evaluation`` (``Evaluation.to_dict(posts=False)``)."""
    if not isinstance(ev, dict):
        return None
    parts = []
    val = ev.get("validation")
    if isinstance(val, dict) and isinstance(val.get("bits_per_char"), (int, float)):
        parts.append(f"validation {val['bits_per_char']:.4f} bits/char")
    gen = ev.get("generated")
    if isinstance(gen, dict):
        d2 = gen.get("distinct_2")
        distinct = f"{d2:.2f}" if isinstance(d2, (int, float)) else "n/a"
        parts.append(f"{gen.get('posts')} posts: {_share(gen.get('copy_share'))} copies, distinct-2 {distinct}, "
                     f"{_share(gen.get('repeat_share'))} repeats, {_share(gen.get('degenerate_share'))} degenerate")
    return "; ".join(parts) or None


def bot_info(name: str | Path) -> BotInfo:
    """Everything a bot's folder says about it.

    Args:
        name: a bot's name (under ``bots/``, or made in the web app) or its folder.
    Raises:
        ModelFolderError: no such bot, or not a trained one; AmbiguousNameError: several web-app bots
            have this name (the message lists their folders).
    """
    from .training.recipes import TrainConfig, describe

    bot = BotFolder.open(name)
    stats = bot.stats
    info = BotInfo(bot.path.name, bot.path, paths.folder_bytes(bot.path), _in_app(bot.path),
                   [str(s) for s in stats.settings.get("sources") or []], stats.users, counts_table(stats.users))
    record = bot.training
    if record is not None:
        info.config = record.config
        info.recipe = record.config.get("recipe")
        info.settings = describe(TrainConfig.from_dict(record.config)) if record.config else None
        info.base_model = record.base_model.get("name") or record.setting("model", "base_model")
        info.dataset = record.dataset.path
        info.versions = dict(record.versions)
        if record.huggingtweets_version:
            info.versions = {"huggingtweets": record.huggingtweets_version, **info.versions}
    info.metrics = bot.metrics
    info.evaluation = evaluation_line(info.metrics.evaluation if info.metrics else None)
    from .versions import read_history, read_rollbacks

    info.history = read_history(bot.path).versions
    info.rollbacks = read_rollbacks(bot.path)
    repo, endpoint = bot.hub_repo
    if repo:
        info.hub_repo, info.hub_url = repo, f"{(endpoint or 'https://huggingface.co').rstrip('/')}/{repo}"
    return info


def _in_app(path: Path) -> bool:
    return path.resolve().is_relative_to(paths.app_sessions_dir().resolve())


# --- deleting ----------------------------------------------------------------------------------------


@dataclass
class Target:
    """One thing to delete: a bot or dataset folder, a stored account, or an offline W&B run folder."""

    kind: str
    """``bot``, ``dataset``, ``account`` or ``wandb-run``."""
    name: str
    path: Path | None
    bytes: int
    network: str | None = None
    account: str | None = None
    posts: int = 0

    def describe(self) -> str:
        """``bot jane (12.3 MB, /home/me/.huggingtweets/bots/jane)``"""
        if self.kind == "account":
            return f"account {self.network}:{self.name} ({self.posts:,} posts, {human_size(self.bytes)})"
        what = "W&B offline run" if self.kind == "wandb-run" else self.kind
        return f"{what} {self.name} ({human_size(self.bytes)}, {self.path})"

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass
class DeletePlan:
    """What a delete would remove; nothing is removed until ``execute``."""

    targets: list[Target]
    """What was asked for."""
    runs: list[Target] = field(default_factory=list)
    """The offline W&B runs of the bots and datasets asked for."""
    built: list[Target] = field(default_factory=list)
    """For accounts: the bots and datasets made from their posts (removed only when asked)."""
    built_runs: list[Target] = field(default_factory=list)
    """The offline W&B runs of ``built``."""

    def items(self, built: bool = False) -> list[Target]:
        return self.targets + self.runs + (self.built + self.built_runs if built else [])


def find_bot(name: str | Path) -> Target:
    """The bot ``name`` names, checked to be a bot folder (a trained one, or an unfinished run).

    Raises:
        ModelFolderError: nothing there; NotManagedError: a folder that is not a bot; AmbiguousNameError.
    """
    path = bot_path(name)
    if not path.is_dir():
        raise ModelFolderError(f"{name}: no such bot; run `huggingtweets list bots` to see them")
    if not _is_trained(path) and not _is_unfinished(path):
        raise NotManagedError(str(path), "bot", "no config.json, model weights and stats.json, and no "
                                               "checkpoints")
    return Target("bot", path.name, path, paths.folder_bytes(path))


def find_dataset(name: str | Path) -> Target:
    """The dataset folder ``name`` names (a path, or a name under ``$HUGGINGTWEETS_HOME/datasets``).

    Raises:
        DatasetError: nothing there; NotManagedError: a folder that is not a dataset.
    """
    path = Path(name).expanduser()
    if not path.exists() and "/" not in str(name) and os.sep not in str(name):
        path = paths.datasets_dir() / str(name)
    if not path.is_dir():
        raise DatasetError(f"{name}: no such dataset; run `huggingtweets list datasets` to see them")
    try:
        DatasetFolder.open(path)
    except DatasetError:
        raise NotManagedError(str(path), "dataset", "no train.jsonl, valid.jsonl and readable stats.json") from None
    return Target("dataset", path.name, path, paths.folder_bytes(path))


def find_accounts(spec: str, store: Store) -> list[AccountEntry]:
    """The stored accounts ``NETWORK:HANDLE`` (or ``HANDLE``, on any network) names; the handle may also
    be the store's key (the network's id of the account)."""
    network, sep, handle = spec.partition(":")
    if not sep:
        network, handle = "", spec
    handle = handle.lstrip("@").lower()
    return [a for a in list_accounts(store) if (not network or a.network == network.lower())
            and handle in (a.handle.lower(), a.account.lower())]


def find_account(spec: str, store: Store) -> Target:
    """Raises: UnknownAccountError; AmbiguousNameError (the handle is on several networks)."""
    found = find_accounts(spec, store)
    if not found:
        raise UnknownAccountError(spec)
    if len(found) > 1:
        raise AmbiguousNameError(spec, "stored account", [a.spec for a in found])
    a = found[0]
    return Target("account", a.handle, None, a.bytes, a.network, a.account, a.posts)


def _made_from(stats: DatasetStats | None, account: Target) -> bool:
    return stats is not None and any(
        u.network == account.network and (u.account == account.account if u.account else
                                          u.handle.lower() == account.name.lower()) for u in stats.users)


def built_from(accounts: Iterable[Target]) -> list[Target]:
    """The bots (under ``bots/`` and in the web app) and datasets whose ``stats.json`` lists one of the
    accounts."""
    accounts = list(accounts)
    found = []
    for path, _ in _bot_folders():
        if (_is_trained(path) or _is_unfinished(path)) and any(_made_from(_stats(path), a) for a in accounts):
            found.append(Target("bot", path.name, path, paths.folder_bytes(path)))
    for ds in _dataset_folders():
        if any(_made_from(ds.stats, a) for a in accounts):
            found.append(Target("dataset", ds.path.name, ds.path, paths.folder_bytes(ds.path)))
    return found


def _offline_runs(folder: Path) -> set[Path]:
    data = read_json(folder / TRACKING_FILE)
    runs = data.get("runs") if isinstance(data, dict) and isinstance(data.get("runs"), dict) else {}
    return {Path(r["dir"]) for r in runs.values()
            if isinstance(r, dict) and not r.get("url") and isinstance(r.get("dir"), str)}


def wandb_runs(folders: Iterable[Path], gone: Iterable[Path] = ()) -> list[Target]:
    """The offline W&B run folders that the folders' ``tracking.json`` records, under the home only, and
    recorded by no other bot or dataset that stays (a dataset's preprocess run is also its bots')."""
    folders = list(folders)
    leaving = {p.resolve() for p in folders} | {p.resolve() for p in gone}
    staying = [p for p, _ in _bot_folders()] + [ds.path for ds in _dataset_folders()]
    kept = set().union(*(_offline_runs(p) for p in staying if p.resolve() not in leaving))
    home = paths.home().resolve()
    runs = sorted(set().union(*(_offline_runs(p) for p in folders)) - kept)
    return [Target("wandb-run", d.name, d, paths.folder_bytes(d)) for d in runs
            if d.name.startswith("offline-run-") and d.is_dir() and not d.is_symlink()
            and d.resolve().is_relative_to(home)]


def plan_delete(kind: str, names: Iterable[str], store: Store | None = None) -> DeletePlan:
    """What deleting these bots, datasets or accounts would remove; nothing is removed.

    Raises:
        UsageError: an unknown kind; the errors of ``find_bot``, ``find_dataset`` and ``find_account``
            (all names are checked before anything is planned).
    """
    kind = kind_of(kind)
    names = list(names)
    if kind == "account":
        if store is None and not paths.store_path().is_file():  # no store yet: none is made to say so
            raise UnknownAccountError(names[0])
        own = store is None
        store = store or Store()
        try:
            targets = [find_account(n, store) for n in names]
        finally:
            if own:
                store.close()
        built = built_from(targets)
        return DeletePlan(targets, [], built, wandb_runs([t.path for t in built if t.path]))
    targets = [find_bot(n) if kind == "bot" else find_dataset(n) for n in names]
    return DeletePlan(targets, wandb_runs([t.path for t in targets if t.path]))


def _remove(path: Path) -> None:
    if path.is_symlink():  # the link only: what it points at was not named
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def execute(plan: DeletePlan, built: bool = False, store: Store | None = None) -> list[Target]:
    """Delete what ``plan`` lists (with ``built``: also the bots and datasets made from its accounts);
    return what was deleted."""
    items = plan.items(built)
    accounts = [t for t in items if t.kind == "account"]
    if accounts:
        own = store is None
        store = store or Store()
        try:
            for t in accounts:
                store.delete_account(t.network or "", t.account or "")
                _remove_cached_avatars(t.network or "", t.name)
        finally:
            if own:
                store.close()
    for t in items:
        if t.path is not None:
            _remove(t.path)
    return items


def _remove_cached_avatars(network: str, handle: str) -> None:
    """The account's picture as an export left it in the cache (``<cache>/avatars/NETWORK-HANDLE.*``)."""
    folder = paths.cache_dir() / "avatars"
    if folder.is_dir():
        for p in folder.iterdir():
            if p.is_file() and p.stem.lower() == f"{network}-{handle}".lower():
                p.unlink()


def delete_bot(name: str | Path) -> list[Target]:
    """Delete a bot's folder and its offline W&B runs (those no other bot or dataset records).

    Raises:
        ModelFolderError, NotManagedError, AmbiguousNameError: see ``find_bot``.
    """
    return execute(plan_delete("bot", [str(name)]))


def delete_dataset(name: str | Path) -> list[Target]:
    """Delete a dataset folder and its offline W&B preprocess run (unless a remaining bot records it).

    Raises:
        DatasetError, NotManagedError: see ``find_dataset``.
    """
    return execute(plan_delete("dataset", [str(name)]))


def delete_account(spec: str, *, built: bool = False, store: Store | None = None) -> list[Target]:
    """Delete a stored account: its posts with their raw records, its profile and its fetch state.

    Args:
        spec: ``NETWORK:HANDLE`` (``x:jane``), or ``HANDLE`` when one network has it.
        built: also delete the bots and datasets made from its posts, and their offline W&B runs.
    Raises:
        UnknownAccountError, AmbiguousNameError: see ``find_account``.
    """
    return execute(plan_delete("account", [spec], store), built=built, store=store)
