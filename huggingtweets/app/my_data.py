"""A visitor's own data: "Download the model" (a zip of what may be published) and "Delete my data".

The zip holds the files ``publish`` would upload (``bot_folder.publishable_files``: the weights, the
tokenizer, the card, its preview and the JSON records, never posts, checkpoints or the copy index) in a
folder named after the bot, so that the card's ``pipeline(model="./NAME")`` loads it. It is streamed as
it is written, never held whole in memory. The JSON records go through ``redact.scrub`` and lose the
session's folder (a path that names the visitor's login secret), as the card does.

Deleting stops the session's work (a queued or running training run, its warm generation process) and
removes its whole folder: uploads, the post store, datasets, models and job logs, plus the offline W&B
runs its models recorded. Runs already sent to W&B, and repositories published to the Hub, stay there.
"""

from __future__ import annotations

import json
import shutil
import time
import zipfile
from pathlib import Path
from typing import Iterator

from ..bot_folder import CARD_FILE, SCRUBBED, TRACKING_FILE, publishable_files
from ..errors import UsageError
from . import jobs as jobs_mod
from .card_page import hide_session
from .sessions import Session, safe_filename

CHUNK = 1 << 20  # bytes read and sent at a time
STORED = (".safetensors", ".bin", ".png", ".jpg", ".jpeg", ".model")
"""Files already compressed (or weights, which barely compress): stored, not deflated, to save time."""


class _Sink:
    """A write-only stream that ``zipfile`` fills and the response empties, chunk by chunk."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def public_text(path: Path, session: Session) -> bytes:
    """A card or JSON record of the model as it leaves the machine: no secret, no session folder."""
    text = path.read_text(encoding="utf-8")
    if path.name in SCRUBBED:
        from ..redact import scrub

        text = json.dumps(scrub(json.loads(text)), indent=2, ensure_ascii=False) + "\n"
        home = str(Path.home())
        text = hide_session(text, session)
        if len(home) > 1:
            text = text.replace(home, "~")
        return text.encode("utf-8")
    return hide_session(text, session).encode("utf-8")


def zip_name(folder: Path) -> str:
    return safe_filename(f"huggingtweets-{folder.name}.zip", "huggingtweets-bot.zip")


def zip_chunks(folder: Path, session: Session) -> Iterator[bytes]:
    """The zip of the model folder's publishable files, under ``NAME/``, as chunks of bytes."""
    files, _ = publishable_files(folder)
    sink = _Sink()
    root = safe_filename(folder.name, "bot")
    with zipfile.ZipFile(sink, "w") as zf:
        for path in files:
            name = f"{root}/{path.name}"
            if path.name == CARD_FILE or path.name in SCRUBBED:
                zf.writestr(name, public_text(path, session), zipfile.ZIP_DEFLATED)
                yield sink.take()
                continue
            size = path.stat().st_size
            method = zipfile.ZIP_STORED if path.suffix in STORED else zipfile.ZIP_DEFLATED
            info = zipfile.ZipInfo.from_file(path, name)
            info.compress_type = method
            # The size is unknown to a stream that cannot seek back: zip64 from the start past 1 GiB.
            with open(path, "rb") as src, zf.open(info, "w", force_zip64=size > 1 << 30) as dest:
                while chunk := src.read(CHUNK):
                    dest.write(chunk)
                    yield sink.take()
    yield sink.take()


# --- delete my data --------------------------------------------------------------------------------


def _offline_runs(session: Session) -> list[Path]:
    """The local W&B run folders that the session's models recorded (in each ``tracking.json``)."""
    from ..tracking import wandb_dir

    root = wandb_dir().resolve()
    found = []
    for record in session.folder.glob(f"*/*/{TRACKING_FILE}"):
        try:
            runs = json.loads(record.read_text(encoding="utf-8")).get("runs") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for run in runs.values() if isinstance(runs, dict) else []:
            where = run.get("dir") if isinstance(run, dict) else None
            if isinstance(where, str) and where:
                path = Path(where).resolve()
                if path.is_dir() and path.is_relative_to(root) and path != root:
                    found.append(path)
    return found


def stop_work(app, session: Session, wait_s: float = 90.0) -> None:
    """Stop the session's training run (waiting for it to end) and its generation processes.

    Raises:
        UsageError: a download is running, or the training run did not stop within ``wait_s``.
    """
    with session.lock:
        downloading = session.live.get("receiving") or (
            (session.data.get("prepare") or {}).get("status") == "running" and "progress" in session.live)
        job = session.live.get("job")
    if downloading:
        raise UsageError("a download is running: wait for it to finish, then delete your data")
    if job is not None and job.status not in jobs_mod.FINISHED:
        app.queue.cancel(job)
        deadline = time.monotonic() + wait_s
        while job.status not in jobs_mod.FINISHED:
            if time.monotonic() > deadline:
                raise UsageError("the training run did not stop in time: try again in a minute")
            time.sleep(0.1)
    if session.bots.is_dir():
        for folder in session.bots.iterdir():
            app.generators.forget(folder)


def delete(app, session: Session) -> None:
    """Delete everything of the session (see the module's docstring); its cookie then names nothing."""
    stop_work(app, session)
    runs = _offline_runs(session)
    app.sessions.delete(session)
    for run in runs:
        shutil.rmtree(run, ignore_errors=True)
