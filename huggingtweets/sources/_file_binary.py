"""Inputs that are not posts: files told by their first bytes (``binary_kind``: an image, a program, a
compressed file, a database, an Office document, a Bluesky repository export...), and text whose posts are
garbled (``garbled``). ``file:``, ``archive:`` and the did-you-mean of a bare path (``_suggest``) use them.
"""

from __future__ import annotations

import unicodedata
from typing import Callable

FILE_ADVICE = ("pass a CSV, TSV, JSON, JSONL or TXT file of posts as file:PATH, or an account's export as "
               "archive:PATH")
"""What to pass instead of something that is not posts, unless its kind has its own advice."""

_USUAL = None  # hint: the usual advice of the scheme (FILE_ADVICE, or the archive's)
_UNCOMPRESS = "decompress it first ({tool} {{path}}) and pass the file it holds"
_OFFICE = "save it as CSV (or plain text) first and pass that"

# Leading bytes of files people give by mistake: (bytes at the start, or a test of the first bytes;
# what it is; what to do instead, or _USUAL). The first that matches wins, so longer magics come first.
_MAGIC: tuple[tuple[bytes | Callable[[bytes], bool], str, str | None], ...] = (
    (b"PK\x03\x04", "a zip archive", "for an account's export use archive:{path}"),
    (b"PK\x05\x06", "an empty zip archive", "export the posts again"),
    (b"PK\x07\x08", "a zip archive split in parts", "join the parts (zip -s 0) and pass the account's export "
                                                    "as archive:PATH"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", _USUAL),
    (b"\xff\xd8\xff", "a JPEG image", _USUAL),
    (lambda h: h[:6] in (b"GIF87a", b"GIF89a"), "a GIF image", _USUAL),
    (lambda h: h[:2] == b"BM" and h[6:10] == b"\0\0\0\0", "a BMP image", _USUAL),  # 4 reserved zero bytes
    (lambda h: h[:4] in (b"II*\0", b"MM\0*"), "a TIFF image", _USUAL),
    (b"\0\0\1\0", "an icon (ICO) image", _USUAL),
    (b"8BPS", "a Photoshop image", _USUAL),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP", "a WebP image", _USUAL),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"WAVE", "a WAV sound file", _USUAL),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"AVI ", "an AVI video", _USUAL),
    (lambda h: h[4:8] == b"ftyp" and h[8:12] in (b"heic", b"heix", b"mif1", b"avif"), "a HEIC/AVIF image",
     _USUAL),
    (lambda h: h[4:8] == b"ftyp" and h[8:11] == b"M4A", "an M4A sound file", _USUAL),
    (lambda h: h[4:8] == b"ftyp", "an MP4 or QuickTime video", _USUAL),
    (b"\x1a\x45\xdf\xa3", "a Matroska or WebM video", _USUAL),
    (lambda h: h[:3] == b"ID3" and h[3:4] in (b"\2", b"\3", b"\4"), "an MP3 sound file", _USUAL),
    (b"OggS", "an Ogg sound or video file", _USUAL),
    (b"fLaC", "a FLAC sound file", _USUAL),
    (b"MThd\0\0\0\x06", "a MIDI file", _USUAL),
    (b"%PDF", "a PDF document", "export the posts as CSV, JSON or text"),
    (b"{\\rtf", "an RTF document", _OFFICE),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office document (.doc, .xls)", _OFFICE),
    (b"\x7fELF", "a program", _USUAL),
    (lambda h: h[:2] == b"MZ" and b"\0" in h[2:64], "a Windows program", _USUAL),
    (lambda h: h[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce"),
     "a macOS program", _USUAL),
    (b"\xca\xfe\xba\xbe", "a compiled program (Java class or macOS)", _USUAL),
    (b"\0asm", "a WebAssembly program", _USUAL),
    (b"\x1f\x8b", "a gzip-compressed file", _UNCOMPRESS.format(tool="gunzip")),
    (lambda h: h[:3] == b"BZh" and h[4:10] == b"1AY&SY", "a bzip2-compressed file",
     _UNCOMPRESS.format(tool="bunzip2")),
    (b"\xfd7zXZ\x00", "an xz-compressed file", _UNCOMPRESS.format(tool="unxz")),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", _UNCOMPRESS.format(tool="unzstd")),
    (b"\x04\x22\x4d\x18", "an LZ4-compressed file", _UNCOMPRESS.format(tool="unlz4")),
    (b"\x1f\x9d", "a compressed (.Z) file", _UNCOMPRESS.format(tool="uncompress")),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "unpack it first and pass what it holds"),
    (b"Rar!\x1a\x07", "a RAR archive", "unpack it first and pass what it holds"),
    (lambda h: h[257:262] == b"ustar", "a tar archive", "unpack it first (tar -xf {path}) and pass what it holds"),
    (b"SQLite format 3\x00", "an SQLite database", "export its posts as CSV or JSON first"),
    (b"PAR1", "a Parquet table", "export its posts as CSV or JSON first (pandas: df.to_csv)"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file", "export its posts as CSV or JSON first"),
    (b"\x93NUMPY", "a NumPy array file", "export its posts as CSV or JSON first"),
    (b"bplist00", "an Apple binary property list", _USUAL),
    (lambda h: h[:4] in (b"wOFF", b"wOF2"), "a web font", _USUAL),
)

# What a zip holds, told by its first member names: (name prefix, what it is, what to do). ODF and EPUB
# files store a "mimetype" member first, uncompressed, so its content follows its name.
_ZIP_KINDS: tuple[tuple[bytes, str, str | None], ...] = (
    (b"xl/", "an Excel workbook", "save it as CSV first (File > Save As > CSV UTF-8)"),
    (b"word/", "a Word document", _OFFICE),
    (b"ppt/", "a PowerPoint presentation", _OFFICE),
    (b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet", "an OpenDocument spreadsheet",
     "save it as CSV first"),
    (b"mimetypeapplication/vnd.oasis.opendocument", "an OpenDocument file", _OFFICE),
    (b"mimetypeapplication/epub+zip", "an EPUB e-book", _USUAL),
    (b"AndroidManifest.xml", "an Android app", _USUAL),
    (b"META-INF/", "a Java archive (JAR)", _USUAL),
)


def _zip_kind(head: bytes) -> tuple[str, str | None] | None:
    """What a zip is, from the names of its first members (local headers, walked while their sizes say
    where the next one starts). Office files name ``[Content_Types].xml`` first and may hide the sizes:
    then their folders (``xl/``...) are looked for anywhere in the first bytes."""
    names, at = [], 0
    while head[at:at + 4] == b"PK\x03\x04" and at + 30 <= len(head):
        flags, size, name_len, extra_len = (int.from_bytes(head[at + i:at + j], "little")
                                            for i, j in ((6, 8), (18, 22), (26, 28), (28, 30)))
        names.append(head[at + 30:at + 30 + name_len + (100 if not names else 0)])  # + the mimetype's content
        if flags & 8:  # sizes follow the data: the next header cannot be found from here
            break
        at += 30 + name_len + extra_len + size
    office = any(n.startswith(b"[Content_Types].xml") for n in names)
    for prefix, what, hint in _ZIP_KINDS:
        if any(n.startswith(prefix) for n in names) or (office and b"/" in prefix and prefix in head[:4096]):
            return what, hint
    return None


def binary_kind(head: bytes) -> tuple[str, str | None] | None:
    """(what the file is, what to do or None for the usual advice) when its first bytes (up to 4 KiB are
    looked at) say it is not text, else None. Hints may hold ``{path}``.

    A zip that is an Office document, an e-book or an app gets its own name and advice. A repository
    export of Bluesky (a CAR file) is recognised by its header and sent to archive:.
    """
    for magic, what, hint in _MAGIC:
        if head.startswith(magic) if isinstance(magic, bytes) else magic(head):
            if what == "a zip archive":
                return _zip_kind(head) or (what, hint)
            return what, hint
    if b"\xa2eroots" in head[:16]:  # CAR v1: a varint, then the DAG-CBOR map {"roots": ..., "version": 1}
        return "a CAR file (a Bluesky repository export)", "read it with archive:{path}"
    return None


def control_share(text: str) -> float:
    """The share of ``text``'s characters that no text holds: control characters other than tab, line
    breaks and form feed (C0, DEL, C1), and U+FFFD, the mark of bytes that could not be decoded."""
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ch == "\ufffd" or (ch not in "\t\n\r\f" and unicodedata.category(ch) == "Cc"))
    return bad / len(text)


GARBLED_POST = 0.10
"""A post is garbled when more than this share of its characters are controls or U+FFFD (``control_share``)
or when ftfy reads it as mojibake (``ftfy.badness.is_bad``: ``"Ã©"``, ``"â€™"``, bytes decoded in the
wrong code page); real posts, in any script and with emoji, are not."""
GARBLED_FILE = 0.30
"""A file is refused when more than this share of the posts looked at are garbled, and at least
``GARBLED_MIN`` of them: a few odd posts in a short file are the author's, not a wrong file."""
GARBLED_MIN = 5
MAX_POST_CHARS = 40_000
"""No platform's post is longer: X's long posts stop at 25,000 characters, Mastodon's default at 500,
Bluesky's at 300. A file whose "posts" are mostly longer is not a file of posts (a 64 MiB line, a book)."""


def too_long(texts: list[str]) -> int:
    """How many of ``texts`` are longer than any post (``MAX_POST_CHARS``)."""
    return sum(1 for t in texts if len(t) > MAX_POST_CHARS)


def garbled(texts: list[str]) -> int:
    """How many of ``texts`` are garbled (see ``GARBLED_POST``)."""
    from ftfy.badness import is_bad

    return sum(1 for t in texts if control_share(t) > GARBLED_POST or is_bad(t))
