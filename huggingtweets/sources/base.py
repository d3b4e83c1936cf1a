"""What every source gives: a profile and pages of posts, behind one small Protocol.

A source is chosen by the scheme the user types (``archive:PATH``, ``file:PATH``, ``x:HANDLE`` ...).
Adding one is one new module with a class that has ``scheme``, ``network``, ``profile()`` and
``pages()``, plus one line in ``huggingtweets/sources/__init__.py``.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Iterable, Iterator, Literal, MutableMapping, Protocol, runtime_checkable

from ..errors import InvalidHandleError

PostKind = Literal["original", "retweet", "reply", "quote"]
KINDS: tuple[str, ...] = ("original", "retweet", "reply", "quote")


@dataclass(slots=True)
class Post:
    """One post as the source had it, before any cleaning.

    ``text`` is plain text (HTML entities decoded where the format escapes them, short links expanded
    where the format says where they lead). ``kind`` is ``original``, ``retweet`` (a boost or repost),
    ``reply`` (to someone else; a reply to oneself is a thread and counts as ``original``) or ``quote``.
    ``created_at`` is ISO 8601 in UTC (``2022-07-27T15:19:52Z``) when the source gives a date, else None.
    ``versions`` lists the ids of every version of an edited post (X keeps one post per version), so
    that a dataset keeps only the newest stored version even across several imports.
    ``mentions`` lists the mentions exactly as they appear in ``text`` (``@fern.example.com``) where
    the source marks them (Bluesky mention facets); cleaning removes or replaces these whole, and
    finds the others by the network's handle pattern.
    """

    id: str
    text: str
    kind: PostKind = "original"
    created_at: str | None = None
    in_reply_to: str | None = None
    lang: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    versions: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()


@dataclass
class Profile:
    """Who wrote the posts: enough for the model card and the preview image."""

    handle: str
    name: str | None = None
    avatar_url: str | None = None
    avatar_path: str | None = None  # a local image (from an archive), when there is one
    account_id: str | None = None
    url: str | None = None  # the account's page on its network
    extra: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    """Counts the source cannot tell (``"retweets"``, ``"replies"``): its format carries no sign of
    them, so the counts table says "unknown" and ``--no-replies`` says it could not drop any."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Page = list[Post]


@dataclass
class SourceOptions:
    """Settings that sources read; each source uses the ones that concern it."""

    handle: str | None = None
    """Whose posts these are, for files that do not say (``--handle``)."""
    text_column: str | None = None
    """The column or key holding the text in a CSV/JSON file (``--text-column``); detected if None."""
    fetch_retweets: bool = True
    """Live sources: download retweets/boosts so they can be counted (False saves a paid quota)."""
    content_warnings: bool = True
    """Mastodon: keep posts behind a content warning (``--skip-content-warnings`` drops them)."""


@runtime_checkable
class Source(Protocol):
    """A place posts come from.

    ``network`` names the service the post ids belong to (``x``, ``mastodon``, ``bsky``, ``file``):
    the store keys posts by (network, account, post id), so an X archive and the X API share ids.
    ``pages(state)`` yields lists of posts; the store saves each page together with ``state`` (a
    mapping the source may update, such as a pagination cursor or a since-id), so an interrupted fetch
    loses nothing and the next one can continue where it stopped.
    """

    scheme: ClassVar[str]
    network: ClassVar[str]
    spec: str  # what the user typed, for messages

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "Source": ...

    def profile(self) -> Profile: ...

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]: ...


# Letters, digits and the punctuation that handles on X, Mastodon (user@server) and Bluesky
# (name.bsky.social) use; no path separators, so a handle can name a folder safely.
_HANDLE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,253}$")


def check_handle(handle: str) -> str:
    """Return ``handle`` without a leading '@' if it is safe to use in a file name, else raise."""
    h = handle.strip()
    if h.startswith("@"):
        h = h[1:]
    if not _HANDLE_RE.match(h) or ".." in h:
        raise InvalidHandleError(handle)
    return h


def bot_name(handles: list[str]) -> str:
    """The original's naming: handles lower-cased, sorted, joined by '-'."""
    return "-".join(sorted(h.lower() for h in handles))


FILE_PAGE_SIZE = 5_000  # posts per store transaction for sources read from a file


def paged(posts: Iterable[Post], size: int = FILE_PAGE_SIZE) -> Iterator[Page]:
    """Group posts into pages of at most ``size`` (what the store saves in one transaction)."""
    page: Page = []
    for post in posts:
        page.append(post)
        if len(page) >= size:
            yield page
            page = []
    if page:
        yield page


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large import parses, converts and stores posts.

    A 200,000-post archive is millions of small dicts and lists that live until the import ends; the
    collector would rescan them again and again (a third of the import time) without finding garbage,
    since parsed JSON and posts make no reference cycles. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
