"""Every error a user can meet, each with the fix in its message.

The library raises these and never prints or exits; the CLI turns them into one line on stderr and a
non-zero exit code (a traceback only when ``HUGGINGTWEETS_DEBUG`` is set).
"""

from __future__ import annotations


class HuggingTweetsError(Exception):
    """Base class: ``str(err)`` is a complete one-line message that says what to do next."""

    exit_code = 1


class UsageError(HuggingTweetsError):
    """The command line or API call itself is wrong (a flag, a scheme, a missing option)."""

    exit_code = 2


class UnknownSchemeError(UsageError):
    def __init__(self, value: str, schemes: list[str]):
        self.value = value
        self.schemes = schemes
        valid = ", ".join(f"{s}:" for s in schemes)
        super().__init__(
            f"unknown source {value!r}: write it as SCHEME:VALUE with one of {valid} "
            f"(for example archive:twitter-archive.zip or file:posts.csv)"
        )


class HandleRequiredError(UsageError):
    def __init__(self, source: str):
        self.source = source
        super().__init__(f"{source} does not say whose posts these are: pass --handle NAME")


class InvalidHandleError(UsageError):
    def __init__(self, handle: str):
        self.handle = handle
        super().__init__(
            f"invalid handle {handle!r}: use only letters, digits, '_', '-', '.' and '@' "
            f"(no '/', '\\' or '..'), for example --handle jane_doe"
        )


class SourceError(HuggingTweetsError):
    """A source could not be read (missing file, corrupt archive, wrong format)."""


class SourceNotFoundError(SourceError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"{path}: no such file or folder; check the path")


class ArchiveFormatError(SourceError):
    pass


class ArchiveTooLargeError(SourceError):
    def __init__(self, path: str, member: str, size: int, limit: int):
        self.path, self.member, self.size, self.limit = path, member, size, limit
        super().__init__(
            f"{path}: {member} would unpack to {size:,} bytes, over the {limit:,}-byte limit; "
            f"if the archive is genuine, raise HUGGINGTWEETS_MAX_UNZIP_BYTES"
        )


class FileFormatError(SourceError):
    pass


class NotPostsError(FileFormatError, ArchiveFormatError):
    """The input is not posts at all: an image, a program, a compressed file, binary data, garbled text.

    ``found`` says what it is (``"a PNG image"``), ``expected`` what the scheme reads (``"a file of
    posts"``, ``"an account export"``), ``advice`` what to pass instead.
    """

    def __init__(self, spec: str, found: str, expected: str, advice: str):
        self.spec, self.found, self.expected, self.advice = spec, found, expected, advice
        super().__init__(f"{spec} is {found}, not {expected}: {advice}")


class BarePathError(UnknownSchemeError):
    """A path given without its scheme (``prepare posts.csv``), or where a dataset folder was expected.

    ``found`` says what the path is, ``expected`` how it was given (``"given without a scheme"``, ``"not a
    dataset folder"``), ``suggestion`` the source it probably is (``"archive:posts.zip"``); None when no
    source reads it (an image, a program): then ``advice`` says what to pass instead.
    """

    def __init__(self, value: str, found: str, expected: str, suggestion: str | None, advice: str,
                 schemes: list[str]):
        self.value, self.schemes = value, schemes
        self.found, self.expected, self.suggestion = found, expected, suggestion
        if suggestion:
            message = f"{value} is {found}, {expected}: did you mean `{suggestion}`?"
        else:
            message = f"{value} is {found}, not posts or an account's export: {advice}"
        UsageError.__init__(self, message)


class FetchError(SourceError):
    """A live service refused or failed (network, auth, unknown account, rate limit)."""


class NotEnoughDataError(HuggingTweetsError):
    """Too little text is left after cleaning; the message says which rule dropped how many posts.

    ``counts`` are the account's cleaning counts (``downloaded``, ``retweets``, ``replies``, ``short``,
    ``duplicates``, ``kept``); each rule that dropped posts is named with the flag that changes it.
    """

    # count -> (what the rule is, the flag that changes it)
    RULES = {
        "short": ("as short", "--min-words N"),
        "replies": ("as replies", "leave out --no-replies"),
        "duplicates": ("as duplicates", "--keep-duplicates"),
        "too_long": ("as too long to be posts", None),
        "retweets": ("as retweets", None),
    }

    def __init__(self, handle: str, chars: int, minimum: int, counts: dict[str, int] | None = None):
        self.handle, self.chars, self.minimum = handle, chars, minimum
        self.counts = dict(counts or {})
        dropped = []
        for key, (what, flag) in self.RULES.items():
            n = self.counts.get(key) or 0
            if n:
                dropped.append(f"{n:,} {what}" + (f" ({flag})" if flag else ""))
        downloaded = self.counts.get("downloaded")
        why = ""
        if downloaded is not None:
            why = (f" ({self.counts.get('kept', 0):,} of {downloaded:,} posts kept"
                   + (f"; dropped {', '.join(dropped)}" if dropped else "") + ")")
        if chars == 0:
            head = f"@{handle}: no usable text after cleaning{why}, so there is nothing to train on; "
        else:
            head = (f"@{handle}: only {chars:,} characters of usable text after cleaning{why}, under the "
                    f"{minimum:,} needed to train a bot; ")
        loosen = "relax a rule that dropped posts, " if dropped else ""
        super().__init__(head + f"add more posts (a full archive), {loosen}or pass --min-chars N to lower "
                         f"the threshold" if chars else
                         head + ("add posts, or relax a rule that dropped posts" if dropped else "add posts"))


class DatasetError(HuggingTweetsError):
    """A dataset folder is missing or malformed."""


class BotDatasetError(DatasetError):
    """The dataset a bot was trained on is not where its folder says (gone, or another in its place)."""

    def __init__(self, bot: str, looked: list[str], other: str | None = None, other_hash: str | None = None,
                 trained_hash: str | None = None):
        self.bot, self.looked, self.other = bot, list(looked), other
        self.other_hash, self.trained_hash = other_hash, trained_hash
        if other is not None:
            head = (f"{other} holds another dataset than the one {bot} was trained on ({_short(other_hash)}, "
                    f"not {_short(trained_hash)})")
        elif looked:
            head = f"{bot}: the dataset it was trained on is gone (looked in {', '.join(looked)})"
        else:
            head = f"{bot}: the model folder does not say which dataset it was trained on"
        super().__init__(head + "; pass --dataset DIR, a dataset folder from `huggingtweets prepare`")


def _short(digest: str | None) -> str:
    return (digest or "no hash")[:19]  # "sha256:" and 12 hex digits


class StoreError(HuggingTweetsError):
    pass


class MissingTokenError(UsageError):
    """A live source needs a token that the environment does not hold."""

    def __init__(self, variable: str, message: str):
        self.variable = variable
        super().__init__(message)


class AccountUnavailableError(FetchError):
    """The account cannot be read: unknown, protected, suspended, or opted out of logged-out viewing."""

    def __init__(self, network: str, handle: str, reason: str, message: str):
        self.network, self.handle, self.reason = network, handle, reason
        super().__init__(message)


class HttpStatusError(FetchError):
    """A live service answered with an error status that retrying would not fix."""

    def __init__(self, service: str, status: int, url: str, detail: str, message: str | None = None):
        self.service, self.status, self.url, self.detail = service, status, url, detail
        super().__init__(message or f"{service}: HTTP {status} from {url}"
                         + (f": {detail}" if detail else ""))


class RateLimitError(FetchError):
    """The service's rate limit resets later than we agree to wait."""

    def __init__(self, service: str, wait_s: float, limit_s: float):
        self.service, self.wait_s, self.limit_s = service, wait_s, limit_s
        super().__init__(
            f"{service}: rate limit reached; it resets in {_duration(wait_s)}, over the "
            f"{_duration(limit_s)} wait limit; run the same command again then (what was fetched is "
            f"kept and the fetch continues where it stopped), or raise HUGGINGTWEETS_MAX_RATE_LIMIT_WAIT "
            f"(seconds)"
        )


def _duration(seconds: float) -> str:
    s = max(0, round(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{round(s / 60)} min"
    return f"{s // 3600} h {round(s % 3600 / 60)} min"


class HandleMismatchError(UsageError):
    """``--handle`` names another account than the export it is given with."""

    def __init__(self, source: str, given: str, actual: str):
        self.source, self.given, self.actual = source, given, actual
        super().__init__(
            f"{source} is the archive of @{actual}, not @{given}: drop --handle (the archive says "
            f"whose it is) or pass the archive of @{given}"
        )


class TrainingError(HuggingTweetsError):
    """Training could not start or could not go on."""


class MissingDependencyError(TrainingError):
    def __init__(self, module: str):
        self.module = module
        super().__init__(f"{module} is not installed; training and generation need the train extra: "
                         f"pip install 'huggingtweets[train]'")


class BaseModelError(TrainingError):
    """A base model could not be found or loaded (a folder without weights, an unknown name)."""


class BaseModelUnavailableError(BaseModelError):
    def __init__(self, name: str, embedded: str):
        self.name = name
        super().__init__(
            f"could not get base model {name!r} from the Hugging Face Hub (offline, or no such model); "
            f"leave out --base-model to use the embedded {embedded}, or pass a local folder "
            f"saved with save_pretrained (--base-model ./my-model)"
        )


class LoraTargetError(TrainingError):
    def __init__(self, model_type: str, found: list[str]):
        self.model_type, self.found = model_type, found
        super().__init__(
            f"--lora found no linear layers to adapt in this {model_type} model (module types found: "
            f"{', '.join(found) or 'none'}); train it without --lora"
        )


class CheckpointError(TrainingError):
    """No checkpoint to resume from, or one made with other settings."""


class TrainingDataError(TrainingError):
    """The dataset has too little text for the chosen settings."""


class TrainingDivergedError(TrainingError):
    def __init__(self, step: int, loss: float, checkpoint: str | None):
        self.step, self.loss, self.checkpoint = step, loss, checkpoint
        kept = (f"the last good checkpoint is kept in {checkpoint}" if checkpoint
                else "no checkpoint had been saved yet")
        super().__init__(f"training loss became {loss} at step {step}: train again with a lower learning "
                         f"rate (--lr) or --precision fp32; {kept}")


class TrainingInterrupted(TrainingError):
    exit_code = 130

    def __init__(self, step: int, checkpoint: str | None):
        self.step, self.checkpoint = step, checkpoint
        where = (f"checkpoint saved in {checkpoint}; run the same command with --resume to continue"
                 if checkpoint else "nothing was saved")
        super().__init__(f"training interrupted at step {step}; {where}")


class ModelFolderError(HuggingTweetsError):
    """A trained model folder is missing or incomplete."""


class FolderExistsError(UsageError):
    """``prepare``, ``train`` or ``run`` was pointed with ``-o`` at a dataset or bot that already exists."""

    def __init__(self, path: str, what: str):
        self.path, self.what = path, what
        super().__init__(f"{path} already holds a {what}: pass --overwrite to replace it, or another folder "
                         f"with -o")


class AmbiguousNameError(UsageError):
    """A name matches several bots (or accounts): the message lists them."""

    def __init__(self, name: str, what: str, candidates: list[str]):
        self.name, self.what, self.candidates = name, what, list(candidates)
        super().__init__(f"{name!r} names {len(candidates)} {what}s: pass one of {', '.join(candidates)}")


class UnknownAccountError(UsageError):
    def __init__(self, spec: str):
        self.spec = spec
        super().__init__(f"no stored account matches {spec!r}: write it as NETWORK:HANDLE (or HANDLE); "
                         f"`huggingtweets list accounts` shows them")


class NotManagedError(UsageError):
    """A delete was asked for a folder that the bot or dataset contract does not recognise."""

    def __init__(self, path: str, what: str, why: str):
        self.path, self.what = path, what
        super().__init__(f"{path} is not a {what} folder ({why}), so it is not deleted; delete it yourself "
                         f"if you are sure")


class ConfirmationNeededError(UsageError):
    def __init__(self) -> None:
        super().__init__("nothing deleted: the input is not a terminal, so the deletion cannot be confirmed; "
                         "pass --yes to delete without asking")


class GenerationError(HuggingTweetsError):
    """A generation worker of the web app could not load the model, or stopped."""


class TrackerError(HuggingTweetsError):
    """Experiment tracking cannot start (the tracker's package is missing)."""


class HubError(HuggingTweetsError):
    """The Hugging Face Hub refused or failed a request (publishing, deleting)."""


class HubAuthError(HubError):
    def __init__(self, message: str | None = None):
        super().__init__(message or "no Hugging Face token found: run `hf auth login`, or set HF_TOKEN to a "
                                    "token with write access (https://huggingface.co/settings/tokens)")


class InvalidRepoIdError(UsageError):
    def __init__(self, repo_id: str, why: str):
        self.repo_id = repo_id
        super().__init__(f"invalid repo id {repo_id!r}: {why}; write it as NAMESPACE/NAME, for example "
                         f"--repo-id jane/jane-bot (letters, digits, '-', '_', '.')")


class StoreFullError(StoreError):
    """The disk (or quota) under the post store is full; the page being written was rolled back."""

    def __init__(self, path: str, held: str, needed: str):
        self.path, self.held, self.needed = path, held, needed
        folder = str(path).rsplit("/", 1)[0] or "/"
        super().__init__(
            f"no space left to write the post store {path}: the last page was not saved, the {held} already "
            f"stored is kept; free at least {needed} on the disk of {folder}, or set HUGGINGTWEETS_HOME to a "
            f"folder on a disk with more room (move {folder} there to keep its posts), then run the same "
            f"command again")


class StoreWriteError(StoreError):
    """The post store cannot be written (read-only file system, I/O error); nothing was half-written."""

    def __init__(self, path: str, why: str, page: bool = True):
        self.path, self.why = path, why
        lost = "the last page was not saved (what was stored before is kept)" if page else "nothing was saved"
        super().__init__(
            f"cannot write the post store {path}: {why}; {lost}: set HUGGINGTWEETS_HOME to a writable folder "
            f"with free space, then run the same command again")


class StoreBusyError(StoreError):
    """Another process held the post store's write lock for longer than the wait allowed."""

    def __init__(self, path: str, waited: float):
        self.path, self.waited = path, waited
        super().__init__(
            f"another huggingtweets process is using the post store {path} (waited {waited:.0f} s): find it "
            f"with `fuser {path}` or `lsof {path}`, and try again when it ends (HUGGINGTWEETS_STORE_WAIT=SECONDS "
            f"waits longer)")


class HomeWarning(UserWarning):
    """Something optional under HUGGINGTWEETS_HOME (the avatar cache) could not be written; work goes on."""


class PromptTooLongError(UsageError):
    """The prompt is longer, in tokens, than the bot takes (``Bot.prompt_limit``)."""

    def __init__(self, tokens: int, limit: int, why: str):
        self.tokens, self.limit = tokens, limit
        super().__init__(f"the prompt is {tokens:,} tokens long; this bot takes at most {limit:,} ({why}): "
                         f"shorten the prompt")


class DuplicateColumnError(FileFormatError):
    """A table's header names one column twice, so which one holds the posts is ambiguous."""

    def __init__(self, path: str, column: str):
        self.path, self.column = path, column
        super().__init__(f"{path}: the header names the column {column!r} twice; rename one of them, or pass "
                         f"--text-column NAME with a column named once")


class UpdateError(HuggingTweetsError):
    """``huggingtweets update`` cannot update this bot as asked (``huggingtweets.update``)."""


class SourceGoneError(UpdateError):
    """A source the bot was made from can no longer be read (file moved, account deleted or protected)."""

    def __init__(self, bot: str, source: str, why: str):
        self.bot, self.source = bot, source
        scheme = source.split(":", 1)[0] if ":" in source else "archive"
        new = "archive:NEW-PATH" if scheme in ("archive", "file") else f"{scheme}:NEW-ACCOUNT"
        super().__init__(f"{bot}: its source {source} is gone ({why}); pass where its posts are now: "
                         f"`huggingtweets update {bot} {new}`")


class OtherAccountError(UpdateError):
    """A source given to ``update`` holds another account's posts than the bot's."""

    exit_code = 2

    def __init__(self, bot: str, source: str, found: str, expected: str):
        self.bot, self.source, self.found, self.expected = bot, source, found, expected
        super().__init__(f"{source} holds the posts of {found}, not of the bot's {expected}: pass {bot}'s own "
                         f"source, or add --allow-other-account to train the bot on them anyway")


class BaseModelChangedError(UpdateError):
    """The bot's base model is no longer the one installed: its weights would not continue that model."""

    def __init__(self, bot: str, recorded: str, now: str):
        self.bot, self.recorded, self.now = bot, recorded, now
        super().__init__(f"{bot} was trained on the base model {recorded}, but that base model is now {now}: an "
                         f"update continues the bot's weights, which belong to the first; reinstall the "
                         f"version it was trained on, or train a new bot with `huggingtweets train SOURCE`")


class NoPreviousVersionError(UpdateError):
    exit_code = 2

    def __init__(self, bot: str):
        self.bot = bot
        super().__init__(f"{bot} has no previous version to roll back to (none is kept under its versions/ "
                         f"folder); nothing was changed")


class UpdateBusyError(UpdateError):
    def __init__(self, bot: str):
        self.bot = bot
        super().__init__(f"{bot} is being updated by another huggingtweets process; try again when it ends")


class QueueError(HuggingTweetsError):
    """The distributed job queue (Redis + RQ) cannot be reached or used: ``app --queue``, ``worker``."""


class NoWorkerError(QueueError):
    """No ``huggingtweets worker`` took a job of the web app's queue in time (``app --queue``)."""

    def __init__(self, kind: str, seconds: float, url: str):
        self.kind, self.seconds = kind, seconds
        super().__init__(f"no worker took the {kind} job within {seconds:g} s: start `huggingtweets worker "
                         f"--queue {url}` (with {kind} among its --jobs)")


class QueueFullError(UsageError):
    """A visitor already has as many jobs queued or running as the app allows, or the queue is full."""
