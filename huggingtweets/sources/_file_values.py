"""Column names and cell values of ``file:PATH`` inputs: the names looked for, how names are compared
(``norm``), which ids can be trusted (``trusted_id``) and the content id given to rows without one,
null-like cells, and a row's date where a tool writes it in pieces (``row_date``).
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path
from typing import Any, Mapping

from ..errors import FileFormatError
from . import _profiles
from ._dates import NULLS, parse_date
from ._profiles import ALL_TEXT_FIELDS, ToolProfile
from ._profiles import get as _get
from ._profiles import present as _present

# Names of the text column, best first: where an export has both, `full_text` is the untruncated one.
TEXT_COLUMNS = ALL_TEXT_FIELDS
ID_COLUMNS = ("id_str", "id", "tweet_id", "post_id")
DATE_COLUMNS = ("created_at", "date", "datetime", "timestamp", "time", "created", "posted_at", "published")
HANDLE_COLUMNS = tuple(dict.fromkeys(h for p in _profiles.PROFILES for h in p.handles))
NAME_COLUMNS = tuple(dict.fromkeys(h for p in _profiles.PROFILES for h in p.names))
AVATAR_COLUMNS = tuple(dict.fromkeys(h for p in _profiles.PROFILES for h in p.avatars))
LANG_COLUMNS = ("lang", "language")
RETWEET_FLAGS = ("is_retweet", "isretweet", "retweet", "retweeted", "is_retweeted")
REPLY_ID_COLUMNS = ("in_reply_to_status_id_str", "in_reply_to_status_id", "in_reply_to_tweet_id")
REPLY_FLAGS = ("is_reply", "isreply")
_API_RETWEET_FLAGS = tuple(f for f in RETWEET_FLAGS if f != "retweeted")
QUOTE_FLAGS = ("is_quote_status", "is_quote", "isquote")

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_SMALL_FLOAT_ID = re.compile(r"(\d{1,15})\.0*")  # "1234.0": pandas wrote an int column as float
_ID_CHARS = re.compile(r"[A-Za-z0-9_.:@/+=-]{1,128}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
_UTC_OFFSET = re.compile(r"[+-]\d{2}:?\d{2}")


def file_error(path: Path, problem: str) -> FileFormatError:
    """The error for ``problem`` in the file at ``path``, which the message names first."""
    return FileFormatError(f"{path}: {problem}")


def row_date(rec: Mapping[str, Any], tool: ToolProfile) -> str | None:
    """The row's date (``parse_date``), from the first of the tool's date fields that holds one."""
    for key in tool.dates:
        value = _get(rec, key)
        if not _present(value):
            continue
        if key == "date" and isinstance(value, str) and _DAY.fullmatch(value.strip()):
            clock = clean_str(rec.get("time"))  # twint-style separate date and time columns
            if clock and _TIME_OF_DAY.fullmatch(clock):
                value = f"{value.strip()} {clock}"
                offset = clean_str(rec.get(tool.timezone)) if tool.timezone else None
                if offset and _UTC_OFFSET.fullmatch(offset):
                    value += f" {offset}"  # twint writes local time and the offset beside it
        created_at = parse_date(value)
        if not created_at and tool.timezone and isinstance(value, str):
            created_at = local_date(value, clean_str(rec.get(tool.timezone)))
        if created_at:
            return created_at
    return None


def local_date(value: str, offset: str | None) -> str | None:
    """twint's ``2021-02-12 19:57:36 CET``: local time, a zone abbreviation, and the UTC offset in
    its own ``timezone`` column (``+0100``)."""
    if not offset or not _UTC_OFFSET.fullmatch(offset):
        return None
    local = re.sub(r"\s+[A-Za-z]{2,5}$", "", value.strip())
    return parse_date(f"{local} {offset}")


def content_id(text: str, created_at: str | None, occurrence: int = 0) -> str:
    """A stable id for a post without a trustworthy one: 16 hex digits of a hash of text and date."""
    key = f"{text}\0{created_at or ''}" + (f"\0{occurrence}" if occurrence else "")
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def trusted_id(value: Any) -> str | None:
    """The id as a string, or None when it is missing or was mangled on the way (floats, spreadsheets)."""
    if value is None or isinstance(value, (bool, float)):
        return None  # a float that held a 19-digit id has lost its last digits
    s = str(value).strip()
    if s.lower() in NULLS or _SCIENTIFIC.fullmatch(s):
        return None
    m = _SMALL_FLOAT_ID.fullmatch(s)
    if m:
        return m[1]  # exact: floats hold integers of up to 15 digits
    if "." in s and s.replace(".", "", 1).isdigit():
        return None
    # Spreadsheets keep 15 significant digits: a 19-digit id comes back as 15 digits and "0000".
    if s.isdigit() and len(s) >= 16 and s.endswith("0000"):
        return None
    return s if _ID_CHARS.fullmatch(s) else None


@functools.lru_cache(maxsize=4096)
def norm(key: str) -> str:
    """Column names as compared: ``"Tweet Text"`` -> ``"tweet_text"``, ``"isRetweet"`` -> ``"isretweet"``."""
    return re.sub(r"[\s-]+", "_", key.strip().lstrip("\ufeff").lower())


def norm_keys(obj: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        out.setdefault(norm(str(k)), v)
    return out


def has(rec: Mapping[str, Any], path: str) -> bool:
    """True if ``rec`` holds ``path``: a key, or a dotted path into nested objects (``user.username``)."""
    if path in rec:
        return True
    head, dot, rest = path.partition(".")
    node = rec.get(head) if dot else None
    for part in rest.split(".") if dot else ():
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return bool(dot)


def first_key(rec: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in rec), None)


def first_value(rec: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    return next((v for v in (_get(rec, n) for n in names) if _present(v)), None)


def clean_str(value: Any) -> str | None:
    """A cell as a stripped string; None for no value, a null-like string or a nested object."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    s = str(value).strip()
    return None if s.lower() in NULLS else s


def listing(names: Any, limit: int = 20) -> str:
    """Names for a message: ``"a, b, c"``, the first ``limit`` of them and how many more."""
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit]) or "(none)"
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def few(handles: Mapping[str, str], limit: int = 5) -> str:
    """Handles for a message: the first ``limit`` of them, then ``...``."""
    shown = ", ".join(list(handles.values())[:limit])
    return shown + (", ..." if len(handles) > limit else "")


# Tools that name their output after the account: minimaxir's download-tweets-ai-text-gen writes
# `<handle>_tweets.csv` (one `tweets` column, nothing else that says whose posts they are).
_NAMED_BY_TOOL = re.compile(r"^@?(?P<handle>[A-Za-z0-9_]{1,15})_tweets\.(?:csv|tsv|txt|json|jsonl)$", re.I)


def handle_from_file_name(name: str) -> str | None:
    """The account a file is named after by the tool that wrote it (``jane_tweets.csv`` -> ``jane``), or
    ``None``: X handles are 1-15 letters, digits or underscores."""
    m = _NAMED_BY_TOOL.match(name)
    if not m or m.group("handle").lower() in _NOT_HANDLES:
        return None
    return m.group("handle")


# Words that name a file of one's own posts rather than an account ("my_tweets.csv").
_NOT_HANDLES = {"my", "all", "our", "your", "old", "new", "export", "exported", "download", "downloaded",
                "backup", "raw", "clean", "cleaned", "test", "sample", "example", "some", "the", "latest"}
