"""Field profiles of the tools people used to collect posts, for ``file:PATH``.

Each tool names the text, the date, the author and the signs of a reply, a retweet or a quote its own
way. One table says how, per tool (the way twitter-to-sqlite maps archive files), instead of special
cases in the reader: snscrape, twarc/twarc2 (X API v1.1 and v2 objects, whole v2 responses per line or
flattened), twint, minimaxir's download-tweets-ai-text-gen, Tweepy/X API dumps, and a generic profile
for any other table of posts. ``detect`` picks the profile from the first record's keys.

Keys are compared normalised (``norm`` in _file_values.py: lower case, spaces and dashes as ``_``); a
dotted path (``user.username``) reads a nested object, whose own keys keep the tool's spelling.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

# A signal of a post's kind: (test, field).
#   "flag":   the field is true (True, "true", "1", "yes" ...)
#   "object": the field holds something (an id, an object, a non-empty list)
#   "ref":    X API v2 ``referenced_tweets`` holds an entry of this type
#   "users":  the field lists whom a post replies to (twint ``reply_to``): a reply unless only oneself
Signal = tuple[str, str]
RT_PREFIX = "RT @"

KINDS_TOLD = ("retweets", "replies", "quotes")
"""What a profile can tell, named as the counts are (``quotes`` is not a count: quotes are kept)."""


@dataclass(frozen=True)
class ToolProfile:
    """How one tool's output names the facts of a post."""

    name: str
    """Shown to the user: ``"snscrape"``, ``"twarc2 (X API v2)"`` ..."""
    detect: Callable[[frozenset[str]], bool]
    """True when a record with these normalised keys comes from this tool."""
    text: tuple[str, ...]
    """Text fields, best first (the untruncated one first)."""
    retweet: tuple[Signal, ...] = ()
    reply: tuple[Signal, ...] = ()
    quote: tuple[Signal, ...] = ()
    reply_to_handle: tuple[str, ...] = ()
    """Fields naming the account a reply answers (a reply to oneself is a thread: an original post)."""
    reply_to_user_id: tuple[str, ...] = ()
    ids: tuple[str, ...] = ("id_str", "id", "tweet_id", "post_id")
    dates: tuple[str, ...] = ("created_at", "date", "datetime", "timestamp", "time", "created",
                              "posted_at", "published")
    handles: tuple[str, ...] = ("screen_name", "username", "handle", "user.screen_name",
                                "user_screen_name", "user.username")
    names: tuple[str, ...] = ("name", "user.name")
    avatars: tuple[str, ...] = ("user.profile_image_url_https", "profile_image_url_https")
    user_ids: tuple[str, ...] = ("user.id_str", "user_id_str", "user_id", "author_id")
    langs: tuple[str, ...] = ("lang", "language")
    escaped: bool | None = None
    """True: the text is X's ``full_text``/``text``, which escapes ``& < >`` once. None: an X
    scraper whose versions differ (some pass X's text through, others unescape it): the file's own
    texts decide. False: nothing is escaped."""
    timezone: str | None = None
    """A column holding the UTC offset of local dates (twint writes local time plus ``+0100``)."""

    def signal_fields(self, kind: str) -> set[str]:
        """The top-level fields that carry the signals of ``retweets``, ``replies`` or ``quotes``."""
        signals = {"retweets": self.retweet, "replies": self.reply, "quotes": self.quote}[kind]
        return {("referenced_tweets" if test == "ref" else field).split(".", 1)[0] for test, field in signals}


def _has_all(*keys: str) -> Callable[[frozenset[str]], bool]:
    return lambda k: all(x in k for x in keys)


def _has_any(*keys: str) -> Callable[[frozenset[str]], bool]:
    return lambda k: any(x in k for x in keys)


_V1_KEYS = ("id_str", "full_text", "truncated", "extended_tweet", "retweeted_status", "quoted_status",
            "in_reply_to_status_id", "in_reply_to_status_id_str", "is_quote_status", "entities")
_V2_KEYS = ("edit_history_tweet_ids", "referenced_tweets", "note_tweet", "author_id", "conversation_id",
            "public_metrics")

SNSCRAPE = ToolProfile(
    name="snscrape",
    detect=_has_any("rawcontent", "renderedcontent", "retweetedtweet", "inreplytotweetid", "quotedtweet"),
    text=("rawcontent", "content", "renderedcontent"),
    retweet=(("object", "retweetedtweet"),),
    reply=(("object", "inreplytotweetid"),),
    quote=(("object", "quotedtweet"),),
    reply_to_handle=("inreplytouser.username",),
    reply_to_user_id=("inreplytouser.id",),
    ids=("id",),
    dates=("date",),
    handles=("user.username",),
    names=("user.displayname",),
    avatars=("user.profileImageUrl",),
    user_ids=("user.id",),
    langs=("lang",),
)
TWINT = ToolProfile(
    name="twint",
    detect=lambda k: "tweet" in k and ("reply_to" in k or "quote_url" in k or "retweet" in k
                                       or "user_rt_id" in k or "conversation_id" in k and "username" in k),
    text=("tweet",),
    retweet=(("flag", "retweet"), ("object", "retweet_id"), ("object", "user_rt_id")),
    reply=(("users", "reply_to"),),
    quote=(("object", "quote_url"),),
    ids=("id", "id_str"),
    dates=("created_at", "date"),
    handles=("username",),
    names=("name",),
    user_ids=("user_id", "user_id_str"),
    langs=("language", "lang"),
    timezone="timezone",
)
X_API_V2 = ToolProfile(
    name="X API v2",
    detect=lambda k: any(x in k for x in _V2_KEYS) and "id_str" not in k and "text" in k,
    text=("note_tweet.text", "text"),
    retweet=(("ref", "retweeted"),),
    reply=(("ref", "replied_to"), ("object", "in_reply_to_user_id")),
    quote=(("ref", "quoted"),),
    reply_to_user_id=("in_reply_to_user_id",),
    ids=("id",),
    dates=("created_at",),
    handles=("author.username", "username"),
    names=("author.name",),
    avatars=("author.profile_image_url",),
    user_ids=("author_id", "author.id"),
    langs=("lang",),
    escaped=True,
)
X_API_V1 = ToolProfile(
    name="X API v1.1",
    detect=_has_any(*_V1_KEYS),
    text=("extended_tweet.full_text", "full_text", "text"),
    # In X API JSON `retweeted` means "the logged-in user retweeted this", not "this is a retweet".
    retweet=(("object", "retweeted_status"), ("flag", "is_retweet")),
    reply=(("object", "in_reply_to_status_id_str"), ("object", "in_reply_to_status_id")),
    quote=(("object", "quoted_status"), ("object", "quoted_status_id_str"), ("flag", "is_quote_status")),
    reply_to_handle=("in_reply_to_screen_name",),
    reply_to_user_id=("in_reply_to_user_id_str", "in_reply_to_user_id"),
    ids=("id_str", "id"),
    dates=("created_at",),
    handles=("user.screen_name", "screen_name"),
    names=("user.name",),
    avatars=("user.profile_image_url_https", "user.profile_image_url"),
    user_ids=("user.id_str", "user.id"),
    escaped=True,
)
DOWNLOAD_TWEETS_AI = ToolProfile(
    name="download-tweets-ai-text-gen",
    detect=lambda k: k == frozenset({"tweets"}),
    text=("tweets",),
)
GENERIC = ToolProfile(
    name="",
    escaped=False,  # a file of unknown origin escapes nothing: what it says is what was written
    detect=lambda k: True,
    text=("full_text", "text", "content", "tweet", "tweet_text", "body", "post", "message", "status",
          "tweets", "rawcontent", "renderedcontent"),
    retweet=(("flag", "is_retweet"), ("flag", "isretweet"), ("flag", "retweet"), ("flag", "retweeted"),
             ("flag", "is_retweeted"), ("object", "retweeted_status"), ("object", "retweeted_status_id"),
             ("ref", "retweeted")),
    reply=(("object", "in_reply_to_status_id_str"), ("object", "in_reply_to_status_id"),
           ("object", "in_reply_to_tweet_id"), ("object", "in_reply_to_id"), ("flag", "is_reply"),
           ("flag", "isreply"), ("ref", "replied_to"), ("users", "reply_to")),
    quote=(("flag", "is_quote_status"), ("flag", "is_quote"), ("flag", "isquote"), ("object", "quoted_status"),
           ("object", "quoted_status_id"), ("object", "quote_url"), ("ref", "quoted")),
    reply_to_handle=("in_reply_to_screen_name", "in_reply_to_username"),
    reply_to_user_id=("in_reply_to_user_id_str", "in_reply_to_user_id"),
)

PROFILES: tuple[ToolProfile, ...] = (SNSCRAPE, TWINT, X_API_V2, X_API_V1, DOWNLOAD_TWEETS_AI, GENERIC)
"""Best first: the first profile whose ``detect`` accepts the keys is used."""

ALL_TEXT_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(f for p in PROFILES for f in p.text if "." not in f))
"""Every top-level text field any profile reads (what makes a table's header recognisable)."""


def detect(keys: Iterable[str]) -> ToolProfile:
    """The profile of a record with these (normalised) keys: the first that recognises them and
    whose text field is there (a table with a few API column names is still a plain table)."""
    found = frozenset(keys)
    heads = {k.split(".", 1)[0] for k in found}
    return next(p for p in PROFILES
                if p.detect(found) and (p is GENERIC or any(t.split(".", 1)[0] in heads for t in p.text)))


# -- reading one record ------------------------------------------------------------------------------

_TRUE = frozenset({"true", "1", "1.0", "yes", "y", "t"})
_NULLS = frozenset({"", "null", "none", "nan", "nat", "n/a", "false", "0", "[]", "{}"})
_SCREEN_NAME = re.compile(r"""['"](?:screen_name|username)['"]\s*:\s*['"]([^'"]+)['"]""")


def get(rec: Mapping[str, Any], path: str) -> Any:
    """``rec[path]``, or for ``"user.screen_name"`` the nested value."""
    if path in rec:
        return rec[path]
    if "." not in path:
        return None
    head, _, rest = path.partition(".")
    node = rec.get(head)
    for part in rest.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def truthy(value: Any) -> bool:
    if value is True:
        return True
    if value is None or value is False:
        return False
    return str(value).strip().lower() in _TRUE


def present(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in _NULLS
    if isinstance(value, (dict, list)):
        return bool(value)
    return True


def reply_users(value: Any) -> list[str]:
    """Handles in a twint ``reply_to`` (a list of objects, or its Python repr in a CSV cell)."""
    if isinstance(value, str):
        s = value.strip()
        if not s or s in ("[]", "nan"):
            return []
        try:
            value = ast.literal_eval(s)  # literal_eval only reads literals: nothing runs
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return _SCREEN_NAME.findall(s)
    if not isinstance(value, list):
        return []
    out = []
    for u in value:
        if isinstance(u, dict):
            name = u.get("screen_name") or u.get("username")
            if isinstance(name, str) and name:
                out.append(name)
        elif isinstance(u, str) and u:
            out.append(u)
    return out


def _fires(test: str, field: str, rec: Mapping[str, Any], refs: set[str], own: str) -> bool:
    if test == "ref":
        return field in refs
    value = get(rec, field)
    if test == "flag":
        return truthy(value)
    if test == "object":
        return present(value)
    if test == "users":
        users = reply_users(value)
        return any(u.lstrip("@").lower() != own for u in users)
    raise ValueError(test)


def ref_types(rec: Mapping[str, Any]) -> set[str]:
    refs = rec.get("referenced_tweets")
    if not isinstance(refs, list):
        return set()
    return {r.get("type") for r in refs if isinstance(r, dict) and isinstance(r.get("type"), str)}


def classify(profile: ToolProfile, rec: Mapping[str, Any], text: str, own_handle: str,
             own_id: str | None) -> str:
    """``retweet``, ``reply`` (to someone else), ``quote`` or ``original`` from every signal the tool gives."""
    refs = ref_types(rec)
    if text.startswith(RT_PREFIX) or any(_fires(t, f, rec, refs, own_handle) for t, f in profile.retweet):
        return "retweet"
    if any(_fires(t, f, rec, refs, own_handle) for t, f in profile.reply):
        return "original" if _to_self(profile, rec, own_handle, own_id) else "reply"
    if any(_fires(t, f, rec, refs, own_handle) for t, f in profile.quote):
        return "quote"
    return "original"


def _to_self(profile: ToolProfile, rec: Mapping[str, Any], own_handle: str, own_id: str | None) -> bool:
    """A reply to one's own post continues a thread."""
    for field in profile.reply_to_handle:
        name = get(rec, field)
        if present(name):
            return str(name).lstrip("@").lower() == own_handle
    if own_id:
        for field in profile.reply_to_user_id:
            uid = get(rec, field)
            if present(uid):
                return str(uid).strip() == own_id
    return False


# -- escaping --------------------------------------------------------------------------------------

_X_ENTITY = re.compile(r"&(amp|lt|gt);")
_RAW = re.compile(r"[<>]|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)")
_ENTITY = {"amp": "&", "lt": "<", "gt": ">"}


def x_unescape(text: str) -> str:
    """Decode what X escapes in a post's text (``&amp; &lt; &gt;``), once: ``&amp;lt;`` -> ``&lt;``."""
    return _X_ENTITY.sub(lambda m: _ENTITY[m.group(1)], text) if "&" in text else text


def looks_escaped(texts: Iterable[str]) -> bool | None:
    """Whether texts are X-escaped: True if they hold ``&amp;``/``&lt;``/``&gt;`` and never a raw
    ``<``, ``>`` or ``&`` (which escaped text cannot hold), False if they hold a raw one, None if
    there is no telling (no ``&``, ``<`` or ``>`` at all)."""
    entities = False
    for text in texts:
        if _RAW.search(text):
            return False
        if not entities and _X_ENTITY.search(text):
            entities = True
    return True if entities else None
