"""Publishing a bot to the Hugging Face Hub, and taking it down again.

``publish`` uploads a trained bot's folder to a model repository in one commit. Only an allow-list of
files goes: the weights, the model and generation configs, the tokenizer, the card (``README.md``), the
preview (``predictions.png``), the accounts' avatars (``avatar-HANDLE.jpg``), ``stats.json``,
``training_config.json`` and ``metrics.json``. Never the posts (``*.jsonl``), checkpoints, optimizer or RNG
state, tokens or the tracker's files. The JSON files are uploaded with secrets redacted and the home folder
written ``~``. The card is rendered again with the repository's id before the upload, so that its "How to
use" and thumbnail point at the repository, and the local card and ``hub.json`` are updated once the
commit is made.

The token comes from ``token=``, else ``HF_TOKEN`` or ``hf auth login`` (``huggingface_hub.get_token``)
and is never printed, logged or written. ``HF_ENDPOINT`` points the client at another Hub.

    from huggingtweets.hub import publish
    result = publish("~/.huggingtweets/bots/jane")          # -> https://huggingface.co/USER/jane
    publish("~/.huggingtweets/bots/jane", dry_run=True).files  # what would be uploaded, no network
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bot_folder import (ALLOW_PATTERNS, CARD_FILE, HUB_FILE, PREVIEW_FILE, SCRUBBED, BotFolder,  # noqa: F401
                         publishable_files, resolve_bot_folder)
from .card.avatars import store_avatars
from .card.card import render_card
from .card.facts import HUB_ENDPOINT, card_data_from_folder
from .errors import HubAuthError, HubError, InvalidRepoIdError

DRY_RUN_NAMESPACE = "USER"
"""The namespace shown by ``--dry-run`` without ``--repo-id``: finding the real one needs the network."""

@dataclass
class UploadFile:
    path_in_repo: str
    local: Path
    size: int


@dataclass
class PublishResult:
    repo_id: str
    """``NAMESPACE/NAME``; with ``dry_run`` and no repo id given, the namespace is ``USER``."""
    files: list[UploadFile]
    skipped: list[str] = field(default_factory=list)
    """Files and folders of the model folder left out (names; folders end with ``/``)."""
    dry_run: bool = False
    private: bool = False
    url: str | None = None
    commit_url: str | None = None


# --- checks ------------------------------------------------------------------------------------------


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is a valid ``NAMESPACE/NAME`` Hub model id, else InvalidRepoIdError.

    The characters, lengths and forms are huggingface_hub's own rules (``validate_repo_id``); on top of
    them the namespace is required, since a bot is published to a user's or an organization's account.
    """
    if not isinstance(repo_id, str) or repo_id.count("/") != 1:
        raise InvalidRepoIdError(str(repo_id), "it needs exactly one '/' between namespace and name")
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as e:
        raise InvalidRepoIdError(repo_id, _validation_reason(str(e), repo_id)) from None
    return repo_id


def _validation_reason(message: str, repo_id: str) -> str:
    """huggingface_hub's reason as one short clause: without the id it quotes, which our message names."""
    reason = " ".join(message.replace(f": '{repo_id}'", "").split()).rstrip(".")
    return reason[:1].lower() + reason[1:] if reason else "the Hub does not allow it"


def repo_name(bot: str) -> str:
    """A Hub repository name from a bot's name (``user@server`` handles have characters it refuses)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", bot)
    name = re.sub(r"-{2,}", "-", re.sub(r"\.{2,}", ".", name)).strip("-._")[:96].strip("-._")
    if name.endswith(".git"):
        name = name[:-4]
    return name or "bot"


def _public_json(path: Path) -> bytes:
    """A JSON file as it may leave the machine: secrets redacted, local paths made public
    (``redact.public_paths``: a web-app visitor's folder left out, the home folder written ``~``)."""
    from .redact import public_paths, scrub

    data = scrub(json.loads(path.read_text(encoding="utf-8")))
    return public_paths(json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# --- the Hub -----------------------------------------------------------------------------------------


def _endpoint(endpoint: str | None) -> str | None:
    # Read at call time: huggingface_hub reads HF_ENDPOINT once, when it is first imported.
    chosen = endpoint or os.environ.get("HF_ENDPOINT")
    return chosen.rstrip("/") if chosen else None


def _token(token: str | None) -> str:
    if token:
        return token
    from huggingface_hub import get_token

    found = get_token()
    if not found:
        raise HubAuthError()
    return found


def _check_online() -> None:
    from huggingface_hub import constants

    offline = getattr(constants, "is_offline_mode", lambda: constants.HF_HUB_OFFLINE)()
    if offline:
        raise HubError("HF_HUB_OFFLINE is set, so nothing can be sent to the Hub: unset it to publish "
                       "(or pass --dry-run to see what would be uploaded)")


def _server_message(response: Any) -> str:
    message = response.headers.get("X-Error-Message") or ""
    if not message:
        try:
            body = response.json()
            message = (body.get("error") or body.get("message") or "") if isinstance(body, dict) else ""
        except Exception:
            message = ""
    return " ".join(str(message).split())[:200]


def _hub_error(e: Exception, action: str, repo_id: str | None = None) -> HubError:
    """One line for a failed Hub request; never includes the token (the client's messages do not)."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    target = f" {repo_id}" if repo_id else ""
    if isinstance(e, RepositoryNotFoundError):
        return HubError(f"{repo_id}: no such model repository on the Hub, or your token cannot access it; "
                        f"check the id (NAMESPACE/NAME)")
    if isinstance(e, HfHubHTTPError) and e.response is not None:
        status = e.response.status_code
        server = _server_message(e.response)
        detail = f": {server}" if server else ""
        if status == 401:
            return HubAuthError("the Hub refused the token (401 Unauthorized): run `hf auth login` again, or "
                                "set HF_TOKEN to a valid token with write access")
        if status == 403:
            ns, _, name = (repo_id or "/").partition("/")
            return HubError(f"the Hub refused to {action}{target} (403 Forbidden{detail}); use a token with "
                            f"write access to {ns!r}, or pass --repo-id YOUR-NAME/{name or 'NAME'}")
        return HubError(f"could not {action}{target}: the Hub answered {status}{detail}")
    if isinstance(e, ValueError) and "metadata" in str(e).lower():
        return HubError(f"the Hub refused the card's metadata: {' '.join(str(e).split())[:300]}")
    return HubError(f"could not {action}{target}: {type(e).__name__}: {' '.join(str(e).split())[:200]}; "
                    f"check the network connection (or HF_ENDPOINT)")


def _api(token: str, endpoint: str | None):
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint, token=token)


def publish(folder: str | Path, repo_id: str | None = None, private: bool = False, dry_run: bool = False,
            token: str | None = None, endpoint: str | None = None,
            commit_message: str | None = None) -> PublishResult:
    """Upload a trained bot to the Hugging Face Hub in one commit.

    Args:
        folder: the bot's folder (or its name under ``$HUGGINGTWEETS_HOME/bots``).
        repo_id: ``NAMESPACE/NAME``; default: your user name and the bot's name.
        private: create the repository private (an existing repository keeps its visibility).
        dry_run: only list what would be uploaded and where; nothing is sent, no token is needed.
        token: a Hub token with write access (default: ``HF_TOKEN``, else the one ``hf auth login`` saved).
        endpoint: another Hub (default: ``HF_ENDPOINT``, else https://huggingface.co).
    Returns:
        The repository, its URL and the files uploaded (or that would be).
    Raises:
        ModelFolderError: the folder is not a trained bot.
        InvalidRepoIdError: ``repo_id`` is not ``NAMESPACE/NAME``.
        HubAuthError: no token, or the Hub refused it.
        HubError: the Hub refused or failed the upload.

    Example:
        >>> publish("bots/jane", repo_id="jane/jane-bot", dry_run=True).files[0].path_in_repo
        'README.md'
    """
    path = resolve_bot_folder(folder)
    if repo_id is not None:
        check_repo_id(repo_id)
    data = card_data_from_folder(path)
    # The accounts' avatars go beside the card (a bot trained before they were copied gets them now).
    data.avatar_files = store_avatars(path, data.accounts)
    files, skipped = _upload_list(path)
    if dry_run:
        target = repo_id or f"{DRY_RUN_NAMESPACE}/{repo_name(data.bot)}"
        return PublishResult(target, files, skipped, dry_run=True, private=private)

    endpoint = _endpoint(endpoint)
    token = _token(token)
    _check_online()
    api = _api(token, endpoint)
    repo_id = _create_repo(api, repo_id, data.bot, private)
    data.repo_id = repo_id
    data.endpoint = (endpoint or HUB_ENDPOINT).rstrip("/")
    data.preview_available = any(u.path_in_repo == PREVIEW_FILE for u in files)
    card = render_card(data).encode("utf-8")
    try:
        info = api.create_commit(repo_id, _commit_operations(files, card), repo_type="model",
                                 commit_message=commit_message or f"Upload {data.bot}, made with huggingtweets")
    except Exception as e:
        raise _hub_error(e, "upload to", repo_id) from None
    url = _remember_publication(path, card, repo_id, data.endpoint, info, private)
    return PublishResult(repo_id, files, skipped, dry_run=False, private=private, url=url,
                         commit_url=getattr(info, "commit_url", None))


def _upload_list(path: Path) -> tuple[list[UploadFile], list[str]]:
    """What ``publish`` uploads from the folder, the card first, and the names it leaves out.

    The card is always published: rendered at upload if training did not write one (its size is then
    0 until it is rendered).
    """
    files, skipped = publishable_files(path)
    uploads = {p.name: UploadFile(p.name, p, p.stat().st_size) for p in files}
    if CARD_FILE not in uploads:
        uploads[CARD_FILE] = UploadFile(CARD_FILE, path / CARD_FILE, 0)
    ordered = sorted(uploads.values(), key=lambda u: (u.path_in_repo != CARD_FILE, u.path_in_repo))
    return ordered, skipped


def _create_repo(api: Any, repo_id: str | None, bot: str, private: bool) -> str:
    """Create the model repository if it is missing; without ``repo_id``, under the token's user name.

    Returns the repository's id. Raises HubError, HubAuthError or InvalidRepoIdError.
    """
    try:
        if repo_id is None:
            user = api.whoami()
            repo_id = check_repo_id(f"{user['name']}/{repo_name(bot)}")
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    except Exception as e:
        if isinstance(e, (HubError, InvalidRepoIdError)):
            raise
        raise _hub_error(e, "create", repo_id) from None
    return repo_id


def _commit_operations(files: list[UploadFile], card: bytes) -> list[Any]:
    """One ``CommitOperationAdd`` a file: the card as rendered for the repository, the JSON files as they
    may leave the machine (``_public_json``), the others from disk. Sets the sizes of those rewritten."""
    from huggingface_hub import CommitOperationAdd

    operations = []
    for u in files:
        if u.path_in_repo == CARD_FILE:
            content: bytes | str = card
            u.size = len(card)
        elif u.path_in_repo in SCRUBBED:
            content = _public_json(u.local)
            u.size = len(content)
        else:
            content = str(u.local)
        operations.append(CommitOperationAdd(path_in_repo=u.path_in_repo, path_or_fileobj=content))
    return operations


def _remember_publication(path: Path, card: bytes, repo_id: str, endpoint: str, info: Any,
                          private: bool) -> str:
    """Once committed, the local card matches the published one and ``hub.json`` says where it went.

    Returns the repository's URL.
    """
    (path / CARD_FILE).write_bytes(card)
    url = f"{endpoint}/{repo_id}"
    (path / HUB_FILE).write_text(json.dumps({"repo_id": repo_id, "endpoint": endpoint, "url": url,
                                             "commit": getattr(info, "oid", None), "private": private},
                                            indent=2) + "\n", encoding="utf-8")
    return url


def unpublish(repo_id: str, token: str | None = None, endpoint: str | None = None,
              folder: str | Path | None = None) -> str:
    """Delete a published bot's repository from the Hub; return the URL it had.

    When ``folder`` is the bot's folder, its ``hub.json`` is removed and its card rendered again
    without the repository.

    Raises:
        InvalidRepoIdError, HubAuthError, HubError (no such repository, or not yours).
    """
    check_repo_id(repo_id)
    endpoint = _endpoint(endpoint)
    token = _token(token)
    _check_online()
    api = _api(token, endpoint)
    try:
        api.delete_repo(repo_id, repo_type="model")
    except Exception as e:
        raise _hub_error(e, "delete", repo_id) from None
    if folder is not None:
        published, _ = BotFolder(Path(folder)).hub_repo
        if published == repo_id:
            (Path(folder) / HUB_FILE).unlink()
            from .card.card import write_card

            write_card(folder)
    return f"{(endpoint or HUB_ENDPOINT).rstrip('/')}/{repo_id}"


def describe_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


__all__ = ["ALLOW_PATTERNS", "PublishResult", "UploadFile", "check_repo_id", "describe_size", "publish",
           "publishable_files", "repo_name", "resolve_bot_folder", "unpublish"]

