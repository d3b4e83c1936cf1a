"""Where posts come from. ``open_source("archive:x.zip")`` picks the source by its scheme."""

from __future__ import annotations

import importlib
from ..errors import UnknownSchemeError
from .base import KINDS, Page, Post, Profile, Source, SourceOptions, bot_name, check_handle

# scheme -> "module:Class". Imported on use, so that one source's dependencies never slow another.
REGISTRY: dict[str, str] = {
    "archive": "huggingtweets.sources.archive:ArchiveSource",
    "file": "huggingtweets.sources.files:FileSource",
}


def schemes() -> list[str]:
    return sorted(REGISTRY)


def split_spec(spec: str) -> tuple[str, str]:
    """``"archive:a.zip"`` -> ``("archive", "a.zip")``; raise with the valid schemes otherwise."""
    scheme, sep, value = spec.partition(":")
    if not sep or scheme.lower() not in REGISTRY or not value:
        # A bare "@handle" is shorthand for x:handle once the X source is registered.
        if spec.startswith("@") and "x" in REGISTRY and "@" not in spec[1:]:
            return "x", spec[1:]
        raise UnknownSchemeError(spec, schemes())
    return scheme.lower(), value


def open_source(spec: str, options: SourceOptions | None = None) -> Source:
    """Build the source for ``spec`` (``"archive:x.zip"``, ``"file:posts.csv"``, ...)."""
    scheme, value = split_spec(spec)
    module_name, _, cls_name = REGISTRY[scheme].partition(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls.from_spec(value, spec=spec, options=options or SourceOptions())


__all__ = [
    "KINDS", "Page", "Post", "Profile", "Source", "SourceOptions", "REGISTRY", "bot_name", "check_handle",
    "open_source", "schemes", "split_spec",
]
