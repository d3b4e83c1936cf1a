"""Experiment tracking with Weights & Biases: one run per step, as the original did.

A *preprocess* run logs the raw posts (artifact ``raw-dataset``) and the dataset folder
(``train-dataset``); a *train* run logs the full resolved configuration, the metrics, the pretrained model
(``pretrained-model``: a reference for a Hub model, the file for a local one), the fine-tuned model
(``finetuned-model``) and a table of predictions (Input, Prediction), never one that copies a
training post.

Without a W&B login (no ``WANDB_API_KEY``, no ``api.wandb.ai`` entry in ``~/.netrc``) runs are offline:
written under ``$HUGGINGTWEETS_HOME/wandb`` (or ``$WANDB_DIR``) and uploaded later with ``wandb sync DIR``.
``tracker="none"`` (``--tracker none``) turns tracking off; ``"auto"``, the default, tracks with W&B when
the ``wandb`` package is installed. Each run's id, folder and (online) URL are kept in ``tracking.json``
beside the data or the model, so that the card can link the runs.

Nothing secret reaches a run: configuration keys that name a token, key, secret or password are
redacted, as are the values of such environment variables wherever they appear, and the run captures
neither the console nor the git remote.

    from huggingtweets import tracking
    with tracking.start_train_run(config, output="bots/jane", dataset="datasets/jane") as run:
        run.log_metrics({"loss": 2.1}, step=10)
        run.log_model("bots/jane")
        run.log_predictions("My dream is", ["My dream is to ..."])
"""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import importlib.util
import json
import math
import netrc
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence, runtime_checkable
from urllib.parse import urlsplit

from . import paths
from .bot_folder import TRACKING_FILE
from .dataset.folder import STATS_FILE, DatasetFolder, DatasetStats
from .errors import DatasetError, TrackerError, UsageError
from .redact import REDACTED, is_secret_key, public_paths, scrub, scrub_text, secret_values  # noqa: F401 - also public here

PROJECT = "huggingtweets"
TRACKERS = ("auto", "wandb", "none")
DEFAULT_WANDB_HOST = "https://api.wandb.ai"


def _config_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if hasattr(config, "to_dict"):
        config = config.to_dict()
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping or a dataclass, not {type(config).__name__}")
    return scrub(dict(config))


# --- which tracker -----------------------------------------------------------------------------------


def wandb_logged_in() -> bool:
    """Whether W&B credentials exist: ``WANDB_API_KEY``, or the W&B host's entry in the netrc file."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlsplit(os.environ.get("WANDB_BASE_URL") or DEFAULT_WANDB_HOST).hostname or ""
    candidates = [os.environ["NETRC"]] if os.environ.get("NETRC") else []
    candidates += [str(Path.home() / ".netrc"), str(Path.home() / "_netrc")]
    for path in candidates:
        try:
            auth = netrc.netrc(path).authenticators(host)
        except (OSError, netrc.NetrcParseError):
            continue
        if auth and auth[2]:
            return True
    # `wandb login` may also keep the key in its settings file instead.
    config_dir = Path(os.environ.get("WANDB_CONFIG_DIR") or Path.home() / ".config" / "wandb")
    parser = configparser.ConfigParser()
    try:
        parser.read(config_dir / "settings", encoding="utf-8")
    except (OSError, configparser.Error):
        return False
    return bool(parser.get("default", "api_key", fallback=""))


def wandb_mode() -> str:
    """``online`` or ``offline``: ``WANDB_MODE`` when set, else online only with a W&B login."""
    env = (os.environ.get("WANDB_MODE") or "").lower()
    if env in ("offline", "dryrun"):
        return "offline"
    if env in ("online", "run"):
        return "online"
    return "online" if wandb_logged_in() else "offline"


def resolve_tracker(tracker: str | None = None) -> str:
    """``wandb`` or ``none`` for a ``--tracker`` value (``auto``: W&B when the package is installed).

    Raises:
        UsageError: an unknown tracker name.
        TrackerError: ``wandb`` asked for but not installed.
    """
    name = (tracker or os.environ.get("HUGGINGTWEETS_TRACKER") or "auto").lower()
    if name not in TRACKERS:
        raise UsageError(f"unknown tracker {tracker!r}: use one of {', '.join(TRACKERS)} (--tracker)")
    if name == "none" or (os.environ.get("WANDB_MODE") or "").lower() == "disabled":
        return "none"
    installed = importlib.util.find_spec("wandb") is not None
    if name == "wandb" and not installed:
        raise TrackerError("the wandb package is not installed: pip install wandb, or pass --tracker none")
    return "wandb" if installed else "none"


def wandb_dir() -> Path:
    """The folder under which W&B writes its ``wandb/`` run folders."""
    env = os.environ.get("WANDB_DIR")
    return Path(env).expanduser() if env else paths.home()


# --- trackers ----------------------------------------------------------------------------------------


@runtime_checkable
class Tracker(Protocol):
    """One tracked run. Every method is safe to call when tracking is off (``NoTracker``)."""

    name: str
    """``wandb`` or ``none``."""
    mode: str | None
    """``online``, ``offline``, or None when not tracking."""

    def log_config(self, config: Any) -> None: ...

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None: ...

    def log_summary(self, metrics: Mapping[str, Any]) -> None: ...

    def log_model(self, model: str | Path, kind: str = "finetuned", **metadata: Any) -> None: ...

    def log_predictions(self, prompt: str, predictions: Sequence[str | Mapping[str, Any]]) -> None: ...

    def run_urls(self) -> dict[str, str | None]: ...

    def info(self) -> dict[str, Any]: ...

    def finish(self, failed: bool = False) -> None: ...

    def __enter__(self) -> "Tracker": ...

    def __exit__(self, *exc: Any) -> None: ...


class NoTracker:
    """Tracking turned off: every call does nothing."""

    name = "none"
    mode = None

    def __init__(self, kind: str = "train", carried: Mapping[str, Any] | None = None):
        self.kind = kind
        self.carried = dict(carried or {})

    def log_config(self, config: Any) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        pass

    def log_summary(self, metrics: Mapping[str, Any]) -> None:
        pass

    def log_model(self, model: str | Path, kind: str = "finetuned", **metadata: Any) -> None:
        pass

    def log_predictions(self, prompt: str, predictions: Sequence[str | Mapping[str, Any]]) -> None:
        pass

    def run_urls(self) -> dict[str, str | None]:
        urls: dict[str, str | None] = {"preprocess": None, "train": None}
        for kind, run in self.carried.items():
            if isinstance(run, Mapping) and kind in urls:
                urls[kind] = run.get("url")
        return urls

    def info(self) -> dict[str, Any]:
        return {"tracker": "none", "mode": None, "runs": dict(self.carried)}

    def finish(self, failed: bool = False) -> None:
        pass

    def __enter__(self) -> "NoTracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish(failed=exc[0] is not None)


def _numbers(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float | int]:
    """The numeric leaves of ``metrics`` with ``/``-joined keys; lists (a log history) are left out."""
    out: dict[str, float | int] = {}
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_numbers(v, key + "/"))
        elif isinstance(v, bool):
            out[key] = int(v)
        elif isinstance(v, (int, float)) and (not isinstance(v, float) or math.isfinite(v)):
            out[key] = v
    return out


def _hub_model_url(model_id: str) -> str:
    return f"https://huggingface.co/{model_id}"


class WandbTracker:
    """A W&B run (online or offline)."""

    name = "wandb"

    def __init__(self, kind: str, *, config: Any = None, project: str | None = None, bot: str | None = None,
                 folder: str | Path | None = None, carried: Mapping[str, Any] | None = None,
                 mode: str | None = None):
        import wandb

        self.kind = kind
        self.mode = mode or wandb_mode()
        self.bot = bot
        self.folder = Path(folder) if folder else None  # where tracking.json is written
        self.carried = dict(carried or {})
        self._secrets = secret_values()
        self._last_step = -1
        self._finished = False
        root = wandb_dir()
        root.mkdir(parents=True, exist_ok=True)
        settings = wandb.Settings(silent=True, console="off", disable_git=True, disable_code=True,
                                  save_code=False)
        try:
            self.run = wandb.init(
                project=project or os.environ.get("WANDB_PROJECT") or PROJECT, job_type=kind, name=bot,
                group=bot, tags=["huggingtweets"], config=_config_dict(config), dir=str(root), mode=self.mode,
                reinit="create_new", settings=settings,
            )
        except Exception as e:
            detail = scrub_text(" ".join(str(e).split())[:200], self._secrets)
            raise TrackerError(f"could not start the W&B {kind} run ({type(e).__name__}: {detail}); set "
                               f"WANDB_MODE=offline to track without the network, or pass --tracker none") from None
        self._write_info()

    # What the card and ``wandb sync`` need to find the run again.
    def _run_info(self) -> dict[str, Any]:
        run = self.run
        url = run.url if self.mode == "online" else None
        folder = Path(run.dir).parent if run.dir else None
        return {"id": run.id, "name": run.name, "project": run.project, "url": url,
                "dir": str(folder) if folder else None}

    def info(self) -> dict[str, Any]:
        runs = dict(self.carried)
        runs[self.kind] = self._run_info()
        return {"tracker": "wandb", "mode": self.mode, "runs": runs}

    def _write_info(self) -> None:
        if self.folder is not None and self.folder.is_dir():
            write_tracking_info(self.folder, self.info())

    def run_urls(self) -> dict[str, str | None]:
        runs = self.info()["runs"]
        return {k: (runs.get(k) or {}).get("url") for k in ("preprocess", "train")}

    def log_config(self, config: Any) -> None:
        self.run.config.update(_config_dict(config), allow_val_change=True)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        data = _numbers(metrics)
        if step is None and isinstance(metrics.get("step"), int):
            step = metrics["step"]
        data.pop("step", None)
        if not data:
            return
        # W&B drops a step lower than one already logged; such a record is logged at the current step.
        if step is not None and step >= self._last_step:
            self._last_step = step
            self.run.log(data, step=step)
        else:
            self.run.log(data)

    def log_summary(self, metrics: Mapping[str, Any]) -> None:
        for k, v in _numbers(metrics).items():
            self.run.summary[k] = v

    def log_artifact_files(self, name: str, type: str, files: Iterable[tuple[str, Path]], *,
                           copy: bool = True, metadata: Mapping[str, Any] | None = None) -> None:
        """Log files as one artifact version; ``copy=False`` leaves big files in place until synced."""
        import wandb

        art = wandb.Artifact(name, type=type, metadata=scrub(dict(metadata or {}), self._secrets))
        for arcname, path in files:
            art.add_file(str(path), name=arcname, policy="mutable" if copy else "immutable")
        self.run.log_artifact(art, aliases=self._aliases())

    def _aliases(self) -> list[str]:
        alias = re.sub(r"[^A-Za-z0-9_.-]", "-", self.bot or "")[:128]
        return ["latest", alias] if alias else ["latest"]

    def log_model(self, model: str | Path, kind: str = "finetuned", **metadata: Any) -> None:
        """Log a model as ``finetuned-model`` or ``pretrained-model``.

        ``model`` is a folder (its publishable files are logged), a single file (a GGUF), or a Hub id
        (logged by reference, nothing downloaded or uploaded).
        """
        import wandb

        if kind not in ("finetuned", "pretrained"):
            raise ValueError(f"kind must be 'finetuned' or 'pretrained', not {kind!r}")
        name = f"{kind}-model"
        path = Path(str(model)).expanduser()
        if path.is_dir():
            from .bot_folder import publishable_files

            files, _ = publishable_files(path)
            if not files:
                files = [p for p in sorted(path.iterdir()) if p.is_file()]
            self.log_artifact_files(name, "model", [(p.name, p) for p in files], copy=False, metadata=metadata)
        elif path.is_file():
            self.log_artifact_files(name, "model", [(path.name, path)], copy=False, metadata=metadata)
        else:
            if not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", str(model)):
                raise FileNotFoundError(f"{model}: no such model file or folder, and not a Hub id")
            art = wandb.Artifact(name, type="model", metadata=scrub({"hub_id": str(model), **metadata},
                                                                     self._secrets))
            # checksum=False: a reference is recorded without contacting the Hub.
            art.add_reference(_hub_model_url(str(model)), name=str(model).replace("/", "--"), checksum=False)
            self.run.log_artifact(art, aliases=self._aliases())

    def log_predictions(self, prompt: str, predictions: Sequence[str | Mapping[str, Any]]) -> None:
        """Log the table of posts: strings, or ``generate``'s dicts (those marked ``copy`` are left out)."""
        import wandb

        rows = prediction_rows(prompt, predictions, self._secrets)
        self.run.log({"predictions": wandb.Table(columns=["Input", "Prediction"], data=rows)})

    def finish(self, failed: bool = False) -> None:
        if self._finished:
            return
        self._finished = True
        self._write_info()
        self.run.finish(exit_code=1 if failed else 0)

    def __enter__(self) -> "WandbTracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish(failed=exc[0] is not None)


# --- tracking.json -----------------------------------------------------------------------------------


def prediction_rows(prompt: str, predictions: Sequence[str | Mapping[str, Any]],
                    secrets: Sequence[str] = ()) -> list[list[str]]:
    """The predictions table's rows (Input, Prediction), secrets scrubbed. A post that copies a training
    post (a dict of ``generate`` with ``copy`` true) is never logged: the run may be public."""
    texts = [p if isinstance(p, str) else p.get("text", "") for p in predictions
             if isinstance(p, str) or not p.get("copy")]
    return [[scrub_text(prompt, secrets), scrub_text(t, secrets)] for t in texts if t]


def read_tracking_info(folder: str | Path) -> dict[str, Any]:
    try:
        data = json.loads((Path(folder) / TRACKING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_tracking_info(folder: str | Path, info: Mapping[str, Any]) -> Path:
    path = Path(folder) / TRACKING_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# --- the runs ----------------------------------------------------------------------------------------


def _post_row(post: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(post) and not isinstance(post, type):
        post = dataclasses.asdict(post)
    if not isinstance(post, Mapping):
        return {"text": str(post)}
    # The source's raw payload is left out: it is bulky, and it is the service's format, not the post's.
    return {k: v for k, v in post.items() if k != "raw"}


def _write_raw_posts(path: Path, posts: Iterable[Any], secrets: Sequence[str]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for post in posts:
            f.write(json.dumps(scrub(_post_row(post), secrets), ensure_ascii=False, default=str) + "\n")
            n += 1
    return n


def start_preprocess_run(dataset: str | Path, raw_posts: Iterable[Any] | str | Path | None = None, *,
                         tracker: str | None = None, project: str | None = None,
                         config: Any = None) -> Tracker:
    """Start the preprocess run: log the raw posts and the dataset folder as artifacts.

    Args:
        dataset: the dataset folder (``train.jsonl``, ``valid.jsonl``, ``stats.json``).
        raw_posts: the posts as downloaded, before cleaning: a JSONL file, or an iterable of ``Post``
            objects or mappings (each written as one JSON line, without the source's raw payload).
        tracker: ``auto``, ``wandb`` or ``none``.
        project: the W&B project (default: ``$WANDB_PROJECT``, else ``huggingtweets``).
        config: more settings to record next to the dataset's (secrets are redacted).
    Returns:
        The run, still open: finish it (or use it in a ``with`` block). Its id and URL are written
        to ``tracking.json`` in the dataset folder, where the train run picks them up.
    """
    folder = Path(dataset)
    stats = DatasetFolder.open(folder).stats
    bot = stats.bot
    if resolve_tracker(tracker) == "none":
        return NoTracker("preprocess")
    run_config = {"step": "preprocess", "dataset": _dataset_summary(stats), **_config_dict(config)}
    run = WandbTracker("preprocess", config=run_config, project=project, bot=bot, folder=folder)
    try:
        with tempfile.TemporaryDirectory(prefix="huggingtweets-") as tmp:
            tmp_path = Path(tmp)
            if raw_posts is not None:
                if isinstance(raw_posts, (str, Path)):
                    raw_file = tmp_path / "raw_posts.jsonl"
                    with open(raw_posts, encoding="utf-8") as src:
                        _write_raw_posts(raw_file, (json.loads(line) for line in src if line.strip()),
                                         run._secrets)
                else:
                    raw_file = tmp_path / "raw_posts.jsonl"
                    _write_raw_posts(raw_file, raw_posts, run._secrets)
                # copy=True: W&B stages its own copy, so the temporary file can go.
                run.log_artifact_files("raw-dataset", "dataset", [("raw_posts.jsonl", raw_file)],
                                       metadata={"bot": bot})
            files = _dataset_files(folder, tmp_path, run._secrets)
            run.log_artifact_files("train-dataset", "dataset", files,
                                   metadata={"bot": bot, "hash": stats.hash})
    except BaseException:
        run.finish(failed=True)
        raise
    return run


def start_train_run(config: Any, *, output: str | Path | None = None, dataset: str | Path | None = None,
                    tracker: str | None = None, project: str | None = None,
                    base_model: str | Path | None = None) -> Tracker:
    """Start the train run with the full resolved configuration.

    Args:
        config: the resolved training configuration (a mapping, or an object with ``to_dict()``);
            secrets are redacted before it is recorded.
        output: the model folder; ``tracking.json`` there records this run (and the preprocess run).
        dataset: the dataset folder; its ``tracking.json`` says which preprocess run made it, and on an
            online run it is declared as the run's input artifact.
        tracker: ``auto``, ``wandb`` or ``none``.
        base_model: when given, logged as ``pretrained-model`` (Hub id by reference, a local file or
            folder by its files).
    Returns:
        The run: call ``log_metrics`` during training, then ``log_model``, ``log_predictions`` and
        ``finish`` (or use it in a ``with`` block).
    """
    carried: dict[str, Any] = {}
    stats: DatasetStats | None = None
    if dataset is not None:
        info = read_tracking_info(dataset)
        if isinstance(info.get("runs"), dict) and isinstance(info["runs"].get("preprocess"), dict):
            carried["preprocess"] = info["runs"]["preprocess"]
        with contextlib.suppress(DatasetError):  # training checks the folder and says what is wrong
            stats = DatasetStats.read(Path(dataset) / STATS_FILE)
    out = Path(output) if output else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    if resolve_tracker(tracker) == "none":
        return NoTracker("train", carried)
    run_config = _config_dict(config)
    if stats:
        run_config.setdefault("dataset", _dataset_summary(stats))
    run = WandbTracker("train", config=run_config, project=project, bot=stats.bot if stats else (
        out.name if out else None), folder=out, carried=carried)
    try:
        if dataset is not None and run.mode == "online":
            import wandb

            with tempfile.TemporaryDirectory(prefix="huggingtweets-") as tmp:
                art = wandb.Artifact("train-dataset", type="dataset", metadata={"hash": stats.hash if stats else None})
                for arcname, path in _dataset_files(Path(dataset), Path(tmp), run._secrets):
                    art.add_file(str(path), name=arcname)
                run.run.use_artifact(art)
        if base_model is not None:
            run.log_model(base_model, "pretrained")
    except BaseException:
        run.finish(failed=True)
        raise
    return run


def _dataset_summary(stats: DatasetStats) -> dict[str, Any]:
    keep = ("handle", "network", "downloaded", "retweets", "replies", "short", "duplicates", "too_long", "kept",
            "kept_chars", "train_posts", "valid_posts", "train_rows")
    return {"bot": stats.bot, "hash": stats.hash, "settings": stats.settings,
            "users": [{k: getattr(u, k) for k in keep} for u in stats.users]}


def _dataset_files(folder: Path, tmp: Path, secrets: Sequence[str]) -> list[tuple[str, Path]]:
    """The dataset folder's files for an artifact; ``stats.json`` goes through ``scrub`` first."""
    files = []
    for name in ("train.jsonl", "valid.jsonl"):
        if (folder / name).is_file():
            files.append((name, folder / name))
    if (folder / STATS_FILE).is_file():
        clean = tmp / STATS_FILE
        stats = DatasetStats.read(folder / STATS_FILE).to_dict()
        clean.write_text(public_paths(json.dumps(scrub(stats, secrets), indent=2, ensure_ascii=False)),
                         encoding="utf-8")
        files.append((STATS_FILE, clean))
    return files


def sync_command(info: Mapping[str, Any]) -> str | None:
    """The ``wandb sync`` command that uploads the offline runs in ``info`` (None when all are online)."""
    dirs = [r.get("dir") for r in (info.get("runs") or {}).values()
            if isinstance(r, Mapping) and not r.get("url") and r.get("dir")]
    return "wandb sync " + " ".join(dirs) if dirs and info.get("mode") == "offline" else None


__all__ = [
    "NoTracker", "PROJECT", "TRACKERS", "Tracker", "WandbTracker", "is_secret_key", "read_tracking_info",
    "resolve_tracker", "scrub", "scrub_text", "start_preprocess_run", "start_train_run", "sync_command",
    "wandb_logged_in", "wandb_mode", "write_tracking_info",
]
