"""Where posts come from. ``open_source("archive:x.zip")`` picks the source by its scheme."""

from __future__ import annotations

import importlib
import os
import re
from ..errors import BarePathError, UnknownSchemeError
from ._suggest import guess, suggest_spec
from .base import KINDS, Page, Post, Profile, Source, SourceOptions, bot_name, check_handle

# scheme -> "module:Class". Imported on use, so that one source's dependencies never slow another.
REGISTRY: dict[str, str] = {
    "archive": "huggingtweets.sources.archive:ArchiveSource",
    "file": "huggingtweets.sources.files:FileSource",
    "x": "huggingtweets.sources.x_api:XSource",
    "mastodon": "huggingtweets.sources.mastodon:MastodonSource",
    "bsky": "huggingtweets.sources.bluesky:BlueskySource",
}


def schemes() -> list[str]:
    return sorted(REGISTRY)


# Profile URLs pasted from a browser name their network themselves.
_URL_SCHEMES = (
    (re.compile(r"^https?://(?:www\.)?bsky\.app/profile/[^/\s]+/?$"), "bsky"),
    (re.compile(r"^https?://(?:www\.|mobile\.)?(?:x|twitter)\.com/\w{1,15}/?$"), "x"),
    (re.compile(r"^https?://[^/\s]+/@[^/\s]+/?$"), "mastodon"),
)


def split_spec(spec: str) -> tuple[str, str]:
    """``"archive:a.zip"`` -> ``("archive", "a.zip")``; raise with the valid schemes otherwise.

    Shorthands: ``@handle`` is X, ``@user@server`` is Mastodon, and a profile URL names its network.

    Raises:
        BarePathError: ``spec`` is a path without its scheme (``posts.csv``): the message says what is
            there and which source it probably is (``did you mean `file:posts.csv`?``).
        UnknownSchemeError: anything else without a known scheme.
    """
    for pattern, scheme in _URL_SCHEMES:
        if pattern.match(spec):
            return scheme, spec
    if spec.startswith("@") and ":" not in spec:
        return ("mastodon", spec) if "@" in spec[1:] else ("x", spec[1:])
    scheme, sep, value = spec.partition(":")
    if not sep or scheme.lower() not in REGISTRY or not value:
        raise bare_path_error(spec, "given without a scheme") or UnknownSchemeError(spec, schemes())
    return scheme.lower(), value


def bare_path_error(value: str, expected: str) -> BarePathError | None:
    """The error for ``value``, a path given where a source or a dataset folder was expected: what the path
    is and the source it probably is (``_suggest.guess``). ``expected`` says how it was given (``"given
    without a scheme"``, ``"not a dataset folder"``). None when nothing there explains the mistake (no such
    path, a folder that is no export)."""
    g = guess(value)
    if g is None:
        return None
    return BarePathError(value, g.found, expected, f"{g.scheme}:{value}" if g.scheme else None, g.advice,
                         schemes())


LOCAL_SCHEMES = ("archive", "file")
"""Sources that are paths on this machine."""


def absolute_spec(spec: str) -> str:
    """``spec`` as it is recorded in a dataset: a local path made absolute (``archive:x.zip`` ->
    ``archive:/home/me/x.zip``), so that ``huggingtweets update`` opens it again from any working folder;
    any other source as given."""
    try:
        scheme, value = split_spec(spec)
    except (BarePathError, UnknownSchemeError):
        return spec
    if scheme not in LOCAL_SCHEMES or value == spec:
        return spec
    return f"{scheme}:{os.path.abspath(os.path.expanduser(value))}"


def open_source(spec: str, options: SourceOptions | None = None) -> Source:
    """Build the source for ``spec`` (``"archive:x.zip"``, ``"file:posts.csv"``, ...)."""
    scheme, value = split_spec(spec)
    module_name, _, cls_name = REGISTRY[scheme].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls.from_spec(value, spec=spec, options=options or SourceOptions())


__all__ = [
    "KINDS", "LOCAL_SCHEMES", "Page", "Post", "Profile", "Source", "SourceOptions", "REGISTRY", "absolute_spec",
    "bare_path_error", "bot_name",
    "check_handle", "open_source", "schemes", "split_spec", "suggest_spec",
]
