"""The cleaning rules and the per-account counts that the model card shows.

Defaults are the original's: retweets dropped, URLs removed, newlines turned into spaces, runs of
spaces collapsed, and "boring" posts (fewer than 3 words that contain none of ``http``, ``@``, ``#``)
dropped as short, with words counted right in scripts written without spaces (``words.py``). The
original also unescaped ``&amp; &lt; &gt;`` here; now each source decodes what its format escapes,
once, so a post that says ``&lt;`` keeps it. Options cover what
users of such tools ask for; every post lands in exactly one count, so the counts always sum to
``downloaded``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Iterable, Literal

from ..sources._file_binary import MAX_POST_CHARS
from ..sources.base import Post
from .words import count_words, is_boring

__all__ = ["CleanOptions", "Counts", "Cleaned", "clean_posts", "clean_text", "count_words", "is_boring",
           "is_retweet", "remove_urls", "replace_mentions"]

MentionMode = Literal["keep", "strip", "placeholder"]

# Handles as each network writes them after "@". X: letters, digits, "_" (no dots). Mastodon and
# other ActivityPub servers: the user, then "@server" for remote accounts. Bluesky: a domain name
# (name.bsky.social, example.com); a label must end in a letter or digit, so "@bob." ends a sentence.
_DOMAIN = (r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
           r"\.[a-z][a-z0-9-]*[a-z0-9]")  # the last label is a top-level domain: 2+ chars, a letter first
_FEDI = r"\w+(?:[.-]\w+)*(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?"
MENTION_PATTERNS: dict[str, re.Pattern[str]] = {
    "x": re.compile(r"(?<![\w@])@\w+"),
    "mastodon": re.compile(rf"(?<![\w@])@{_FEDI}"),
    "bsky": re.compile(rf"(?<![\w@])@(?:{_DOMAIN}|\w+)"),
}
"""Per network, the pattern of a mention; files and other sources may hold any of them."""
_ANY_MENTION = re.compile(rf"(?<![\w@])@(?:\w+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|{_DOMAIN}|\w+)")

# A URL ends before whitespace, quotes and angle brackets; punctuation that ends a sentence or
# closes a bracket the URL did not open belongs to the text (GitHub's autolink rule).
_URL = re.compile(r"https?://[^\s<>\"\u3000-\u303f\uff01-\uff60]*")
_TRAILING = ".,:;!?'\"*_~\u2026"
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_ALL_SPACE = re.compile(r"\s+")


def _url_end(url: str) -> int:
    """Length of the link at the start of ``url``: trailing punctuation and unmatched closers are text."""
    end = len(url)
    while end:
        ch = url[end - 1]
        if ch in _TRAILING:
            end -= 1
        elif ch in _CLOSERS and url.count(ch, 0, end) > url.count(_CLOSERS[ch], 0, end):
            end -= 1
        else:
            break
    return end


def _drop_url(m: re.Match[str]) -> str:
    url = m.group()
    return url[_url_end(url):]


def remove_urls(text: str) -> str:
    """Remove links, keeping the punctuation and brackets around them.

        >>> remove_urls("(see https://example.com/a_(b)), then")
        '(see ), then'
    """
    return _URL.sub(_drop_url, text) if "http" in text else text


def replace_mentions(text: str, mode: MentionMode, network: str | None = None,
                     known: tuple[str, ...] = ()) -> str:
    """Strip each mention, or write ``@user`` in its place (``placeholder``).

    ``known`` are mentions as the source marked them (Bluesky facets): each is replaced whole.
    The others are found by the network's handle pattern (any network's, for files).
    """
    if mode == "keep" or "@" not in text:
        return text
    repl = "" if mode == "strip" else "@user"
    for mention in sorted(known, key=len, reverse=True):
        if mention in text:
            text = re.sub(rf"(?<![\w@]){re.escape(mention)}(?![\w-]|\.\w)", repl, text)
    pattern = MENTION_PATTERNS.get(network or "", _ANY_MENTION)
    if mode == "placeholder":
        # "@user" written for a known mention must not be matched again (it is one already).
        return pattern.sub(lambda m: m.group() if m.group() == "@user" else repl, text)
    return pattern.sub(repl, text)


@dataclass
class CleanOptions:
    """How posts become training text. Each field is a ``prepare`` flag."""

    replies: bool = True
    """Keep replies to other accounts (``--no-replies`` drops them, counted as ``replies``)."""
    mentions: MentionMode = "keep"
    """@mentions: ``keep``, ``strip`` them, or replace each with ``@user`` (``placeholder``)."""
    newlines: bool = False
    """Keep line breaks inside a post (the original turned them into spaces)."""
    min_words: int = 3
    """Posts with fewer words that contain none of http, @, # are dropped as short."""
    dedupe: bool = True
    """Drop exact duplicates of an already kept text (counted as ``duplicates``)."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Counts:
    """Per-account counts; ``downloaded`` = the sum of the others."""

    downloaded: int = 0
    retweets: int = 0
    replies: int = 0
    short: int = 0
    duplicates: int = 0
    too_long: int = 0
    """Texts longer than any platform's post (``MAX_POST_CHARS``): not posts (a file's stray blob)."""
    kept: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def clean_text(text: str, opts: CleanOptions, network: str | None = None,
               mentions: tuple[str, ...] = ()) -> str:
    """One post's training text. ``text`` is already plain text: each source decoded what its
    format escapes (X's ``&amp;``), once; decoding again here would turn a typed ``&lt;`` into ``<``."""
    text = replace_mentions(text, opts.mentions, network, mentions)
    text = remove_urls(text)
    if opts.newlines:
        text = _NEWLINES.sub("\n", _SPACES.sub(" ", text))
    else:
        text = _ALL_SPACE.sub(" ", text)
    return text.strip()


def is_retweet(post: Post) -> bool:
    # Archives always say retweeted=false: the text prefix is the reliable sign (docs/background.md).
    return post.kind == "retweet" or post.text.startswith("RT @")


@dataclass
class Cleaned:
    texts: list[tuple[str, str]] = field(default_factory=list)  # (post id, clean text)
    counts: Counts = field(default_factory=Counts)


def clean_posts(posts: Iterable[Post], opts: CleanOptions | None = None,
                network: str | None = None) -> Cleaned:
    """Apply the rules to one account's posts; return the kept texts and the counts.

    ``network`` (``x``, ``mastodon``, ``bsky``, ``file``) chooses the handle pattern for mentions.
    """
    opts = opts or CleanOptions()
    out = Cleaned()
    c = out.counts
    seen: set[str] = set()
    for post in posts:
        c.downloaded += 1
        if is_retweet(post):
            c.retweets += 1
            continue
        if post.kind == "reply" and not opts.replies:
            c.replies += 1
            continue
        if len(post.text) > MAX_POST_CHARS:
            c.too_long += 1
            continue
        if is_boring(post.text, opts.min_words):
            c.short += 1
            continue
        text = clean_text(post.text, opts, network, post.mentions)
        if not text or (opts.mentions == "strip" and is_boring(text, opts.min_words)):
            c.short += 1  # nothing left once links (or mentions) are gone
            continue
        if opts.dedupe:
            if text in seen:
                c.duplicates += 1
                continue
            seen.add(text)
        c.kept += 1
        out.texts.append((post.id, text))
    return out
