"""Keep a bot up to date with its account: fetch what is new, continue training, keep the version only
if it is not worse.

    import huggingtweets as ht
    result = ht.update_bot("jane")                      # the bot's own sources, as recorded
    result = ht.update_bot("jane", ["archive:twitter-2025.zip"])
    print(result.summary())
    ht.rollback("jane")                                 # back to the previous version, byte for byte

``update_bot`` prepares a new version of the bot's dataset with the settings it was made with (cleaning,
``min_chars``, the split's seed and validation share: the split is keyed on each post, so old posts keep
their side), beside the old dataset folder (``jane-v2``). Without new training posts it says so and
changes nothing. Otherwise it continues training from the bot's current weights (its own recipe, the
bot's folder as base model) on the new training posts and a replay sample of older ones
(``update_data``), in ``.update/`` inside the bot folder, then scores the previous and the new weights
on the previous version's validation posts and on the new ones. The new version is kept only if the
old validation posts' bits per character rose by at most ``tolerance`` (relative): otherwise the bot
stays as it was, byte for byte, and the result says why (``force=True`` keeps it anyway). A kept version
replaces the folder's files through ``versions.swap`` (the previous version kept under ``versions/``,
a journal against kill -9) and is recorded in ``history.json``.

Tolerance: ``DEFAULT_TOLERANCE`` = 1%. Continued training on new posts usually moves the old validation
posts' bits/char by a fraction of a percent either way (the replay keeps the old voice; the new posts
shift topics); a rise of more than 1% is a sign that the update is forgetting, that the learning rate is
too high for a second round, or that the new posts are of another kind than the old ones. The issue's
benchmark asks an update to stay within 2% of the pre-update bot on old validation posts; the default
is stricter than that, as a version refused costs only ``--force``.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from . import paths, versions
from .bot_folder import CONFIG_FILE, BotFolder, TrainingRecord
from .dataset.folder import DatasetFolder
from .errors import (AccountUnavailableError, BaseModelChangedError, BaseModelError, HuggingTweetsError,
                     ModelFolderError, NoPreviousVersionError,
                     OtherAccountError, SourceError, SourceGoneError, SourceNotFoundError, UpdateBusyError,
                     UpdateError, UsageError)
from .evaluation import TRAIN_POSTS
from .update_data import UpdateData, diff, write_update_set

DEFAULT_TOLERANCE = 0.01
"""The most the previous validation posts' bits/char may rise (relative) for a version to be kept."""
UPDATE_FREEZE_LAYERS = 2 / 3
"""Share of the lowest blocks an update keeps fixed (at least; the recipe's, when it fixes more). The bot
has learnt its voice; an update adapts the upper third to the new posts, which also makes each step
cheaper (no backward pass through the fixed blocks). Measured on a real account cut by date
(bench/README.md, "update"): with lr halved, 2/3 fixed kept the previous validation posts within 0.5%
and came within 1.5% of retraining from scratch on the new ones, in 0.35 of its time."""
UPDATE_LR_SCALE = 0.5
"""The recipe's learning rate is multiplied by this for an update: starting again at the full rate of a
first training made the bot forget (+1.2% bits/char on the previous validation posts with 2/3 fixed,
against -0.3% at half the rate)."""
LIVE_SCHEMES = ("x", "mastodon", "bsky")
"""Sources that ``update --all`` can fetch again without being given a new file."""

Progress = Callable[[dict[str, Any]], None]
"""Called with ``{"stage": "preparing"}``, ``{"stage": "prepared", "dataset": ...}``, ``{"stage":
"training"}`` and the training loop's records, ``{"stage": "measuring"}``, ``{"stage": "card"}``,
``{"stage": "saving"}``, ``{"stage": "publishing"}``."""


@dataclass
class UpdateResult:
    folder: Path
    changed: bool
    """Whether the bot folder now holds a new version."""
    version: int
    """The folder's version after the update."""
    previous: int
    new_train: int = 0
    """New training posts (each once)."""
    new_valid: int = 0
    replay: int = 0
    dataset: Path | None = None
    """The new dataset version's folder (``None`` when nothing changed)."""
    scores: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    """``old_valid`` and ``new_valid``: ``posts``, bits/char ``before`` and ``after``."""
    tolerance: float = DEFAULT_TOLERANCE
    forced: bool = False
    """Kept although the old validation posts got worse than the tolerance allows."""
    reason: str = ""
    """Why nothing changed (no new posts, or the new version was worse)."""
    published: str | None = None
    """The Hub repository's URL, when published."""

    @property
    def new_posts(self) -> int:
        return self.new_train + self.new_valid

    @property
    def rise(self) -> float | None:
        """Relative change of the old validation posts' bits/char (positive: worse)."""
        s = self.scores.get("old_valid") or {}
        before, after = s.get("before"), s.get("after")
        return (after - before) / before if before and after is not None else None

    def summary(self) -> str:
        if not self.changed:
            return f"{self.folder.name}: not updated, {self.reason}"
        parts = [f"{self.folder.name}: version {self.version} (+{self.new_posts} posts, {self.replay} older "
                 f"posts replayed)"]
        for key, label in (("old_valid", "previous validation posts"), ("new_valid", "new validation posts")):
            s = self.scores.get(key) or {}
            if s.get("before") is not None and s.get("after") is not None:
                parts.append(f"{label}: {s['before']:.4f} -> {s['after']:.4f} bits/char")
        whole = (self.scores.get("all_valid") or {}).get("after")
        if whole is not None:
            parts.append(f"all validation posts: {whole:.4f} bits/char (the version's figure in `info`)")
        if self.forced:
            parts.append("kept with force")
        return "; ".join(parts)


@dataclass
class RollbackResult:
    folder: Path
    version: int
    """The version the folder holds now."""
    discarded: int
    """The version it held before."""


# --- checks ----------------------------------------------------------------------------------------


def bot_ref(folder: Path) -> str:
    """How a command names the bot so that it finds it again: its name when it lives in the home's
    ``bots/`` folder, else its path."""
    try:
        if folder.resolve().parent == paths.bots_dir().resolve():
            return folder.name
    except OSError:
        pass
    return str(folder)


def open_bot(folder: str | Path) -> BotFolder:
    """The bot to update. Raises ``ModelFolderError`` saying what to pass."""
    try:
        bot = BotFolder.open(folder)
    except ModelFolderError as e:
        what = str(e).split(";")[0]
        if isinstance(folder, str) and not any(c in folder for c in "/\\") and not Path(folder).exists():
            what = f"no bot named {folder} in {paths.bots_dir()}"  # a name, not a path
        raise ModelFolderError(f"{what}; pass a bot's folder or its name (see `huggingtweets list`), e.g. "
                               f"`huggingtweets update jane`") from None
    versions.recover(bot.path)
    return bot


def check_base_model(name: str, rec: TrainingRecord) -> None:
    """The base model the bot records is the one that resolving its name gives now.

    Raises:
        BaseModelChangedError: it resolves to another model (another version of the embedded model,
            another folder).
    """
    from .training import base_models

    recorded = rec.base_model or {}
    asked = recorded.get("name") or rec.setting("model", "base_model")
    if not isinstance(asked, str) or not recorded.get("location"):
        return
    try:
        now = base_models.resolve(asked)
    except BaseModelError:
        return  # nothing to compare with: the update continues the bot's own weights
    if now.location != recorded["location"]:
        raise BaseModelChangedError(name, f"{asked} ({recorded['location']})", now.location)


def _account_matches(user, network: str, profile) -> bool:
    from .api import account_key

    if user.network != network:
        return False
    if user.account and profile.account_id:
        return account_key(profile) == user.account
    return profile.handle.lower() == user.handle.lower()


def choose_sources(bot: BotFolder, given: Sequence[str] | None, allow_other_account: bool,
                   options) -> list[str]:
    """The sources of the update: the recorded ones, with each given source in place of the recorded
    source of its account.

    Raises:
        UpdateError: no source given and none recorded.
        OtherAccountError: a given source is another account's (without ``allow_other_account``).
        SourceGoneError: a recorded source that is still used can no longer be opened.
    """
    from .sources import open_source

    stats, name = bot.stats, bot_ref(bot.path)
    recorded = [str(s) for s in stats.settings.get("sources") or []]
    if not given:
        if not recorded:
            raise UpdateError(f"{name}: its sources are not recorded; pass them: `huggingtweets update {name} "
                              f"SOURCE`")
        chosen = recorded
    else:
        chosen = recorded if len(recorded) == len(stats.users) else [u.source for u in stats.users]
        for spec in given:
            src = open_source(spec, options)
            profile = src.profile()
            hit = [i for i, u in enumerate(stats.users) if _account_matches(u, src.network, profile)]
            if hit:
                chosen[hit[0]] = spec
            elif not allow_other_account:
                expected = " and ".join(f"@{u.handle} ({u.network})" for u in stats.users)
                raise OtherAccountError(name, spec, f"@{profile.handle} ({src.network})", expected)
            elif len(stats.users) == 1:
                chosen = [spec]
            else:
                chosen.append(spec)
    for spec in chosen:
        if given and spec in given:
            continue
        try:
            open_source(spec, options)
        except SourceNotFoundError:
            raise SourceGoneError(name, spec, "no such file or folder") from None
        except SourceError as e:
            raise SourceGoneError(name, spec, str(e).split(";")[0]) from None
    return chosen


# --- the update ------------------------------------------------------------------------------------


def _source_options(bot: BotFolder, specs: list[str], given):
    from .sources import SourceOptions

    if given is not None:
        return given
    users = bot.stats.users
    if len(users) == 1 and any(s.startswith("file:") for s in specs):
        return SourceOptions(handle=users[0].handle)  # a file that does not say whose posts it holds
    return SourceOptions()


def _new_dataset_path(old: Path, version: int) -> Path:
    base = re.sub(r"-v\d+$", "", old.name)
    return paths.free_name(old.parent / f"{base}-v{version}")


def prepare_version(bot: BotFolder, specs: list[str], old: DatasetFolder, version: int, options) -> DatasetFolder:
    """The new dataset version, prepared with the bot's recorded settings beside the old one."""
    from .api import DataWarning, prepare
    from .dataset.build import SplitSettings
    from .dataset.clean import CleanOptions

    settings = bot.stats.settings
    clean_fields = CleanOptions.__dataclass_fields__
    clean = CleanOptions(**{k: v for k, v in (settings.get("clean") or {}).items() if k in clean_fields})
    split = SplitSettings(**{k: settings[k] for k in ("valid_fraction", "seed", "balance") if k in settings})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            return prepare(specs, _new_dataset_path(old.path, version), clean=clean, split=split,
                           source_options=options, min_chars=settings.get("min_chars"))
        except AccountUnavailableError as e:
            # Only an account the service says is gone (unknown, deleted, protected, suspended); a
            # network failure or a rate limit mid-fetch is the FetchError itself, which says to run the
            # same command again (what was fetched stays stored): the source is not gone.
            live = [s for s in specs if s.split(":", 1)[0] in LIVE_SCHEMES or s.startswith("@")]
            mine = [s for s in live if e.handle and e.handle.lower().lstrip("@") in s.lower()]
            source = (mine or live)[0] if len(mine or live) == 1 else ", ".join(specs)
            raise SourceGoneError(bot_ref(bot.path), source, str(e).split(";")[0]) from None


def _tracker_for(bot: BotFolder, tracker: str | None) -> str | None:
    """``auto`` follows the bot: a bot trained without tracking (no run in its ``tracking.json``) is
    updated without it too, unless the environment or ``--tracker wandb`` asks for it."""
    from .update_steps import train_run

    asked = tracker or os.environ.get("HUGGINGTWEETS_TRACKER") or "auto"
    if asked.lower() == "auto" and train_run(bot) is None:
        return "none"
    return tracker


def _recipe_fits_blocks(recipe: str) -> bool:
    """Whether ``recipe`` leaves the block size to be fitted to the posts (``block_size=0``): the bot's
    record holds the size that was fitted then."""
    from .training.recipes import resolve_config

    try:
        return resolve_config(recipe).data.block_size == 0
    except UsageError:
        return False


def _update_config(rec: TrainingRecord, folder: Path, config: Any):
    """The bot's own resolved recipe with the update's settings (``UPDATE_FREEZE_LAYERS``,
    ``UPDATE_LR_SCALE``), or ``config``: a ``TrainConfig``, or overrides by field name applied after them;
    the bot's folder as base model, the device and precision decided again on this machine."""
    from .training.recipes import TrainConfig, field_group

    if isinstance(config, TrainConfig):
        cfg = copy.deepcopy(config)
    else:
        cfg = TrainConfig.from_dict(rec.config)
        cfg.run.device, cfg.run.precision = "auto", "auto"
        if _recipe_fits_blocks(cfg.recipe):  # fitted again: the new posts may be longer than the old ones
            cfg.data.block_size = 0
        if not cfg.model.lora and cfg.model.freeze_layers < 1:  # (a count of blocks is kept as it is)
            cfg.model.freeze_layers = max(cfg.model.freeze_layers, UPDATE_FREEZE_LAYERS)
        cfg.optim.learning_rate *= UPDATE_LR_SCALE
        for k, v in (config or {}).items():
            setattr(getattr(cfg, field_group(k)), k, v)
    cfg.model.base_model = str(folder.resolve())
    cfg.run.keep_checkpoints = False
    cfg.validate()
    return cfg


def update_bot(folder: str | Path, sources: Sequence[str] | None = None, *, force: bool = False,
               tolerance: float = DEFAULT_TOLERANCE, allow_other_account: bool = False, config: Any = None,
               on_progress: Progress | None = None, publish: str | bool | None = None,
               tracker: str | None = "auto", eval_posts: int | None = TRAIN_POSTS, n_predictions: int = 10,
               source_options=None) -> UpdateResult:
    """Update a bot with its account's new posts (see the module docstring).

    Args:
        folder: the bot's folder or name.
        sources: sources to read instead of the recorded ones of the same accounts (a newer archive).
        force: keep the new version even if the previous validation posts got worse.
        tolerance: the most their bits/char may rise, relative (0.01: 1%).
        allow_other_account: accept a source of another account than the bot's.
        config: a ``TrainConfig``, or overrides of the bot's recipe by field name (``{"epochs": 2}``).
        publish: a Hub repository (``NAMESPACE/NAME``), or ``True`` for the one the bot was published to;
            the new version is pushed as one commit ``Update to version N (+K posts)``.
        eval_posts: measure the new version on this many generated posts (``huggingtweets.evaluate``), as
            ``train`` does (``None``: no evaluation, and the card has none).
    Returns:
        An ``UpdateResult`` (``changed`` False: nothing new, or the new version was refused: ``reason``).
    Raises:
        ModelFolderError, SourceGoneError, OtherAccountError, BaseModelChangedError, UpdateBusyError,
        and the errors of preparing, training and publishing.
    """
    from .evaluation import resolve_dataset
    from .sources import absolute_spec

    if not tolerance >= 0:  # (NaN too)
        raise UsageError(f"--tolerance {tolerance}: must be 0 or more (0.01 allows the previous validation posts "
                         f"1% more bits/char); use --force to keep a worse version")
    say = on_progress or (lambda record: None)
    bot = open_bot(folder)
    name = bot_ref(bot.path)
    rec = bot.training
    if rec is None:
        raise UpdateError(f"{bot.path}: no readable {CONFIG_FILE}, so how the bot was trained is unknown; "
                          f"train it again with `huggingtweets train SOURCE`")
    if (bot.path / "adapter_config.json").is_file():
        raise UpdateError(f"{name} holds LoRA adapters, not whole weights, which an update cannot continue; "
                          f"train it again with `huggingtweets train SOURCE --lora` (adapters merged)")
    repo = _publish_target(bot, publish)
    check_base_model(name, rec)
    try:
        with versions.lock(bot.path):
            _clean_leftovers(bot.path)
            old = DatasetFolder.open(resolve_dataset(bot.path)[0])
            specs = [absolute_spec(s) for s in choose_sources(bot, sources, allow_other_account, source_options)]
            options = _source_options(bot, specs, source_options)
            current = versions.read_history(bot.path).current
            say({"stage": "preparing"})
            new = prepare_version(bot, specs, old, current + 1, options)
            say({"stage": "prepared", "dataset": new})
            result = _update(bot, rec, old, new, specs, current, force, tolerance, config, say,
                             _tracker_for(bot, tracker), eval_posts, n_predictions)
    except BlockingIOError:
        raise UpdateBusyError(name) from None
    if result.changed and repo:
        result.published = _publish(bot.path, repo, result, say)
    return result


def _publish_target(bot: BotFolder, publish: str | bool | None) -> str | None:
    if not publish:
        return None
    if isinstance(publish, str):
        from .hub import check_repo_id

        return check_repo_id(publish)
    repo, _ = bot.hub_repo
    if not repo:
        raise UsageError(f"{bot_ref(bot.path)} was never published, so there is no repository to update: pass "
                         f"--publish NAMESPACE/NAME")
    return repo


def _publish(folder: Path, repo: str, result: UpdateResult, say: Progress) -> str | None:
    from .hub import publish

    say({"stage": "publishing", "repo_id": repo})
    message = f"Update to version {result.version} (+{result.new_posts} posts)"
    return publish(folder, repo_id=repo, commit_message=message).url


def _clean_leftovers(folder: Path) -> None:
    """What an update killed before its swap left: its work folder, a partial or stale snapshot."""
    shutil.rmtree(folder / versions.WORK_DIR, ignore_errors=True)
    root = folder / versions.VERSIONS_DIR
    for p in root.glob(".v*.partial") if root.is_dir() else []:
        shutil.rmtree(p, ignore_errors=True)
    stale = versions.snapshots(folder).get(versions.read_history(folder).current)
    if stale is not None:  # a snapshot of the current version from an update killed before its swap
        shutil.rmtree(stale, ignore_errors=True)
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()


def _update(bot: BotFolder, rec: TrainingRecord, old: DatasetFolder, new: DatasetFolder, specs: list[str],
            current: int, force: bool, tolerance: float, config: Any, say: Progress, tracker: str | None,
            eval_posts: int | None, n_predictions: int) -> UpdateResult:
    from . import update_steps as steps

    result = UpdateResult(bot.path, False, current, current, tolerance=tolerance)
    seed = int(new.stats.settings.get("seed", 42))
    work = bot.path / versions.WORK_DIR
    try:
        data = diff(old, new, seed)
        result.new_train = len({(r.get("handle"), r.get("id")) for r in data.new_train})
        result.new_valid, result.replay = len(data.new_valid), len(data.replay)
        if not data.new_train:
            result.reason = _nothing_new(data)
            result.replay = 0
            shutil.rmtree(new.path, ignore_errors=True)
            return result
        work.mkdir()
        from .pipeline import track_preprocess

        # The dataset's new version, logged as the next version of the same artifact (``train-dataset``).
        track_preprocess(new, tracker)
        upd = write_update_set(new, data, work / "data", seed)
        cfg = _update_config(rec, bot.path, config)
        staged = steps.train(bot, upd, cfg, work / "new", current, tracker, say)
        steps.complete_folder(staged, bot, new, rec, data, current + 1)
        say({"stage": "measuring"})
        loaded, result.scores = steps.measure(bot.path, staged, data)
        result.forced = not _within(result, tolerance)
        if result.forced and not force:
            result.reason = _refusal(result, tolerance)
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(new.path, ignore_errors=True)
            return result
        steps.write_history(staged, bot, new, data, result, specs, current)
        steps.finish_card(staged, loaded, new, bot, eval_posts, n_predictions, say)
        del loaded
        say({"stage": "saving"})
        versions.snapshot(bot.path, current)
        versions.swap(bot.path, staged)
        versions.prune(bot.path)
        shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if not result.changed:
            shutil.rmtree(new.path, ignore_errors=True)
        raise
    result.changed, result.version, result.dataset = True, current + 1, new.path
    return result


def _nothing_new(data: UpdateData) -> str:
    if data.new_valid:
        return (f"no new posts to train on ({len(data.new_valid)} new post(s), all on the validation side); "
                f"nothing was changed")
    return "no new posts after cleaning; nothing was changed"


def _within(result: UpdateResult, tolerance: float) -> bool:
    rise = result.rise
    return rise is None or rise <= tolerance


def _refusal(result: UpdateResult, tolerance: float) -> str:
    s = result.scores["old_valid"]
    return (f"the new version was worse on the previous validation posts ({s['before']:.4f} -> "
            f"{s['after']:.4f} bits/char, {result.rise:+.1%}, over the {tolerance:.1%} allowed), so the "
            f"previous version was kept; pass --force to keep the new one anyway, or --tolerance to allow more")


def rollback(folder: str | Path) -> RollbackResult:
    """Put back the bot's previous version, byte for byte (its weights, card, stats and history).

    Raises:
        NoPreviousVersionError: none is kept; UpdateBusyError: an update is running.
    """
    bot = open_bot(folder)
    try:
        with versions.lock(bot.path):
            history = versions.read_history(bot.path)
            current = history.current
            kept = [n for n in versions.snapshots(bot.path) if n < current]
            if not kept:
                raise NoPreviousVersionError(bot_ref(bot.path))
            versions.restore(bot.path, kept[-1])
            entry = next((v for v in history.versions if v.get("version") == current), None)
            removed = _drop_discarded_dataset(bot.path, entry)
            versions.record_rollback(bot.path, current, kept[-1], entry, removed)
    except BlockingIOError:
        raise UpdateBusyError(bot_ref(bot.path)) from None
    return RollbackResult(bot.path, kept[-1], current)


def _drop_discarded_dataset(folder: Path, entry: dict[str, Any] | None) -> str | None:
    """Remove the dataset version that the discarded version was trained on, when ``update`` made it
    (``NAME-vN``, its hash the one recorded) and no version still kept uses it: else the same update run
    again after the rollback would write a second, identical copy beside it. Returns its path, or None."""
    ds = (entry or {}).get("dataset") or {}
    path = Path(str(ds.get("path") or ""))
    if not ds.get("path") or not re.search(r"-v\d+(-\d+)?$", path.name) or not path.is_dir():
        return None
    kept = {str((v.get("dataset") or {}).get("path")) for v in versions.read_history(folder).versions}
    rec = BotFolder(folder).training  # the restored version's own (a bot never updated has no history)
    kept.add(str(rec.dataset.path) if rec else "")
    for snap in versions.snapshots(folder).values():
        kept |= {str((v.get("dataset") or {}).get("path")) for v in versions.read_history(snap).versions}
    try:
        same = DatasetFolder.open(path).hash == ds.get("hash")
    except HuggingTweetsError:
        return None
    if str(path) in kept or not same:
        return None
    shutil.rmtree(path, ignore_errors=True)
    return str(path)


def live_bots() -> list[tuple[Path, list[str]]]:
    """The bots under ``$HUGGINGTWEETS_HOME/bots`` whose recorded sources are all live (``LIVE_SCHEMES``),
    with those sources: what ``update --all`` updates."""
    from .sources import split_spec

    found = []
    root = paths.bots_dir()
    for path in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        try:
            specs = [str(s) for s in BotFolder.open(path).stats.settings.get("sources") or []]
            live = bool(specs) and all(split_spec(s)[0] in LIVE_SCHEMES for s in specs)
        except (ModelFolderError, UsageError):
            continue
        if live:
            found.append((path, specs))
    return found


__all__ = ["DEFAULT_TOLERANCE", "LIVE_SCHEMES", "RollbackResult", "UpdateResult", "live_bots", "rollback",
           "update_bot"]

