"""Tiny X archives and Mastodon exports in the real formats, written to temp dirs at test time.

The shapes follow real exports (docs/background.md): X files are
``window.YTD.<name>.partN = [...]`` pretty-printed with ``"key" : value``, every number a string,
``full_text`` HTML-escaped; Mastodon's ``outbox.json`` is an ActivityPub OrderedCollection.
"""

from __future__ import annotations

import html
import json
import zipfile
from pathlib import Path
from typing import Any, Iterable

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
OWN_ID = "4455667788"
HANDLE = "marsh_warbler"
NAME = "Wren Okafor"
AVATAR_URL = "https://pbs.twimg.com/profile_images/1500000000000000000/aB3dE5fG_400x400.jpg"
AVATAR_BYTES = b"\xff\xd8\xff\xe0 not really a jpeg, only bytes to compare \xff\xd9"


# -- X ------------------------------------------------------------------------------------------


def tweet(tid: str, text: str, *, created_at: str = "Wed Jul 27 15:19:52 +0000 2022",
          urls: Iterable[tuple[str, str]] = (), media: Iterable[str] = (),
          reply_to: tuple[str, str, str] | None = None, edit_ids: list[str] | None = None,
          edit_initial: str | None = None, lang: str = "en", **extra: Any) -> dict:
    """One tweet object as tweets.js holds it; ``text`` is plain and gets X's HTML escaping."""
    ents: dict = {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}
    for short, target in urls:
        start = text.find(short)
        ents["urls"].append({"url": short, "expanded_url": target, "display_url": target[8:30],
                             "indices": [str(start), str(start + len(short))]})
    t: dict = {
        "edit_info": ({"edit": {"initialTweetId": edit_initial, "editControlInitial": {
                          "editTweetIds": edit_ids, "editableUntil": "2022-07-27T16:19:52.000Z",
                          "editsRemaining": "4", "isEditEligible": True}}}
                      if edit_initial else
                      {"initial": {"editTweetIds": edit_ids or [tid], "editableUntil": "2022-07-27T16:19:52.000Z",
                                   "editsRemaining": "5", "isEditEligible": True}}),
        "retweeted": False,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "entities": ents,
        "display_text_range": ["0", str(len(text))],
        "favorite_count": "1",
        "id_str": tid,
        "truncated": False,
        "retweet_count": "0",
        "id": tid,
        "created_at": created_at,
        "favorited": False,
        "full_text": html.escape(text, quote=False),
        "lang": lang,
    }
    media = list(media)
    if media:
        items = [{"url": m, "expanded_url": f"https://twitter.com/{HANDLE}/status/{tid}/photo/1",
                  "display_url": "pic.twitter.com/" + m[13:], "type": "photo",
                  "media_url_https": "https://pbs.twimg.com/media/x.jpg", "id_str": "9", "id": "9"}
                 for m in media]
        ents["media"] = items[:1]
        t["extended_entities"] = {"media": items}
    if reply_to:
        status, user_id, screen_name = reply_to
        t.update({"in_reply_to_status_id_str": status, "in_reply_to_status_id": status,
                  "in_reply_to_user_id": user_id, "in_reply_to_user_id_str": user_id,
                  "in_reply_to_screen_name": screen_name})
    t.update(extra)
    return t


def note_tweet(note_id: str, text: str, created_at: str = "2022-07-27T15:19:52.000Z") -> dict:
    return {"noteTweet": {"noteTweetId": note_id, "updatedAt": created_at,
                          "lifecycle": {"value": "0", "name": "Active", "originalName": "Active",
                                        "annotations": {}},
                          "createdAt": created_at,
                          "core": {"styletags": [], "urls": [], "text": text, "mentions": [],
                                   "cashtags": [], "hashtags": []}}}


def ytd(global_name: str, items: Any) -> bytes:
    """``window.YTD.tweets.part0 = [...]``, indented with ``"key" : value`` as X writes it."""
    body = json.dumps(items, indent=2, ensure_ascii=False, separators=(",", " : "))
    return f"window.{global_name} = {body}".encode()


def x_files(tweets: list[dict], *, handle: str | None = HANDLE, account_id: str = OWN_ID,
            notes: list[dict] = (), deleted: list[dict] = (), parts: list[list[dict]] = (),
            layout: str = "tweets", manifest: bool = True, wrap: bool = True,
            avatar: bool = True) -> dict[str, bytes]:
    """Member name -> bytes of an X archive.

    ``layout="tweet"`` gives the older ``data/tweet.js``; ``parts`` go to ``<layout>-partN.js``
    (N from 1); ``handle=None`` leaves out account.js; ``wrap=False`` writes items without the
    ``{"tweet": ...}`` wrapper, as the oldest exports did.
    """
    files: dict[str, bytes] = {}
    listed = []
    for k, chunk in enumerate([tweets, *parts]):
        name = f"data/{layout}.js" if k == 0 else f"data/{layout}-part{k}.js"
        items = [{"tweet": t} for t in chunk] if wrap else list(chunk)
        files[name] = ytd(f"YTD.{layout}.part{k}", items)
        listed.append({"fileName": name, "globalName": f"YTD.{layout}.part{k}", "count": str(len(chunk))})
    if handle is not None:
        files["data/account.js"] = ytd("YTD.account.part0", [{"account": {
            "email": "wren@example.org", "createdVia": "web", "username": handle,
            "accountId": account_id, "createdAt": "2012-05-01T10:00:00.000Z",
            "accountDisplayName": NAME}}])
        files["data/profile.js"] = ytd("YTD.profile.part0", [{"profile": {
            "description": {"bio": "Reed beds and recordings.", "website": "", "location": ""},
            "avatarMediaUrl": AVATAR_URL}}])
        if avatar:
            files[f"data/profile_media/{account_id}-{AVATAR_URL.rsplit('/', 1)[-1]}"] = AVATAR_BYTES
    if notes:
        files["data/note-tweet.js"] = ytd("YTD.note_tweet.part0", list(notes))
    if deleted:
        files["data/deleted-tweets.js"] = ytd("YTD.deleted_tweets.part0", [{"tweet": t} for t in deleted])
    files["data/like.js"] = ytd("YTD.like.part0", [{"like": {"tweetId": "1", "fullText": "someone else"}}])
    if manifest:
        files["data/manifest.js"] = ("window.__THAR_CONFIG = " + json.dumps({
            "userInfo": {"accountId": account_id, "userName": handle or "", "displayName": NAME},
            "dataTypes": {layout: {"mediaDirectory": f"data/{layout}_media", "files": listed}},
        }, indent=2, separators=(",", " : "))).encode()
    return files


# -- Mastodon -------------------------------------------------------------------------------------

ACTOR = "https://example.social/users/jane"


def actor(**extra: Any) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": ACTOR, "type": "Person", "following": ACTOR + "/following", "followers": ACTOR + "/followers",
        "inbox": ACTOR + "/inbox", "outbox": "outbox.json", "preferredUsername": "jane",
        "name": "Jane Marsh", "summary": "<p>Moths, mostly.</p>", "url": "https://example.social/@jane",
        "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
        **extra,
    }


def create(sid: str, content: str, *, to: Any = (PUBLIC,), cc: Any = (ACTOR + "/followers",),
           in_reply_to: str | None = None, summary: str | None = None,
           published: str = "2023-05-01T21:14:03Z", obj_type: str = "Note") -> dict:
    """A ``Create`` activity around a note, addressed as given (both activity and object)."""
    oid = f"{ACTOR}/statuses/{sid}"
    to, cc = (list(to) if not isinstance(to, str) else to), (list(cc) if not isinstance(cc, str) else cc)
    return {
        "id": oid + "/activity", "type": "Create", "actor": ACTOR, "published": published,
        "to": to, "cc": cc,
        "object": {
            "id": oid, "type": obj_type, "summary": summary, "inReplyTo": in_reply_to,
            "published": published, "url": f"https://example.social/@jane/{sid}", "attributedTo": ACTOR,
            "to": to, "cc": cc, "sensitive": bool(summary), "atomUri": oid, "inReplyToAtomUri": in_reply_to,
            "conversation": f"tag:example.social,2023-05-01:objectId={sid}:objectType=Conversation",
            "content": content, "contentMap": {"en": content}, "attachment": [], "tag": [],
        },
    }


def announce(sid: str, target: str, published: str = "2023-05-02T08:00:00Z") -> dict:
    return {"id": f"{ACTOR}/statuses/{sid}/activity", "type": "Announce", "actor": ACTOR,
            "published": published, "to": [PUBLIC], "cc": [ACTOR + "/followers", "https://other.example/users/bob"],
            "object": target}


def outbox(items: list[dict]) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": "outbox.json",
            "type": "OrderedCollection", "totalItems": len(items), "orderedItems": items}


def mastodon_files(items: list[dict], *, with_actor: bool = True, avatar: bytes | None = b"\x89PNG fake") -> dict[str, bytes]:
    files = {"outbox.json": json.dumps(outbox(items)).encode()}
    if with_actor:
        files["actor.json"] = json.dumps(actor()).encode()
        files["likes.json"] = json.dumps({"type": "OrderedCollection", "orderedItems": []}).encode()
        if avatar is not None:
            files["avatar.png"] = avatar
    return files


# -- containers ------------------------------------------------------------------------------------


def write_zip(path: Path, files: dict[str, bytes], prefix: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(prefix + name, data)
    return path


def write_folder(path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path
