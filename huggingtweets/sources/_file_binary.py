"""Files given to ``file:PATH`` that are not text, told by their first bytes (``binary_kind``): a zip,
an image, a compressed file, a database, a Bluesky repository export... each with what to do instead.
"""

from __future__ import annotations

# Leading bytes of files people give by mistake: (what it is, what to do instead).
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a zip archive", "for an account's export use archive:{path}"),
    (b"PK\x05\x06", "an empty zip archive", "export the posts again"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "give the file of posts"),
    (b"\xff\xd8\xff", "a JPEG image", "give the file of posts"),
    (b"GIF8", "a GIF image", "give the file of posts"),
    (b"%PDF", "a PDF document", "export the posts as CSV, JSON or text"),
    (b"\x7fELF", "a program", "give the file of posts"),
    (b"MZ", "a Windows program", "give the file of posts"),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first (gunzip)"),
    (b"BZh", "a bzip2-compressed file", "decompress it first (bunzip2)"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it first (unxz)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "unpack it first"),
    (b"SQLite format 3\x00", "an SQLite database", "export its posts as CSV or JSON first"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office document", "save it as CSV first"),
)


def binary_kind(head: bytes) -> tuple[str, str] | None:
    """(what the file is, what to do) when its first bytes say it is not text, else None.

    An Excel workbook (.xlsx) is a zip: it gets its own advice. A repository export of Bluesky
    (a CAR file) is recognised by its header and sent to archive:.
    """
    for magic, what, hint in _MAGIC:
        if head.startswith(magic):
            if magic.startswith(b"PK") and b"xl/" in head[:4096]:
                return "an Excel workbook", "save it as CSV first (File > Save As > CSV UTF-8)"
            return what, hint
    if b"\xa2eroots" in head[:16]:  # CAR v1: a varint, then the DAG-CBOR map {"roots": ..., "version": 1}
        return "a CAR file (a Bluesky repository export)", "read it with archive:{path}"
    return None
