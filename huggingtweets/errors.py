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


class FetchError(SourceError):
    """A live service refused or failed (network, auth, unknown account, rate limit)."""


class NotEnoughDataError(HuggingTweetsError):
    def __init__(self, handle: str, chars: int, minimum: int):
        self.handle, self.chars, self.minimum = handle, chars, minimum
        super().__init__(
            f"@{handle}: only {chars:,} characters of usable text after cleaning, under the "
            f"{minimum:,} needed to train a bot; add more posts (a full archive), keep replies, "
            f"or pass --min-chars N to lower the threshold"
        )


class DatasetError(HuggingTweetsError):
    """A dataset folder is missing or malformed."""


class StoreError(HuggingTweetsError):
    pass
