"""JSON and JSON Lines files of posts for ``file:PATH``: where a document keeps its list of posts
(``find_posts``), the X API's objects and whole responses (``API_KEYS``, ``response_posts``,
``api_text``), and the objects of a ``.jsonl`` file line by line (``jsonl_objects``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import orjson

from ._file_values import TEXT_COLUMNS, file_error, first_key, norm, norm_keys
from ._profiles import truthy as _truthy

# Keys under which a JSON object holds its list of posts, best first.
LIST_KEYS = ("data", "tweets", "statuses", "posts", "items", "results", "records")
# Keys that only X API objects (v1.1 statuses, v2 posts) have. Their text is HTML-escaped by the API.
API_KEYS = frozenset({
    "id_str", "full_text", "truncated", "extended_tweet", "retweeted_status", "quoted_status", "entities",
    "in_reply_to_status_id", "in_reply_to_status_id_str", "is_quote_status", "edit_history_tweet_ids",
    "referenced_tweets", "note_tweet", "author_id", "conversation_id", "public_metrics",
})
V2_KEYS = frozenset({"edit_history_tweet_ids", "referenced_tweets", "note_tweet", "author_id", "public_metrics"})


def load_json(text: str, path: Path) -> Any:
    """The JSON document ``text`` (the file at ``path``), or FileFormatError saying where it broke."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:  # the standard parser accepts a little more (NaN, huge numbers) and says where it failed
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise file_error(path, f"invalid JSON at line {e.lineno}, column {e.colno} ({e.msg}); "
                               f"fix the file there or export it again") from None
    except RecursionError:
        raise file_error(path, "JSON nested too deeply to read; export the posts as a flat list") from None


def find_posts(doc: Any, path: Path) -> tuple[list[Any], Any]:
    """(the posts of a JSON document, the object holding their list or None): the array itself, or a
    list under a known key.

    Raises:
        FileFormatError: no list of posts, an empty one, or one of values that are not posts.
    """
    if isinstance(doc, dict) and not any(isinstance(doc.get(k), list) for k in LIST_KEYS):
        keys = norm_keys(doc)
        if API_KEYS & doc.keys() or first_key(keys, TEXT_COLUMNS) is not None:
            return [doc], None  # a single post (its entities hold lists of objects that are not posts)
    found = _find_list(doc, 0)
    if found is None:
        what = "an empty list" if doc == [] else "no list of posts"
        raise file_error(path, f"JSON with {what}; expected an array of posts or an object holding one "
                               f"under \"data\", \"tweets\", \"statuses\", \"posts\" or \"items\"; export the posts as "
                               f"such a list (or as CSV) and pass that")
    items, holder = found
    if not items:
        raise file_error(path, "the JSON list of posts is empty; export the posts again")
    # Archive-style rows {"tweet": {...}} hold the post one level down.
    if all(isinstance(x, dict) and len(x) == 1 and isinstance(x.get("tweet"), dict) for x in items[:10]):
        items = [x["tweet"] if isinstance(x, dict) and isinstance(x.get("tweet"), dict) else x
                 for x in items]
    bad = next((x for x in items if not isinstance(x, (dict, str))), None)
    if bad is not None:
        raise file_error(path, f"the JSON list holds {type(bad).__name__} values, not posts; expected "
                               f"objects with a text field (or strings); export the posts as such a list and pass that")
    return items, holder


def jsonl_objects(lines: Iterable[str], path: Path) -> Iterator[dict[str, Any]]:
    """The object on each non-blank line of a JSON Lines file (a string stands for ``{"text": ...}``).

    Raises:
        FileFormatError: a line that is not JSON, or holds something other than an object or a string.
    """
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise file_error(path, f"line {n} is not valid JSON ({e.msg} at column {e.colno}); "
                                       f"fix or remove that line") from None
        if isinstance(obj, str):
            obj = {"text": obj}
        if not isinstance(obj, dict):
            raise file_error(path, f"line {n} holds a {type(obj).__name__}, not a JSON object; "
                                   f"write one post object (or string) per line")
        yield obj


def response_posts(obj: Mapping[str, Any]) -> list[Any] | None:
    """The posts of a whole X API v2 response (twarc2 writes one per line), or None if ``obj`` is a post."""
    data = obj.get("data")
    if isinstance(data, list) and ("meta" in obj or "includes" in obj or "__twarc" in obj or not data
                                   or all(isinstance(x, dict) and "text" in x for x in data[:5])):
        return [x for x in data if isinstance(x, dict)]
    return None


def api_text(rec: Mapping[str, Any]) -> Any:
    """An X API object's whole text: a v2 long post's ``note_tweet``, v1.1's ``full_text`` or the
    ``extended_tweet`` of a truncated post, else ``text``."""
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


def loads_or_none(text: str) -> Any:
    """``text`` parsed as JSON, or None if it is not JSON."""
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
    keys = {norm(str(k)): k for k in doc}
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
