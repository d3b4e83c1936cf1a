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

``FileSource`` sniffs, decides whose posts these are and turns rows into posts; the layouts are read by
``_file_table`` (CSV, TSV), ``_file_json`` (JSON, JSON Lines, X API objects) and ``_file_values``
(column names, ids, dates in pieces); plain text is one post per line. ``_file_binary`` recognises the
files that are not text. The names those modules give other code are importable from here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator, Mapping, MutableMapping

from ..errors import FileFormatError, HandleRequiredError, NotPostsError, SourceNotFoundError, UsageError
from . import _profiles
from ._dates import parse_date
from ._decode import Decoding, find_decoding, open_text
from ._file_binary import (FILE_ADVICE, GARBLED_FILE, GARBLED_MIN, MAX_POST_CHARS, binary_kind, control_share,
                           garbled, too_long)
from ._file_json import (API_KEYS, LIST_KEYS, V2_KEYS, api_text, find_posts, jsonl_objects, load_json,
                         response_posts)
from ._file_json import loads_or_none as _loads_or_none
from ._file_table import check_text_column, sniff_delimiter, table_head, table_records
from ._file_values import (AVATAR_COLUMNS, DATE_COLUMNS, HANDLE_COLUMNS, ID_COLUMNS, LANG_COLUMNS, NAME_COLUMNS,
                           QUOTE_FLAGS, REPLY_FLAGS, REPLY_ID_COLUMNS, RETWEET_FLAGS, TEXT_COLUMNS, content_id,
                           file_error, row_date)
from ._file_values import clean_str as _clean_str
from ._file_values import few as _few
from ._file_values import handle_from_file_name
from ._file_values import first_key as _first_key
from ._file_values import first_value as _first_value
from ._file_values import has as _has
from ._file_values import listing as _listing
from ._file_values import norm as _norm
from ._file_values import norm_keys as _norm_keys
from ._file_values import trusted_id as _trusted_id
from ._profiles import GENERIC, ToolProfile, looks_escaped, x_unescape
from ._profiles import get as _get
from .base import Page, Post, Profile, SourceOptions, check_handle, paged

PAGE_SIZE = 5_000
_SAMPLE_CHARS = 64 * 1024

__all__ = [
    "API_KEYS", "AVATAR_COLUMNS", "DATE_COLUMNS", "HANDLE_COLUMNS", "ID_COLUMNS", "LANG_COLUMNS", "LIST_KEYS",
    "NAME_COLUMNS", "PAGE_SIZE", "QUOTE_FLAGS", "REPLY_FLAGS", "REPLY_ID_COLUMNS", "RETWEET_FLAGS", "TEXT_COLUMNS",
    "V2_KEYS", "FileInfo", "FileSource", "binary_kind", "content_id", "detect_encoding", "parse_date",
]


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
        self._name_note: str | None = None
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
            NotPostsError: not text (an image, a program...: what it is), or garbled text.
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
        src._check_posts()
        return src

    def _fail(self, problem: str) -> FileFormatError:
        return file_error(self.path, problem)

    def _not_posts(self, found: str, hint: str | None = None) -> NotPostsError:
        return NotPostsError(self.spec, found, "a file of posts", (hint or FILE_ADVICE).format(path=self.path))

    def _open(self) -> None:
        with open(self.path, "rb") as f:
            head = f.read(_SAMPLE_CHARS)
        binary = binary_kind(head)
        if binary:
            raise self._not_posts(*binary)
        self._decoding = d = find_decoding(self.path)
        with self._text() as f:
            sample = f.read(_SAMPLE_CHARS)
        stripped = sample.lstrip()
        if not stripped:
            raise self._fail("the file is empty; export the posts again")
        controls = control_share(sample)
        if controls > 0.02 and controls * len(sample) > 8:
            # Text has no control characters to speak of: 2% of them is binary data read as text.
            raise self._not_posts(f"binary data ({controls:.0%} of its first characters are control "
                                  f"characters or undecodable bytes)")
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
            posts = response_posts(first_obj)
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
            return load_json(f.read(), self.path)

    def _find_posts(self, doc: Any) -> list[Any]:
        """The list of posts in a JSON document: the array itself, or a list under a known key."""
        items, holder = find_posts(doc, self.path)
        if isinstance(holder, dict):
            self._add_users(holder)
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
        return sniff_delimiter(sample, ext, self.options.text_column)

    def _open_table(self) -> None:
        """Read the header, pick the text column and check that at least one row follows it."""
        with self._text() as f:
            columns, has_rows = table_head(f, self.info.delimiter or ",", self.path)
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
        check_text_column(columns, self.info.text_column, self.path)
        if not has_rows:
            raise self._fail("the file has column names but no rows; export the posts again")

    # -- records ---------------------------------------------------------------------------------------

    def _records(self) -> Iterator[tuple[dict[str, Any], Any]]:
        """(record with normalised keys, raw row) for every row or object of the file, in order."""
        fmt = self.info.format
        if fmt in ("csv", "tsv"):
            with self._text() as f:
                yield from table_records(f, self.info.delimiter or ",", self.path)
        elif fmt == "txt":
            with self._text() as f:
                for line in f:
                    line = line.rstrip("\r\n")
                    if line.strip():
                        yield {"text": line}, {"text": line}
        elif fmt == "jsonl":
            with self._text() as f:
                for obj in jsonl_objects(f, self.path):
                    posts = response_posts(obj)
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
                named = handle_from_file_name(self.path.name)
                if named is None:
                    raise HandleRequiredError(self.spec)
                found.handles[named.lower()] = named
                self._name_note = (f"{self.path.name}: the posts' account, @{named}, taken from the file's name "
                                   f"(as download-tweets-ai-text-gen names it); pass --handle to choose another")
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

    def _check_posts(self) -> None:
        """Refuse a file that holds no post with text, or whose posts are garbled: more than 30% (and at
        least 5) of those in its first 64 Ki characters of text (``_file_binary.garbled``: mojibake, control
        characters)."""
        texts, size = [], 0
        for post in self.posts():
            texts.append(post.text)
            size += len(post.text)
            if size >= _SAMPLE_CHARS:
                break
        if not texts:
            col = self.info.text_column
            if col is None:
                raise self._fail("no post holds any text; export the posts again")
            where = "column" if self.info.format in ("csv", "tsv") else "key"
            raise self._fail(f"no row holds any text in its {where} {col!r}; pass --text-column NAME if the "
                             f"text is in another one")
        long = too_long(texts)
        if long * 2 > len(texts):
            raise self._not_posts(f"too long to be posts ({long:,} of its first {len(texts):,} \"posts\" are over "
                                  f"{MAX_POST_CHARS:,} characters, longer than any platform allows)",
                                  "pass a file with one post per line, row or object")
        bad = garbled(texts)
        if bad >= GARBLED_MIN and bad > GARBLED_FILE * len(texts):
            raise self._not_posts(f"garbled text ({bad:,} of its first {len(texts):,} posts read as mojibake, "
                                  f"like 'Ã©' for 'é', or hold control characters)",
                                  "check that it is the file of posts, or export it again as UTF-8")

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
        if self._name_note:
            notes = [*notes, self._name_note]
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
            text = api_text(rec)
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

        created_at = row_date(rec, tool)
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


# -- encoding and binary files ------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """The encoding of most of the file's lines: ``utf-8-sig``/``utf-16``/``utf-32`` by BOM, ``utf-8``,
    else what charset-normalizer finds (``cp1252``, ``cp932``, ``gb18030``...). Lines in another encoding
    and repaired lines: ``huggingtweets.sources._decode.find_decoding``."""
    return find_decoding(path).encoding
