"""Errors in web words: the one place that turns the library's errors into what the page says.

The library's messages are written for the command line: they name flags (``pass --handle NAME``),
commands and file paths. The page has fields and buttons instead, and must show no path at all: a
visitor's folder is named by the session id, which is their login cookie. ``web_message`` rewrites each
typed error a visitor can meet; ``web_text`` cleans any other text (a training run's last message, a
library's error): one line, paths cut to their last part, clauses that name a flag or a command left out.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from ..errors import (ArchiveTooLargeError, BaseModelUnavailableError, BotDatasetError, HandleMismatchError,
                      HandleRequiredError, HubAuthError, HuggingTweetsError, InvalidHandleError,
                      InvalidRepoIdError, LoraTargetError, MissingDependencyError, MissingTokenError,
                      ModelFolderError, NoWorkerError, NotEnoughDataError, RateLimitError, SourceNotFoundError,
                      TrainingDivergedError, TrainingInterrupted)

if TYPE_CHECKING:
    from .sessions import Session

# An absolute path (``/a/b/c``, ``~/a``, ``file:/a/b``), not a URL's (``https://x/y``) nor ``and/or``.
_PATH = re.compile(r"(?<![\w.:/~-])(?:(?:archive|file):)?~?/(?:[^\s'\"/]+/)*([^\s'\"/;,)]+)")
_UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{6}-")  # sessions.save_upload's random prefix
# What only makes sense on the command line: a flag, a quoted command, "run the same command".
_CLI = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*|`[^`]*`|\bhuggingtweets [a-z]+\b|the same command")


def _last_part(match: re.Match) -> str:
    name = match.group(1)
    return _UPLOAD_PREFIX.sub("", name) if "/uploads/" in match.group(0) else name


def without_cli(text: str) -> str:
    """``text`` without the clauses (``; ``-separated) that name a flag or a command.

    A clause ``what happened: what to type`` keeps its first part. When every clause names one, the
    flags and commands are cut out of the text instead.

    >>> without_cli("training loss became nan at step 5: pass --lr 1e-4; the checkpoint is kept")
    'training loss became nan at step 5; the checkpoint is kept'
    """
    kept = []
    for clause in text.split("; "):
        if not _CLI.search(clause):
            kept.append(clause)
            continue
        head, sep, _ = clause.partition(": ")
        if sep and not _CLI.search(head):
            kept.append(head)
    return "; ".join(kept) or " ".join(_CLI.sub("", text).split())


def web_text(text: str, session: Session | None = None, secret: str | None = None) -> str:
    """Any message as the page may show it: one line, no secret, no path, no session id, no flag."""
    text = " ".join(str(text).split())
    if secret:
        text = text.replace(secret, "***")
    if session is not None:
        for root in {str(session.folder.resolve()), str(session.folder)}:
            text = text.replace(root + "/", "/").replace(root, "your session")
    text = _PATH.sub(_last_part, text)
    if session is not None:
        text = text.replace(session.id, "***")
    return without_cli(text)


def _name(source: str) -> str:
    """An upload's name as the visitor gave it, from a source (``file:/…/uploads/1a2b3c-posts.csv``)."""
    return web_text(source)


def _not_enough(e: NotEnoughDataError) -> str:
    c = e.counts
    dropped = [f"{c[key]:,} {what}" for key, (what, _) in e.RULES.items() if c.get(key)]
    kept = ""
    if c.get("downloaded") is not None:
        kept = (f" ({c.get('kept', 0):,} of {c['downloaded']:,} posts kept"
                + (f"; dropped {', '.join(dropped)}" if dropped else "") + ")")
    amount = "no usable text" if e.chars == 0 else f"only {e.chars:,} characters of usable text"
    return (f"@{e.handle}: {amount} after cleaning{kept}, under the {e.minimum:,} needed to train a bot; "
            f"add more posts: a full archive, or another account")


def _invalid_repo(e: InvalidRepoIdError) -> str:
    why = str(e).partition(": ")[2].partition("; ")[0] or "not a repository name"
    return (f"invalid repository {e.repo_id!r}: {why}; write it as NAMESPACE/NAME, for example "
            f"jane/jane-bot (letters, digits, '-', '_', '.')")


# Most specific first: the first type the error is an instance of gives its words.
WEB_WORDS: list[tuple[type[HuggingTweetsError], Callable]] = [
    (HandleRequiredError, lambda e: f"{_name(e.source)} does not say whose posts these are: write the "
                                    f"account's handle in the Handle field and press Download again"),
    (HandleMismatchError, lambda e: f"{_name(e.source)} is the archive of @{e.actual}, not @{e.given}: empty "
                                    f"the Handle field (the archive says whose it is) or upload @{e.given}'s"),
    (InvalidHandleError, lambda e: f"invalid handle {e.handle!r}: use only letters, digits, '_', '-', '.' and "
                                   f"'@', for example jane_doe"),
    (NotEnoughDataError, _not_enough),
    (ArchiveTooLargeError, lambda e: f"{_name(e.path)}: {e.member} would unpack to {e.size:,} bytes, over "
                                     f"this app's {e.limit:,}-byte limit"),
    (SourceNotFoundError, lambda e: f"{_name(e.path)} is gone; upload it again"),
    (MissingTokenError, lambda e: f"this app has no {e.variable} to read that network: upload the account's "
                                  f"archive instead (whoever runs the app can set {e.variable})"),
    (RateLimitError, lambda e: f"{e.service}: rate limit reached; it resets in about "
                               f"{max(1, round(e.wait_s / 60))} min: press Download again then (what was "
                               f"fetched is kept)"),
    (BaseModelUnavailableError, lambda e: f"could not get base model {e.name!r} from the Hugging Face Hub "
                                          f"(offline, or no such model): empty the Base model field to use "
                                          f"the app's default, or name a folder on the server"),
    (LoraTargetError, lambda e: f"LoRA found no layers to adapt in this {e.model_type} model: choose a "
                                f"recipe without LoRA"),
    (TrainingDivergedError, lambda e: f"training loss became {e.loss} at step {e.step}: train again with "
                                      f"another recipe or fewer steps"),
    (TrainingInterrupted, lambda e: f"training stopped at step {e.step}; " + (
        "the last checkpoint is kept: press Resume to go on" if e.checkpoint else "nothing was saved")),
    (MissingDependencyError, lambda e: f"this server cannot train: {e.module} is not installed (whoever runs "
                                       f"the app can install the train extra)"),
    (BotDatasetError, lambda e: "the data this model was trained on is gone: download the posts again in "
                                "step 1 and train again"),
    (ModelFolderError, lambda e: "the model's folder is incomplete: train again in step 2"),
    (InvalidRepoIdError, _invalid_repo),
    (NoWorkerError, lambda e: f"no worker of this app took the job within {e.seconds:g} s; whoever runs the app "
                              f"must start one for its queue (the server's log says how)"),
    (HubAuthError, lambda e: "the Hugging Face Hub did not accept the token: paste a token with write access "
                             "(huggingface.co/settings/tokens)"),
]


def web_message(error: BaseException, session: Session | None = None, secret: str | None = None) -> str:
    """What the page says for ``error``: its web words, or its own message made safe by ``web_text``.

    >>> web_message(HandleRequiredError("file:/home/me/.huggingtweets/app/sessions/x/uploads/1a2b3c-a.csv"))[:40]
    'a.csv does not say whose posts these are'

    """
    for kind, words in WEB_WORDS:
        if isinstance(error, kind):
            return web_text(words(error), session, secret)
    return web_text(str(error), session, secret)
