"""Posts from a file the user already has: CSV, TSV, JSON, JSONL or plain text (``file:posts.csv``).

The format is sniffed from the content (the extension only breaks ties) and reported by
``FileSource.describe()`` and in ``profile().extra["file"]``. The encoding is decided line by line
(``_decode.py``): UTF-8 where the bytes are UTF-8, else what charset-normalizer finds (usually cp1252,
the encoding of CSVs saved by spreadsheets on Windows); double-encoded text is repaired by ftfy. Lines
read otherwise or repaired are listed in ``profile().extra["notes"]``, which the CLI prints.

Rows are mapped to posts by common column names, matched case-insensitively with spaces and dashes
read as ``_`` (``Tweet Text`` = ``tweet_text``). JSON arrays of X API v1.1 statuses and v2 post objects
are understood, including retweets, replies, quotes and long posts. CSV, JSONL and text files are read
line by line; a JSON document is parsed whole.

A row whose id cannot be trusted (none, or mangled by a spreadsheet to ``1.07991E+18``) gets a content
id, a hash of its text and date, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, MutableMapping

import orjson

from ..errors import FileFormatError, HandleRequiredError, SourceNotFoundError, UsageError
from . import _profiles
from ._decode import Decoding, find_decoding, open_text
from ._profiles import ALL_TEXT_FIELDS, GENERIC, ToolProfile, looks_escaped, x_unescape
from ._profiles import get as _get
from ._profiles import present as _present
from ._profiles import truthy as _truthy
from .base import Page, Post, Profile, SourceOptions, check_handle, paged

PAGE_SIZE = 5_000

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
# Keys under which a JSON object holds its list of posts, best first.
LIST_KEYS = ("data", "tweets", "statuses", "posts", "items", "results", "records")
# Keys that only X API objects (v1.1 statuses, v2 posts) have. Their text is HTML-escaped by the API.
API_KEYS = frozenset({
    "id_str", "full_text", "truncated", "extended_tweet", "retweeted_status", "quoted_status", "entities",
    "in_reply_to_status_id", "in_reply_to_status_id_str", "is_quote_status", "edit_history_tweet_ids",
    "referenced_tweets", "note_tweet", "author_id", "conversation_id", "public_metrics",
})
V2_KEYS = frozenset({"edit_history_tweet_ids", "referenced_tweets", "note_tweet", "author_id", "public_metrics"})

_NULLS = frozenset({"", "null", "none", "nan", "nat", "n/a"})
_DELIMITERS = (",", "\t", ";", "|")
_SAMPLE_CHARS = 64 * 1024

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?[eE][+-]?\d+")
_SMALL_FLOAT_ID = re.compile(r"(\d{1,15})\.0*")  # "1234.0": pandas wrote an int column as float
_ID_CHARS = re.compile(r"[A-Za-z0-9_.:@/+=-]{1,128}")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?")
# X's "Wed Jul 27 15:19:52 +0000 2022", parsed by hand: strptime costs ~10 µs a row on large files.
_X_DATE = re.compile(r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_UTC_OFFSET = re.compile(r"[+-]\d{2}:?\d{2}")
_SLASH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


@dataclass
class FileInfo:
    """What was found in the file, for messages and the profile's ``extra``."""

    name: str
    format: str  # csv, tsv, json, jsonl, txt
    encoding: str  # of most lines, as Python names it: utf-8, utf-8-sig (with a BOM), utf-16, cp1252, cp932 ...
    other_encoding: str | None = None  # of the lines that are not in `encoding` (see the notes), if any
    other_lines: int = 0  # how many lines were read with `other_encoding`
    mojibake_repaired: int = 0  # lines whose double-encoded text ("cafÃ©") was repaired
    delimiter: str | None = None
    text_column: str | None = None  # as the file spells it; None where the X API layout decides
    flavor: str | None = None  # the tool whose layout the file has: "snscrape", "twint", "X API v2" ...
    unknown: list[str] = field(default_factory=list)  # counts the file cannot tell: "replies" ...
    escaped: bool = False  # the text is X's, with & < > escaped once
    columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Accounts:
    """Handles found in the data (lower-cased -> as written), with the first name and avatar of each."""

    handles: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    avatars: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


class FileSource:
    """``file:PATH``: one account's posts in a CSV, TSV, JSON, JSONL or text file.

    Example:
        >>> src = FileSource.from_spec("posts.csv", "file:posts.csv", SourceOptions(handle="jane"))
        >>> src.describe()
        "CSV (UTF-8), text column 'tweet'"
    """

    scheme: ClassVar[str] = "file"
    network: ClassVar[str] = "file"

    def __init__(self, path: Path, spec: str, options: SourceOptions):
        self.path = path
        self.spec = spec
        self.options = options
        self.info: FileInfo
        self._decoding: Decoding  # how each line's bytes become text, and what was repaired
        self._handle = ""
        self._only: str | None = None  # lower-cased handle whose rows are kept, in a file of several
        self._name: str | None = None
        self._avatar: str | None = None
        self._items: list[Any] | None = None  # a parsed JSON document's posts
        self._users: dict[str, dict[str, Any]] = {}  # X API v2 `includes.users`, by user id
        self.tool: ToolProfile = GENERIC  # whose field names the file uses
        self._seen_keys: set[str] = set()  # top-level keys of the records, for what the file can tell
        self._own_id: str | None = None

    # -- building --------------------------------------------------------------------------------

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "FileSource":
        """Open ``value`` (a path), sniff its format, find the text column and whose posts these are.

        Raises:
            SourceNotFoundError: no such path.
            FileFormatError: a folder, an empty file, invalid JSON, no list of posts, no text column.
            HandleRequiredError: the file does not say whose posts these are and no handle was given.
            UsageError: the file holds several accounts' posts and ``--handle`` does not pick one.
        """
        path = Path(value).expanduser()
        if not path.exists():
            raise SourceNotFoundError(value)
        if path.is_dir():
            raise FileFormatError(
                f"{value} is a folder: file: takes one CSV, TSV, JSON, JSONL or TXT file "
                f"(for an X archive folder use archive:{value})")
        src = cls(path, spec, options)
        src._open()
        src._resolve_handle()
        return src

    def _fail(self, problem: str) -> FileFormatError:
        return FileFormatError(f"{self.path}: {problem}")

    def _open(self) -> None:
        with open(self.path, "rb") as f:
            head = f.read(_SAMPLE_CHARS)
        binary = binary_kind(head)
        if binary:
            what, hint = binary
            raise self._fail(f"this is {what}, not a text file of posts; {hint.format(path=self.path)}")
        self._decoding = d = find_decoding(self.path)
        with self._text() as f:
            sample = f.read(_SAMPLE_CHARS)
        stripped = sample.lstrip()
        if not stripped:
            raise self._fail("the file is empty; export the posts again")
        controls = sum(1 for ch in sample if (ch < " " and ch not in "\t\n\r\f") or ch == "\ufffd")
        if controls > max(8, len(sample) // 50):
            # Text has no control characters to speak of: 2% of them is binary data read as text.
            raise self._fail("this is not a text file (it holds binary data); give the CSV, JSON, JSONL "
                             "or TXT file of posts (an archive's zip goes to archive:PATH)")
        if stripped.startswith("window.YTD."):
            raise self._fail("this is a file of an X archive; pass the archive's zip or folder as archive:PATH")
        ext = self.path.suffix.lower()
        self.info = FileInfo(self.path.name, "", d.encoding, d.other, len(d.other_lines), len(d.mojibake_lines))
        if stripped[0] in "[{" and self._try_json(stripped, ext):
            return
        if ext in (".json", ".jsonl", ".ndjson"):
            raise self._fail(f"the file is named {ext} but does not start with '[' or '{{'; "
                             f"check that it is the JSON file you meant")
        delimiter = self._sniff_table(stripped, ext)
        if delimiter is None:
            self.info.format = "txt"
            return
        self.info.format = "tsv" if delimiter == "\t" else "csv"
        self.info.delimiter = delimiter
        self._open_table()

    def _text(self):
        """The file as text, each line decoded as ``find_decoding`` decided, newlines untranslated."""
        return open_text(self.path, self._decoding)

    # -- sniffing ----------------------------------------------------------------------------------

    def _try_json(self, sample: str, ext: str) -> bool:
        """Recognise JSON or JSONL from the first line; load a JSON document. False: not JSON at all."""
        lenient = ext in (".txt", ".csv", ".tsv")  # their extension says otherwise: JSON only if it parses
        first, _, rest = sample.partition("\n")
        first = first.strip()
        first_obj = _loads_or_none(first) if first.startswith("{") else None
        if isinstance(first_obj, dict) and (ext in (".jsonl", ".ndjson") or rest.lstrip().startswith("{")):
            self.info.format = "jsonl"
            posts = _response_posts(first_obj)
            if posts is not None and not posts:
                raise self._fail("line 1 is an API response with no posts in its \"data\"; "
                                 "collect the timeline again")
            self._choose_text_key(posts[0] if posts else first_obj)
            return True
        if ext in (".jsonl", ".ndjson") and first and first_obj is None:
            raise self._fail("line 1 is not a JSON object; a .jsonl file holds one JSON object per line")
        try:
            doc = self._load_json()
        except FileFormatError:
            if lenient:
                return False
            raise
        self.info.format = "json"
        self._items = self._find_posts(doc)
        first_post = next((x for x in self._items if isinstance(x, dict)), None)
        if first_post is not None:
            self._choose_text_key(first_post)
        return True

    def _load_json(self) -> Any:
        with self._text() as f:
            text = f.read()
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        try:  # the standard parser accepts a little more (NaN, huge numbers) and says where it failed
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise self._fail(f"invalid JSON at line {e.lineno}, column {e.colno} ({e.msg}); "
                             f"fix the file there or export it again") from None
        except RecursionError:
            raise self._fail("JSON nested too deeply to read; export the posts as a flat list") from None

    def _find_posts(self, doc: Any) -> list[Any]:
        """The list of posts in a JSON document: the array itself, or a list under a known key."""
        if isinstance(doc, dict) and not any(isinstance(doc.get(k), list) for k in LIST_KEYS):
            keys = _norm_keys(doc)
            if API_KEYS & doc.keys() or _first_key(keys, TEXT_COLUMNS) is not None:
                return [doc]  # a single post (its entities hold lists of objects that are not posts)
        found = _find_list(doc, 0)
        if found is None:
            what = "an empty list" if doc == [] else "no list of posts"
            raise self._fail(f"JSON with {what}; expected an array of posts or an object holding one "
                             f"under \"data\", \"tweets\", \"statuses\", \"posts\" or \"items\"")
        items, holder = found
        if not items:
            raise self._fail("the JSON list of posts is empty; export the posts again")
        if isinstance(holder, dict):
            self._add_users(holder)
        # Archive-style rows {"tweet": {...}} hold the post one level down.
        if all(isinstance(x, dict) and len(x) == 1 and isinstance(x.get("tweet"), dict) for x in items[:10]):
            items = [x["tweet"] if isinstance(x, dict) and isinstance(x.get("tweet"), dict) else x
                     for x in items]
        bad = next((x for x in items if not isinstance(x, (dict, str))), None)
        if bad is not None:
            raise self._fail(f"the JSON list holds {type(bad).__name__} values, not posts; expected "
                             f"objects with a text field (or strings)")
        return items

    def _add_users(self, response: Mapping[str, Any]) -> None:
        """Remember an X API v2 response's expanded authors (``includes.users``) by user id."""
        includes = response.get("includes")
        for user in (includes.get("users") if isinstance(includes, dict) else None) or []:
            if isinstance(user, dict) and user.get("id") is not None:
                self._users.setdefault(str(user["id"]), user)

    def _choose_text_key(self, first: dict[str, Any]) -> None:
        keys = _norm_keys(first)
        self._set_tool(keys)
        named = self.options.text_column
        if named:
            if not _has(keys, _norm(named)):
                raise self._fail(f"no key {named!r} in the posts (keys: {_listing(first)}); "
                                 f"pass --text-column with one of them")
            self.info.text_column = named
            return
        if self.tool in (_profiles.X_API_V1, _profiles.X_API_V2):
            return  # the API's own rules pick the text (long posts, truncated ones)
        key = next((k for k in self.tool.text if _has(keys, k)), None)
        if key is None:
            raise self._fail(f"no text field among the keys {_listing(first)}; "
                             f"pass --text-column NAME to say which one holds the text")
        self.info.text_column = next((k for k in first if _norm(k) == key), key)

    def _set_tool(self, keys: Mapping[str, Any]) -> None:
        self.tool = _profiles.detect(keys)
        self.info.flavor = self.tool.name or None

    def _sniff_table(self, sample: str, ext: str) -> str | None:
        """The delimiter if the file is a table with a text column (or says it is a table), else None."""
        header_line = sample.split("\n", 1)[0].rstrip("\r")
        wanted = {_norm(self.options.text_column)} if self.options.text_column else set(TEXT_COLUMNS)
        order = sorted(_DELIMITERS, key=lambda d: (d != "\t") if ext == ".tsv" else -header_line.count(d))
        best: tuple[int, str] | None = None
        for d in order:
            names = _split_header(header_line, d)
            if wanted & {_norm(n) for n in names} and (best is None or len(names) > best[0]):
                best = (len(names), d)
        if best is not None:
            return best[1]
        if ext in (".csv", ".tsv") or self.options.text_column:
            # A table without a recognised text column: read it as one, so the error lists its columns.
            if ext == ".tsv":
                return "\t"
            counts = {d: header_line.count(d) for d in _DELIMITERS}
            top = max(_DELIMITERS, key=lambda d: counts[d])
            return top if counts[top] else ","
        return None

    def _open_table(self) -> None:
        """Read the header, pick the text column and check that at least one row follows it."""
        with self._text() as f:
            rows = self._reader(f)
            header = next(rows, None)
            if header is None:
                raise self._fail("the file is empty; export the posts again")
            first_row = next(rows, None)
        columns = [h.strip().lstrip("\ufeff") for h in header]
        self.info.columns = columns
        normed = [_norm(c) for c in columns]
        named = self.options.text_column
        if named:
            if _norm(named) not in normed:
                raise self._fail(f"no column {named!r} (columns: {_listing(columns)}); "
                                 f"pass --text-column with one of them")
            self.info.text_column = columns[normed.index(_norm(named))]
            self._set_tool(dict.fromkeys(normed))
        else:
            self._set_tool(dict.fromkeys(normed))
            key = next((k for k in self.tool.text if k in normed), None)
            if key is None:
                raise self._fail(f"no text column among {_listing(columns)}; "
                                 f"pass --text-column NAME to say which one holds the text")
            self.info.text_column = columns[normed.index(key)]
        if first_row is None:
            raise self._fail("the file has column names but no rows; export the posts again")

    def _reader(self, f) -> Iterator[list[str]]:
        """csv rows without blank lines; a broken row raises FileFormatError with its line number."""
        reader = csv.reader(f, delimiter=self.info.delimiter or ",")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                raise self._fail(f"line {reader.line_num}: {e}; look for an unclosed quote there "
                                 f"or save the file again as CSV") from None
            if row and any(cell.strip() for cell in row):
                yield row

    # -- records ---------------------------------------------------------------------------------------

    def _records(self) -> Iterator[tuple[dict[str, Any], Any]]:
        """(record with normalised keys, raw row) for every row or object of the file, in order."""
        fmt = self.info.format
        if fmt in ("csv", "tsv"):
            with self._text() as f:
                rows = self._reader(f)
                header = next(rows)
                columns = [h.strip().lstrip("\ufeff") for h in header]
                normed = [_norm(c) for c in columns]
                for row in rows:
                    raw: dict[str, str] = {}
                    rec: dict[str, Any] = {}
                    for col, key, cell in zip(columns, normed, row):
                        raw.setdefault(col, cell)
                        rec.setdefault(key, cell)
                    yield rec, raw
        elif fmt == "txt":
            with self._text() as f:
                for line in f:
                    line = line.rstrip("\r\n")
                    if line.strip():
                        yield {"text": line}, {"text": line}
        elif fmt == "jsonl":
            with self._text() as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        try:
                            obj = json.loads(line)
                        except json.JSONDecodeError as e:
                            raise self._fail(f"line {n} is not valid JSON ({e.msg} at column {e.colno}); "
                                             f"fix or remove that line") from None
                    if isinstance(obj, str):
                        obj = {"text": obj}
                    if not isinstance(obj, dict):
                        raise self._fail(f"line {n} holds a {type(obj).__name__}, not a JSON object; "
                                         f"a .jsonl file holds one post object per line")
                    posts = _response_posts(obj)
                    if posts is None:
                        yield _norm_keys(obj), obj
                        continue
                    # twarc2: a whole API v2 response per line; its authors are in `includes.users`.
                    self._add_users(obj)
                    for item in posts:
                        yield _norm_keys(item), item
        else:
            for obj in self._items or []:
                if isinstance(obj, str):
                    obj = {"text": obj}
                yield _norm_keys(obj), obj

    # -- whose posts ---------------------------------------------------------------------------------

    def _record_handle(self, rec: Mapping[str, Any]) -> str | None:
        for key in self.tool.handles + HANDLE_COLUMNS:
            h = _clean_str(_get(rec, key))
            if h:
                return h.lstrip("@")
        author = _clean_str(rec.get("author_id"))
        user = self._users.get(author) if author else None
        if user:
            return _clean_str(user.get("username"))
        return None

    def _record_profile(self, rec: Mapping[str, Any]) -> tuple[str | None, str | None]:
        name = next((v for v in (_clean_str(_get(rec, k)) for k in self.tool.names + NAME_COLUMNS) if v), None)
        avatar = next((v for v in (_clean_str(_get(rec, k)) for k in self.tool.avatars + AVATAR_COLUMNS) if v),
                      None)
        author = _clean_str(rec.get("author_id"))
        user = self._users.get(author) if author else None
        if user:
            name = name or _clean_str(user.get("name"))
            avatar = avatar or _clean_str(user.get("profile_image_url"))
        return name, avatar

    def _scan_accounts(self) -> _Accounts:
        found = _Accounts()
        if self.info.format == "txt":
            return found
        if self.info.format in ("csv", "tsv"):
            cols = {_norm(c) for c in self.info.columns}
            self._seen_keys = set(cols)
            useful = HANDLE_COLUMNS + NAME_COLUMNS + AVATAR_COLUMNS if self.options.handle else HANDLE_COLUMNS
            if not cols & set(useful):
                return found  # nothing to learn: skip a pass over the file
        for rec, _ in self._records():
            self._seen_keys.update(rec.keys())
            handle = self._record_handle(rec)
            key = handle.lower() if handle else ""  # "": rows that name no account
            if key not in found.ids:
                uid = next((v for v in (_clean_str(_get(rec, k)) for k in self.tool.user_ids) if v), None)
                if uid:
                    found.ids[key] = uid
            if handle and key not in found.handles:
                found.handles[key] = handle
            if key not in found.names or key not in found.avatars:
                name, avatar = self._record_profile(rec)
                if name:
                    found.names.setdefault(key, name)
                if avatar:
                    found.avatars.setdefault(key, avatar)
        if not found.handles and len(self._users) == 1:
            # v2 page without author_id on the posts: the one expanded user is the author.
            user = next(iter(self._users.values()))
            if _clean_str(user.get("username")):
                key = user["username"].lower()
                found.handles[key] = user["username"]
                for target, field_name in ((found.names, "name"), (found.avatars, "profile_image_url")):
                    if _clean_str(user.get(field_name)):
                        target[key] = user[field_name]
        return found

    def _resolve_handle(self) -> None:
        found = self._scan_accounts()
        given = self.options.handle
        if given:
            handle = check_handle(given)
            key = handle.lower()
            if len(found.handles) > 1:
                if key not in found.handles:
                    raise UsageError(
                        f"{self.path} holds posts of {len(found.handles)} accounts ({_few(found.handles)}), "
                        f"none of them {given!r}: pass --handle with one of them (one file = one account)")
                self._only = key
            data_key = key if key in found.handles else next(iter(found.handles), "")
        else:
            if len(found.handles) > 1:
                raise UsageError(
                    f"{self.path} holds posts of {len(found.handles)} accounts ({_few(found.handles)}): "
                    f"pass --handle NAME to import one of them (one file = one account)")
            if not found.handles:
                raise HandleRequiredError(self.spec)
            data_key = next(iter(found.handles))
            handle = check_handle(found.handles[data_key])
        self._handle = handle
        self._name = found.names.get(data_key)
        self._avatar = found.avatars.get(data_key)
        self._own_id = found.ids.get(data_key)
        self._decide_escaping()
        self.info.unknown = self._unknown_counts()

    def _unknown_counts(self) -> list[str]:
        """The counts this file cannot tell: no field of the tool's signals of that kind is in it.

        Retweets are always recognised by the ``RT @`` prefix as well, so they are "unknown" only
        when the file has no retweet field (the count then holds the prefixed ones only)."""
        if self.info.format == "txt":
            return ["retweets", "replies"]
        seen = {k.split(".", 1)[0] for k in self._seen_keys}
        return [kind for kind in ("retweets", "replies") if not (self.tool.signal_fields(kind) & seen)]

    # -- the Source protocol -------------------------------------------------------------------------

    def describe(self) -> str:
        """What was found, in words: ``"CSV (UTF-8, ',' delimited), text column 'tweet'"``."""
        i = self.info
        enc = self._decoding.describe()  # "UTF-8", "Shift_JIS", "UTF-8, 2 lines Windows-1252"
        fmt = {"csv": "CSV", "tsv": "TSV", "json": "JSON", "jsonl": "JSON Lines", "txt": "plain text"}[i.format]
        if i.format == "csv" and i.delimiter != ",":
            head = f"{fmt} ({enc}, {i.delimiter!r} delimited)"
        else:
            head = f"{fmt} ({enc})"
        if i.format == "txt":
            return f"{head}, one post per line"
        tool = f"{i.flavor} layout, " if i.flavor else ""
        if i.text_column:
            where = "column" if i.format in ("csv", "tsv") else "key"
            return f"{head}, {tool}text {where} {i.text_column!r}"
        if i.flavor:
            return f"{head}, {i.flavor} posts"
        return f"{head}, one post per string"

    def profile(self) -> Profile:
        extra: dict[str, Any] = {"file": {**self.info.to_dict(), "description": self.describe()}}
        notes = self._decoding.notes(self.path.name)  # lines read in another encoding or repaired
        if notes:
            extra["notes"] = notes
        return Profile(handle=self._handle, name=self._name, avatar_url=self._avatar, extra=extra,
                       account_id=self._own_id, unknown=list(self.info.unknown))

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        """The file's posts in pages of up to 5,000, in file order. ``state`` is not needed: ids are stable."""
        yield from paged(self.posts(), PAGE_SIZE)

    def posts(self) -> Iterator[Post]:
        """Every post of the file (of the chosen account, in a file of several)."""
        seen: dict[str, int] = {}  # content id -> times seen, so repeated identical rows stay distinct
        own = self._handle.lower()
        text_key = _norm(self.info.text_column) if self.info.text_column else None
        for rec, raw in self._records():
            if self._only is not None:
                h = self._record_handle(rec)
                if not h or h.lower() != self._only:
                    continue
            post = self._to_post(rec, raw, text_key, own)
            if post is None:
                continue
            if not post.id:
                # An unparsed date still tells two identical texts apart.
                when = post.created_at or _clean_str(_first_value(rec, DATE_COLUMNS))
                base = content_id(post.text, when)
                n = seen.get(base, 0)
                seen[base] = n + 1
                post.id = base if n == 0 else content_id(post.text, when, n)
            yield post

    # -- one row -> one post ---------------------------------------------------------------------------

    def _to_post(self, rec: dict[str, Any], raw: Any, text_key: str | None, own: str) -> Post | None:
        tool = self.tool
        api = tool in (_profiles.X_API_V1, _profiles.X_API_V2) and bool(API_KEYS & rec.keys())
        if text_key is not None:
            text = _get(rec, text_key)
        elif api:
            text = _api_text(rec)
        else:
            text = next((v for v in (_get(rec, k) for k in tool.text) if isinstance(v, str) and v.strip()),
                        None)
            if text is None:
                text = _get(rec, _first_key(rec, TEXT_COLUMNS) or "text")
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str) or not text.strip():
            return None
        if self.info.escaped:
            text = x_unescape(text)

        kind = _profiles.classify(tool, rec, text, own, self._own_id)
        refs = rec.get("referenced_tweets")
        replied = next((r.get("id") for r in refs if isinstance(r, dict) and r.get("type") == "replied_to"),
                       None) if isinstance(refs, list) else None
        reply_ids = [_get(rec, f) for t, f in tool.reply if t == "object" and "user" not in f]
        in_reply_to = next((v for v in map(_trusted_id, reply_ids + [replied]) if v), None)

        created_at = None
        for key in tool.dates:
            value = _get(rec, key)
            if _present(value):
                if key == "date" and isinstance(value, str) and _DAY.fullmatch(value.strip()):
                    clock = _clean_str(rec.get("time"))  # twint-style separate date and time columns
                    if clock and _TIME_OF_DAY.fullmatch(clock):
                        value = f"{value.strip()} {clock}"
                        offset = _clean_str(rec.get(tool.timezone)) if tool.timezone else None
                        if offset and _UTC_OFFSET.fullmatch(offset):
                            value += f" {offset}"  # twint writes local time and the offset beside it
                created_at = parse_date(value)
                if not created_at and tool.timezone and isinstance(value, str):
                    created_at = _local_date(value, _clean_str(rec.get(tool.timezone)))
                if created_at:
                    break

        post_id = next((v for v in (_trusted_id(_get(rec, k)) for k in tool.ids) if v), None)
        lang = next((v for v in (_clean_str(_get(rec, k)) for k in tool.langs) if v), None)
        return Post(id=post_id or "", text=text, kind=kind, created_at=created_at,
                    in_reply_to=in_reply_to, lang=lang, raw=raw if isinstance(raw, dict) else {"text": raw})

    def _decide_escaping(self) -> None:
        """X's text escapes ``& < >`` once; some tools pass it through, others decode it. The tool's
        profile says when it knows; otherwise the file's own texts tell (escaped text never holds a
        raw ``<``, ``>`` or ``&``). Plain text files escape nothing."""
        if self.info.format == "txt":
            self.info.escaped = False
            return
        if self.tool.escaped is not None:
            self.info.escaped = self.tool.escaped
            return
        key = _norm(self.info.text_column) if self.info.text_column else None
        texts = []
        for i, (rec, _) in enumerate(self._records()):
            if i >= 5_000:
                break
            value = _get(rec, key) if key else next(
                (v for v in (_get(rec, k) for k in self.tool.text) if isinstance(v, str)), None)
            if isinstance(value, str):
                texts.append(value)
        verdict = looks_escaped(texts)
        self.info.escaped = bool(self.tool.escaped) if verdict is None else verdict


# -- encoding, values, dates, ids ---------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """The encoding of most of the file's lines: ``utf-8-sig``/``utf-16``/``utf-32`` by BOM, ``utf-8``,
    else what charset-normalizer finds (``cp1252``, ``cp932``, ``gb18030``...). Lines in another encoding
    and repaired lines: ``huggingtweets.sources._decode.find_decoding``."""
    return find_decoding(path).encoding


def parse_date(value: Any) -> str | None:
    """A date in any common format as ISO 8601 UTC (``2022-07-27T15:19:52Z``); None if not a date.

    Understands ``Wed Jul 27 15:19:52 +0000 2022`` (X), ISO 8601 with or without ``Z`` or an offset,
    ``2022-07-27 15:19:52`` (read as UTC), RFC 2822, unambiguous ``d/m/Y`` or ``m/d/Y``, and unix epoch
    seconds or milliseconds. Never raises.
    """
    try:
        dt = _parse_datetime(value)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        dt = dt.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        return None
    if not 1970 <= dt.year <= 9999:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    s = str(value).strip()
    if not s or s.lower() in _NULLS:
        return None
    if _NUMBER.fullmatch(s):
        return _from_epoch(float(s))
    m = _X_DATE.fullmatch(s)
    if m and m[1] in _MONTHS:
        offset = timedelta(hours=int(m[7]), minutes=int(m[8])) * (-1 if m[6] == "-" else 1)
        return datetime(int(m[9]), _MONTHS[m[1]], int(m[2]), int(m[3]), int(m[4]), int(m[5]),
                        tzinfo=timezone(offset))
    iso = s[:-4] if s.endswith(" UTC") else s
    try:
        return datetime.fromisoformat(iso)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S %Z"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    m = _SLASH_DATE.fullmatch(s)
    if m:
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        if a > 12 >= b:
            day, month = a, b
        elif b > 12 >= a:
            day, month = b, a
        else:
            return None  # 03/04/2022: April or March? Better no date than a wrong one.
        return datetime(year, month, day, int(m[4] or 0), int(m[5] or 0), int(m[6] or 0))
    try:
        return parsedate_to_datetime(s)
    except (ValueError, TypeError, IndexError):
        return None


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


def _local_date(value: str, offset: str | None) -> str | None:
    """twint's ``2021-02-12 19:57:36 CET``: local time, a zone abbreviation, and the UTC offset in
    its own ``timezone`` column (``+0100``)."""
    if not offset or not _UTC_OFFSET.fullmatch(offset):
        return None
    local = re.sub(r"\s+[A-Za-z]{2,5}$", "", value.strip())
    return parse_date(f"{local} {offset}")


def _response_posts(obj: Mapping[str, Any]) -> list[Any] | None:
    """The posts of a whole X API v2 response (twarc2 writes one per line), or None if ``obj`` is a post."""
    data = obj.get("data")
    if isinstance(data, list) and ("meta" in obj or "includes" in obj or "__twarc" in obj or not data
                                   or all(isinstance(x, dict) and "text" in x for x in data[:5])):
        return [x for x in data if isinstance(x, dict)]
    return None


def _from_epoch(seconds: float) -> datetime | None:
    if seconds >= 1e11:  # 1e11 s is the year 5138: such values are milliseconds
        seconds /= 1000
    if seconds < 1e8:  # before 1973: a count or a year, not a post's date
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def content_id(text: str, created_at: str | None, occurrence: int = 0) -> str:
    """A stable id for a post without a trustworthy one: 16 hex digits of a hash of text and date."""
    key = f"{text}\0{created_at or ''}" + (f"\0{occurrence}" if occurrence else "")
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def _trusted_id(value: Any) -> str | None:
    """The id as a string, or None when it is missing or was mangled on the way (floats, spreadsheets)."""
    if value is None or isinstance(value, (bool, float)):
        return None  # a float that held a 19-digit id has lost its last digits
    s = str(value).strip()
    if s.lower() in _NULLS or _SCIENTIFIC.fullmatch(s):
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


def _api_text(rec: Mapping[str, Any]) -> Any:
    note = rec.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str) and note["text"]:
        return note["text"]  # v2: the full text of a long post
    if isinstance(rec.get("full_text"), str):
        return rec["full_text"]
    if _truthy(rec.get("truncated")):
        ext = rec.get("extended_tweet")
        if isinstance(ext, dict) and isinstance(ext.get("full_text"), str):
            return ext["full_text"]
    return rec.get("text")


@functools.lru_cache(maxsize=4096)
def _norm(key: str) -> str:
    """Column names as compared: ``"Tweet Text"`` -> ``"tweet_text"``, ``"isRetweet"`` -> ``"isretweet"``."""
    return re.sub(r"[\s-]+", "_", key.strip().lstrip("\ufeff").lower())


def _norm_keys(obj: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        out.setdefault(_norm(str(k)), v)
    return out




def _has(rec: Mapping[str, Any], path: str) -> bool:
    if path in rec:
        return True
    head, dot, rest = path.partition(".")
    node = rec.get(head) if dot else None
    for part in rest.split(".") if dot else ():
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return bool(dot)


def _first_key(rec: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in rec), None)


def _first_value(rec: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    return next((v for v in (_get(rec, n) for n in names) if _present(v)), None)






def _clean_str(value: Any) -> str | None:
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    s = str(value).strip()
    return None if s.lower() in _NULLS else s


def _loads_or_none(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _find_list(doc: Any, depth: int) -> tuple[list[Any], Any] | None:
    """(list of posts, the object holding it): known keys first, then the first list of objects."""
    if isinstance(doc, list):
        return (doc, None) if doc else None
    if not isinstance(doc, dict) or depth > 3:
        return None
    keys = {_norm(str(k)): k for k in doc}
    for name in LIST_KEYS:
        value = doc.get(keys[name]) if name in keys else None
        if isinstance(value, list) and value:
            return value, doc
    for value in doc.values():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return value, doc
    for value in doc.values():
        found = _find_list(value, depth + 1)
        if found is not None:
            return found
    return None


def _split_header(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def _listing(names: Any, limit: int = 20) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit]) or "(none)"
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _few(handles: Mapping[str, str], limit: int = 5) -> str:
    shown = ", ".join(list(handles.values())[:limit])
    return shown + (", ..." if len(handles) > limit else "")
