"""What a path given without its scheme probably is: ``suggest_spec("my-archive.zip") == "archive:my-archive.zip"``.

The likeliest first mistake is ``huggingtweets run my-archive.zip`` or ``prepare posts.csv``: a path where a
source (``SCHEME:VALUE``) or a dataset folder is expected. ``guess`` looks at what is there, as the sources
do (a file's first bytes, the files a folder holds), so the error can say what the path is and which
source reads it, or, for an image or a program, that none does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._file_binary import FILE_ADVICE, binary_kind

_HEAD = 4096
_ARCHIVE_KINDS = ("a zip archive", "a CAR file (a Bluesky repository export)")
_TEXT = {".csv": "a CSV file", ".tsv": "a TSV file", ".json": "a JSON file", ".jsonl": "a JSON Lines file",
         ".ndjson": "a JSON Lines file", ".txt": "a text file"}
_BY_SUFFIX = {**dict.fromkeys(_TEXT, "file"), ".zip": "archive", ".car": "archive", ".js": "archive"}
"""The scheme a path that is not there would be read with, by its suffix."""


@dataclass(frozen=True)
class Guess:
    """What is at a path: ``found`` in words, the ``scheme`` that reads it (None: none does, then
    ``advice`` says what to pass instead)."""

    found: str
    scheme: str | None
    advice: str = FILE_ADVICE


def guess(path: str | Path) -> Guess | None:
    """What is at ``path``; None when nothing is, or a folder that is no account export.

    A zip, a Bluesky CAR, a file of an X archive (``window.YTD.``, ``Grailbird.data``), a Mastodon
    ``outbox.json`` and a folder holding an export's files (``data/``, ``outbox.json``, ``*.car``) are
    ``archive:``; any other text file is ``file:``.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        return _guess_folder(p)
    if not p.is_file():
        return None
    with open(p, "rb") as f:
        head = f.read(_HEAD)
    kind = binary_kind(head)
    if kind:
        what, hint = kind
        if what in _ARCHIVE_KINDS:
            return Guess(what, "archive")
        return Guess(what, None, (hint or FILE_ADVICE).format(path=p))
    if _controls(head):
        return Guess("binary data", None)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"window.YTD.", b"Grailbird.data.")):
        return Guess("a file of an X archive", "archive")
    if text.startswith(b"{") and b"activitystreams" in text:
        return Guess("a Mastodon export's outbox.json", "archive")
    return Guess(_TEXT.get(p.suffix.lower(), "a text file"), "file")


def _controls(head: bytes) -> bool:
    """More than 2% of the bytes are control bytes no text holds (UTF-16/32 text, with its BOM, aside)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    n = sum(1 for b in head if (b < 0x20 and b not in b"\t\n\r\f") or b == 0x7F)
    return n > 8 and n > len(head) // 50


def _guess_folder(p: Path) -> Guess | None:
    from ._container import Container
    from ._grailbird import GRAILBIRD_MARKERS
    from ._mastodon_export import MASTODON_FILES
    from ._x_archive import TWEET_FILES

    c = Container(p, "folder")
    if (c.locate(list(TWEET_FILES + GRAILBIRD_MARKERS + MASTODON_FILES)) or c.glob("*.car")
            or (p / "data").is_dir() or (p.name == "data" and (p / "tweets.js").is_file())):
        return Guess("an account's export folder", "archive")
    return None


def suggest_spec(path: str | Path) -> str | None:
    """The source a path given without its scheme probably is: ``"archive:PATH"`` or ``"file:PATH"``, from
    what is there (``guess``), or from its suffix when nothing is; None when no source reads it.

    Example:
        >>> suggest_spec("twitter-2024.zip")
        'archive:twitter-2024.zip'
    """
    g = guess(path)
    scheme = g.scheme if g else _BY_SUFFIX.get(Path(path).suffix.lower())
    return f"{scheme}:{path}" if scheme else None
