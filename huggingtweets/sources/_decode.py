"""From a file's bytes to text, decided line by line, and what was repaired on the way.

A file of posts is rarely in one encoding from start to end: rows pasted from elsewhere, exports
concatenated, one row saved again by a spreadsheet. Deciding once per file turns a UTF-8 file with one
stray Windows-1252 row into mojibake from top to bottom (``café`` -> ``cafÃ©``). Here:

- A byte order mark decides (UTF-8, UTF-16, UTF-32). UTF-16/32 without one is recognised by its NUL bytes.
- Each line that is valid UTF-8 is read as UTF-8; the other lines are read in the encoding that
  charset-normalizer finds for them together (Windows-1252, Shift_JIS, GB18030, ...), Windows-1252
  whenever its ranking cannot tell Western code pages apart, as it cannot on a few lines.
- Text that was encoded twice before it reached the file (``donâ€™t``) is repaired by ftfy, on the lines
  that a byte pattern marks as possibly double-encoded: nothing else goes through ftfy.

``find_decoding(path)`` reads the file once (a clean UTF-8 file), up to three times (a mixed one), and returns
a ``Decoding``: the encoding, the lines read otherwise, the lines repaired, and ``notes()`` that say so.
``open_text(path, decoding)`` then opens the file as text as often as needed, in constant memory: the
plain ``open`` when every line has the same encoding, else a reader that decodes line by line.

    >>> d = find_decoding(Path("posts.csv"))
    >>> d.notes("posts.csv")
    ['posts.csv: lines 7, 19 were not UTF-8; read as Windows-1252; check them']
"""

from __future__ import annotations

import codecs
import collections
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

_CHUNK = 1 << 20
_HEAD = 64 * 1024  # enough to recognise UTF-16/32 without a BOM
_SAMPLE = 256 * 1024  # bytes of non-UTF-8 lines given to charset-normalizer
_SHOWN_LINES = 10  # line numbers listed in a note

CP1252_FALLBACK = "huggingtweets.cp1252-latin1"
"""Error handler for cp1252: its five undefined bytes (0x81 0x8D 0x8F 0x90 0x9D) read as latin-1."""


def _latin1_for_undefined(err: UnicodeError) -> tuple[str, int]:
    # latin-1 maps every byte, so nothing is lost.
    if not isinstance(err, UnicodeDecodeError):
        raise err
    return bytes(err.object[err.start:err.end]).decode("latin-1"), err.end


codecs.register_error(CP1252_FALLBACK, _latin1_for_undefined)

# UTF-8 text that was once read as Windows-1252 or latin-1 and saved as UTF-8 again, as bytes. A UTF-8
# lead byte read as one of Â..ô (C3 82..C3 B4) is followed by as many continuation bytes as it announces
# (1 for Â..ß, 2 for à..ï, 3 for ð..ô), each read as latin-1 (C2 80..C2 BF) or as one of cp1252's
# € ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ. Matches "Ã©" (é), "Ã " (à, its no-break space
# lost), "â€™" (’), "ðŸ˜€" (😀), and not French "été…" or "été\u00a0!". ftfy decides on the lines it marks.
_CONT = (rb"(?:\xc2[\x80-\xbf]|\xe2\x80[\x93-\xba]|\xe2\x82\xac|\xe2\x84\xa2|\xc5[\x92\x93\xa0\xa1\xb8\xbd\xbe]"
         rb"|\xc6\x92|\xcb[\x86\x9c])")
_MOJIBAKE = re.compile(rb"\xc3[\x82-\x9f](?:" + _CONT + rb"| )|\xc3[\xa0-\xaf]" + _CONT + rb"{2}"
                       rb"|\xc3[\xb0-\xb4]" + _CONT + rb"{3}")
_MOJIBAKE_SPAN = 12  # longest match is 2 + 3 * 3 bytes: kept from one chunk to the next

# The five bytes cp1252 leaves undefined, made '?' for ranking single-byte code pages only.
_CP1252_UNDEFINED = bytes.maketrans(b"\x81\x8d\x8f\x90\x9d", b"?????")
_ASCII = bytes(range(0x20, 0x7F)) + b"\t\r\n"
# What Western European text read as cp1252 holds (with ASCII); not þ ð ý ¹ ³ ¾, which are Turkish,
# Polish or Slovak letters read as cp1252.
_WESTERN = frozenset(
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜŸàáâãäåæçèéêëìíîïñòóôõöøùúûüÿßŒœŠšŽž"
    "€£¥¢©®™°±«»¡¿‘’‚“”„–—…•·§¶ªº\u00a0´¨×÷"
    + "".join(map(chr, range(128))))
# The Windows code page of each language that charset-normalizer recognises and cp1252 cannot write.
_CODE_PAGES = {
    **dict.fromkeys(("Czech", "Croatian", "Hungarian", "Polish", "Romanian", "Slovak", "Slovene"), "cp1250"),
    **dict.fromkeys(("Bulgarian", "Kazakh", "Russian", "Serbian", "Ukrainian"), "cp1251"),
    "Greek": "cp1253", "Turkish": "cp1254", "Hebrew": "cp1255", "Arabic": "cp1256", "Farsi": "cp1256",
    "Estonian": "cp1257", "Lithuanian": "cp1257", "Vietnamese": "cp1258",
}
_MULTI_BYTE = ("cp932", "gb18030", "big5", "cp949", "euc_jp")  # tried without unreadable lines
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_LABELS = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE", "utf-32": "UTF-32", "utf-32-le": "UTF-32 LE", "utf-32-be": "UTF-32 BE",
    "cp1250": "Windows-1250", "cp1251": "Windows-1251", "cp1252": "Windows-1252", "cp1253": "Windows-1253",
    "cp1254": "Windows-1254", "cp1255": "Windows-1255", "cp1256": "Windows-1256", "cp1257": "Windows-1257",
    "cp1258": "Windows-1258", "iso8859-1": "Latin-1", "cp932": "Shift_JIS", "shift_jis": "Shift_JIS",
    "euc_jp": "EUC-JP", "iso2022_jp": "ISO-2022-JP", "gb18030": "GB18030", "gbk": "GBK", "gb2312": "GB2312",
    "big5": "Big5", "cp950": "Big5", "cp949": "EUC-KR", "euc_kr": "EUC-KR", "koi8-r": "KOI8-R",
}


def label(encoding: str) -> str:
    """An encoding as people call it: ``"cp1252"`` -> ``"Windows-1252"``, ``"cp932"`` -> ``"Shift_JIS"``."""
    return _LABELS.get(encoding, encoding)


@dataclass
class Decoding:
    """How a file's bytes become text, found by ``find_decoding`` and used by ``open_text``."""

    encoding: str
    """Codec of most of the file, as Python names it: utf-8, utf-8-sig, utf-16, cp1252, cp932, gb18030..."""
    other: str | None = None
    """Codec of the lines in ``other_lines``: the non-UTF-8 lines of a UTF-8 file, or the reverse."""
    other_lines: list[int] = field(default_factory=list)
    """Line numbers (from 1, as editors count them) read with ``other``."""
    mojibake_lines: list[int] = field(default_factory=list)
    """Lines whose double-encoded text (``cafÃ©``) ftfy repaired."""
    replaced_lines: list[int] = field(default_factory=list)
    """Lines with bytes that their encoding cannot read, read as U+FFFD."""
    lines: dict[int, str] = field(default_factory=dict, repr=False)
    """The text of each line listed above, which is not decoded again on reading."""
    newline: bytes = b"\n"
    """What ends a line: ``b"\\r"`` in a file without ``b"\\n"`` (classic Mac, Excel's "CSV (Macintosh)")."""

    @property
    def errors(self) -> str:
        """The error handler of ``encoding`` for its lines: undefined cp1252 bytes as latin-1."""
        return CP1252_FALLBACK if self.encoding == "cp1252" else "replace"

    def describe(self) -> str:
        """``"UTF-8"``, ``"Windows-1252"``, ``"UTF-8, 2 lines Windows-1252"``."""
        if not self.other_lines:
            return label(self.encoding)
        n = len(self.other_lines)
        return f"{label(self.encoding)}, {n:,} line{'s' if n > 1 else ''} {label(self.other or '')}"

    def notes(self, name: str) -> list[str]:
        """What was read otherwise than the file's encoding says, one sentence each, for the user."""
        out = []
        main = "UTF-8" if self.encoding == "utf-8-sig" else label(self.encoding)
        if self.other == "utf-8":
            out.append(f"{name}: {_lines(self.other_lines)} UTF-8 in a {main} file; "
                       f"read as UTF-8; {_check(self.other_lines)}")
        elif self.other_lines:
            out.append(f"{name}: {_lines(self.other_lines)} not {main}; read as "
                       f"{label(self.other or '')}; {_check(self.other_lines)}")
        if self.mojibake_lines:
            n = len(self.mojibake_lines)
            out.append(f"{name}: repaired double-encoded text (mojibake such as 'cafÃ©' for 'café') in "
                       f"{n:,} line{'s' if n > 1 else ''}: {_numbers(self.mojibake_lines)}; "
                       f"{_check(self.mojibake_lines)}")
        if self.replaced_lines:
            enc = self.other if self.other and self.other != "utf-8" else self.encoding
            out.append(f"{name}: {_lines(self.replaced_lines, 'held', 'held')} bytes that are not "
                       f"{label(enc)}; read as '\ufffd'; {_check(self.replaced_lines)}")
        return out


def _numbers(numbers: list[int]) -> str:
    """``"7, 19"``; past ten, ``"7, 19, ... and 1,204 more"``."""
    shown = ", ".join(str(n) for n in numbers[:_SHOWN_LINES])
    more = len(numbers) - _SHOWN_LINES
    return f"{shown} and {more:,} more" if more > 0 else shown


def _lines(numbers: list[int], one: str = "was", many: str = "were") -> str:
    """``"line 7 was"``, ``"lines 7, 19 were"``."""
    if len(numbers) == 1:
        return f"line {numbers[0]} {one}"
    return f"lines {_numbers(numbers)} {many}"


def _check(numbers: list[int]) -> str:
    return "check it" if len(numbers) == 1 else "check them"


# -- finding the encoding -------------------------------------------------------------------------------------


def find_decoding(path: Path) -> Decoding:
    """Read ``path`` and decide how each of its lines becomes text (see the module's docstring).

    Returns:
        A ``Decoding``; ``notes(name)`` says what the user should check. Never raises for content.
    """
    with open(path, "rb") as f:
        head = f.read(_HEAD)
        name = next((enc for bom, enc in _BOMS if head.startswith(bom)), None)
        if name is not None and name != "utf-8-sig":
            return Decoding(name)  # UTF-16/32: read whole by the codec
        if name is None:
            name = "utf-8"
            wide = _wide_encoding(head) if b"\x00" in head else None
            if wide:
                return Decoding(wide)
        f.seek(0)
        if _clean_utf8(f, name):
            return Decoding(name)
        f.seek(0)
        newline = b"\r" if b"\r" in head and b"\n" not in head else b"\n"
        return _by_line(f, name, newline)


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 without a BOM, as charset-normalizer finds it; None for anything else."""
    from charset_normalizer import from_bytes

    best = from_bytes(head[:len(head) - len(head) % 4]).best()
    found = codecs.lookup(best.encoding).name if best else ""
    return found if found.startswith(("utf-16", "utf-32")) else None


def _clean_utf8(f: IO[bytes], name: str) -> bool:
    """True if the whole file is UTF-8 and nothing in it looks double-encoded: the common case, at C speed."""
    decoder = codecs.getincrementaldecoder(name)()
    tail = b""
    try:
        while chunk := f.read(_CHUNK):
            decoder.decode(chunk)
            if _MOJIBAKE.search(tail + chunk):
                return False
            tail = chunk[-_MOJIBAKE_SPAN:]
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _by_line(f: IO[bytes], name: str, newline: bytes) -> Decoding:
    """Sort the lines into UTF-8 and not, repair double-encoded ones, and find the others' encoding."""
    utf8: list[int] = []  # non-ASCII lines that are valid UTF-8
    other: list[int] = []
    fixed: dict[int, str] = {}
    sample: list[bytes] = []
    sampled = 0
    for n, raw in enumerate(_raw_lines(f, newline), 1):
        if raw.isascii():
            continue
        try:
            text = raw.decode(name)
        except UnicodeDecodeError:
            other.append(n)
            if sampled < _SAMPLE:
                sample.append(raw)
                sampled += len(raw)
            continue
        utf8.append(n)
        if _MOJIBAKE.search(raw):
            repaired = _repair(text)
            if repaired != text:
                fixed[n] = repaired
    d = Decoding(name, mojibake_lines=sorted(fixed), lines=dict(fixed), newline=newline)
    if not other:
        return d
    found = _guess(sample)
    if len(other) > len(utf8):
        # Mostly another encoding: its lines are the rule, the UTF-8 lines the exception.
        d.encoding, d.other, d.other_lines = found, ("utf-8" if utf8 else None), utf8
    else:
        d.other, d.other_lines = found, other
    _second_pass(f, d, name, found, set(other), set(d.other_lines))
    return d


def _second_pass(f: IO[bytes], d: Decoding, utf8: str, codec: str, foreign: set[int], keep: set[int]) -> None:
    """Decode the lines that are not UTF-8 (``foreign``) with ``codec``, noting those with bytes it cannot
    read, and keep the text of the exception lines (``keep``) in ``d.lines``."""
    verify = codec != "cp1252"  # cp1252 with its latin-1 fallback reads every byte
    if not keep and not verify:
        return
    f.seek(0)
    for n, raw in enumerate(_raw_lines(f, d.newline), 1):
        if n in foreign:
            if not verify and n not in keep:
                continue
            try:
                text = raw.decode(codec, CP1252_FALLBACK if codec == "cp1252" else "strict")
            except UnicodeDecodeError:
                d.replaced_lines.append(n)
                text = raw.decode(codec, "replace")
        elif n in keep and n not in d.lines:
            text = raw.decode(utf8)  # valid: the first pass decoded it
        else:
            continue
        if n in keep:
            d.lines[n] = text


def _raw_lines(f: IO[bytes], newline: bytes) -> Iterator[bytes]:
    """The file's lines as bytes, each with its ending."""
    if newline == b"\n":
        yield from f
        return
    rest = b""
    while chunk := f.read(_CHUNK):
        *lines, rest = (rest + chunk).split(newline)
        for line in lines:
            yield line + newline
    if rest:
        yield rest


def _guess(lines: list[bytes]) -> str:
    """The encoding of the non-UTF-8 lines: charset-normalizer's, with a prior for Windows-1252.

    On a few lines charset-normalizer cannot tell single-byte code pages apart (``naïve`` is cp1252 as
    much as cp775) and ranks them by noise. cp1252 is what spreadsheets on Windows save, so it wins when
    it reads the text as letters of Western European languages about as well as the best match
    (coherence within 0.05). When it reads other letters (``þ ð ý`` for Turkish ``ş ğ ı``), the code
    page of the language charset-normalizer recognises wins (Turkish: cp1254), else its best match.
    """
    from charset_normalizer import from_bytes
    from charset_normalizer.utils import is_multi_byte_encoding

    sample = b"".join(lines)
    multi = _multi_byte(sample)
    if multi:
        return multi
    # A line cut in the middle of a character (exports that cut text by bytes) makes a multi-byte code
    # page fail the whole sample: ask again without the lines that it cannot read.
    for codec in _MULTI_BYTE:
        readable = [line for line in lines if _reads(line, codec)]
        if len(lines) > len(readable) >= len(lines) / 2:
            multi = _multi_byte(b"".join(readable))
            if multi:
                return multi
    single = [m for m in from_bytes(sample.translate(_CP1252_UNDEFINED))
              if _ascii_compatible(m.encoding) and not is_multi_byte_encoding(m.encoding)]
    if not single:
        return "cp1252"
    best = single[0]
    western = next((m for m in single if "cp1252" in m.could_be_from_charset), None)
    if western is not None and set(sample.decode("cp1252", CP1252_FALLBACK)) <= _WESTERN:
        if western.coherence >= best.coherence - 0.05:
            return "cp1252"
    native = _CODE_PAGES.get(best.language)
    if native and any(native in m.could_be_from_charset for m in single):
        return native
    if western is not None and western.coherence >= best.coherence - 0.01:
        return "cp1252"
    found = codecs.lookup(best.encoding).name
    return "cp1252" if found == "iso8859-1" else found


def _multi_byte(sample: bytes) -> str | None:
    """charset-normalizer's choice if it is a multi-byte (CJK) code page, else None."""
    from charset_normalizer import from_bytes
    from charset_normalizer.utils import is_multi_byte_encoding

    best = next((m for m in from_bytes(sample) if _ascii_compatible(m.encoding)), None)
    return codecs.lookup(best.encoding).name if best and is_multi_byte_encoding(best.encoding) else None


def _reads(line: bytes, codec: str) -> bool:
    try:
        line.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _ascii_compatible(encoding: str) -> bool:
    """Lines split at b"\\n" and ASCII read as ASCII: true of the encodings a file's other lines can be in."""
    try:
        return _ASCII.decode(encoding) == _ASCII.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def _repair(text: str) -> str:
    """ftfy's encoding fixes only (no quote uncurling, no normalisation), line ending kept."""
    import ftfy

    body = text.rstrip("\r\n")
    return ftfy.fix_encoding(body) + text[len(body):]


# -- reading ------------------------------------------------------------------------------------------------


def open_text(path: Path, decoding: Decoding) -> IO[str]:
    """``path`` as text, decoded as ``decoding`` says, with newlines untranslated (as ``newline=""``)."""
    if not decoding.lines:
        return open(path, encoding=decoding.encoding, errors=decoding.errors, newline="")
    return _LineDecoder(path, decoding)


# A "\r" that ends a line on its own (old Mac files), as io's newline="" splits lines.
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


class _LineDecoder(io.TextIOBase):
    """A read-only text file whose listed lines come from ``Decoding.lines``, the rest decoded one by one."""

    def __init__(self, path: Path, decoding: Decoding):
        super().__init__()
        self._raw = open(path, "rb")
        self._decoding = decoding
        self._pending: collections.deque[str] = collections.deque()
        self._lines = self._decode()

    def _decode(self) -> Iterator[str]:
        lines, encoding, errors = self._decoding.lines, self._decoding.encoding, self._decoding.errors
        first = encoding  # utf-8-sig drops its BOM from line 1 only
        body = "utf-8" if encoding == "utf-8-sig" else encoding
        for n, raw in enumerate(_raw_lines(self._raw, self._decoding.newline), 1):
            text = lines.get(n)
            if text is None:
                text = raw.decode(first if n == 1 else body, errors)
            cr = text.find("\r")
            if cr != -1 and cr != len(text) - 2:
                yield from _LINE.findall(text)
            else:
                yield text

    def readable(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        line = self._pending.popleft() if self._pending else next(self._lines, "")
        if size is not None and 0 <= size < len(line):
            self._pending.appendleft(line[size:])
            line = line[:size]
        return line

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def read(self, size: int | None = -1) -> str:
        parts, have = [], 0
        while size is None or size < 0 or have < size:
            line = self.readline()
            if not line:
                break
            parts.append(line)
            have += len(line)
        text = "".join(parts)
        if size is not None and 0 <= size < len(text):
            self._pending.appendleft(text[size:])
            text = text[:size]
        return text

    def close(self) -> None:
        self._raw.close()
        super().close()
