"""The text reaches the dataset exactly as its author wrote it (issue: real-world inputs).

Mentions are matched whole on every network (Bluesky handles are domain names), each source decodes
what its format escapes exactly once, links are removed without the punctuation next to them, the
"short post" rule counts words right in scripts written without spaces, and accounts are identified
by their stable id (DID, account id), not by the handle they show.
"""

from __future__ import annotations

import json

import pytest

from archive_fixtures import tweet, write_zip, x_files
from huggingtweets.api import fetch, prepare
from huggingtweets.dataset.clean import CleanOptions, clean_text, count_words, is_boring, remove_urls
from huggingtweets.errors import NotEnoughDataError
from huggingtweets.sources import SourceOptions
from replay_server import ReplayServer


def texts(ds) -> list[str]:
    rows = []
    for name in ("train.jsonl", "valid.jsonl"):
        rows += [json.loads(line) for line in (ds.path / name).read_text().splitlines() if line.strip()]
    return sorted(r["text"] for r in rows)


def bsky_routes(did: str, handle: str, records: list[dict], name: str = "Juniper") -> dict:
    feed = []
    for i, rec in enumerate(records):
        uri = f"at://{did}/app.bsky.feed.post/3lpost{i:06d}"
        feed.append({"post": {"uri": uri, "cid": f"bafy{i}", "author": {"did": did, "handle": handle},
                              "record": {"$type": "app.bsky.feed.post",
                                         "createdAt": f"2025-05-0{i + 1}T09:00:00.000Z", "langs": ["en"],
                                         **rec},
                              "indexedAt": f"2025-05-0{i + 1}T09:00:00.000Z"}})
    return {"/xrpc/app.bsky.actor.getProfile": {"did": did, "handle": handle, "displayName": name},
            "/xrpc/app.bsky.feed.getAuthorFeed": {"feed": feed}}


def mention(text: str, handle: str, did: str = "did:plc:someone") -> dict:
    start = text.encode().index(("@" + handle).encode())
    return {"index": {"byteStart": start, "byteEnd": start + len(("@" + handle).encode())},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]}


# -- 3. mentions: whole handles on every network ------------------------------------------------------

MENTION_POSTS = [
    "@fern.example.com and @sorrel.bsky.social will plant the hedge with us on Sunday",
    "thanks @sorrel.bsky.social for the seed packets, they all sprouted 🌱",
    "met @ash.garden-club.example.org at the market, we swapped cuttings",
]


@pytest.mark.parametrize("mode, expected", [
    ("strip", sorted(["and will plant the hedge with us on Sunday",
                      "thanks for the seed packets, they all sprouted 🌱",
                      "met at the market, we swapped cuttings"])),
    ("placeholder", sorted(["@user and @user will plant the hedge with us on Sunday",
                            "thanks @user for the seed packets, they all sprouted 🌱",
                            "met @user at the market, we swapped cuttings"])),
])
def test_bluesky_mentions_from_facets_are_replaced_whole(tmp_path, monkeypatch, mode, expected):
    records = [
        {"text": MENTION_POSTS[0], "facets": [mention(MENTION_POSTS[0], "fern.example.com"),
                                              mention(MENTION_POSTS[0], "sorrel.bsky.social")]},
        {"text": MENTION_POSTS[1], "facets": [mention(MENTION_POSTS[1], "sorrel.bsky.social")]},
        {"text": MENTION_POSTS[2]},  # no facet (an old client): the domain pattern still takes it whole
    ]
    with ReplayServer(bsky_routes("did:plc:juniper", "juniper.bsky.social", records)) as server:
        monkeypatch.setenv("HUGGINGTWEETS_BSKY_API_URL", server.url)
        ds = prepare(["bsky:juniper.bsky.social"], tmp_path / "ds", min_chars=0,
                     clean=CleanOptions(mentions=mode))
    assert texts(ds) == expected


@pytest.mark.parametrize("network, text, strip, placeholder", [
    ("x", "@kit_ramos yes, and @dee_w. Agreed!", "yes, and . Agreed!", "@user yes, and @user. Agreed!"),
    ("mastodon", "cc @bob@mast.example and @amy, see you", "cc and , see you", "cc @user and @user, see you"),
    ("bsky", "ask @jo.bsky.social or @ren.example.co.uk.", "ask or .", "ask @user or @user."),
    ("file", "ping @jo.bsky.social, @bob@mast.example and @kit_ramos!", "ping , and !",
     "ping @user, @user and @user!"),
])
def test_mention_patterns_per_network(network, text, strip, placeholder):
    assert clean_text(text, CleanOptions(mentions="strip"), network) == " ".join(strip.split())
    assert clean_text(text, CleanOptions(mentions="placeholder"), network) == placeholder


def test_x_handles_have_no_dots():
    # On X "@bob.I" is @bob then a sentence: only the handle goes.
    assert clean_text("thanks @bob.I mean it", CleanOptions(mentions="strip"), "x") == "thanks .I mean it"


# -- 4. text decoded exactly once ---------------------------------------------------------------------

TYPED = "In HTML you type &lt; for a less-than sign and &amp; for an ampersand, never the bare one"


def test_x_archive_decodes_once(tmp_path):
    # tweet() applies X's escaping once: the author's "&lt;" is "&amp;lt;" in tweets.js
    files = x_files([tweet("1", TYPED), tweet("2", "Fish & chips > all <3")])
    assert b"&amp;lt;" in files["data/tweets.js"]
    archive = write_zip(tmp_path / "x.zip", files)
    ds = prepare([f"archive:{archive}"], tmp_path / "ds", min_chars=0)
    assert texts(ds) == sorted([TYPED, "Fish & chips > all <3"])


def test_bluesky_and_plain_files_decode_nothing(tmp_path, monkeypatch):
    with ReplayServer(bsky_routes("did:plc:quill", "quill.bsky.social", [{"text": TYPED}])) as server:
        monkeypatch.setenv("HUGGINGTWEETS_BSKY_API_URL", server.url)
        ds = prepare(["bsky:quill.bsky.social"], tmp_path / "b", min_chars=0)
    assert texts(ds) == [TYPED]
    for name, content in (("p.txt", TYPED + "\n"), ("p.csv", f'text\n"{TYPED}"\n'),
                          ("p.jsonl", json.dumps({"text": TYPED}) + "\n")):
        path = tmp_path / name
        path.write_text(content)
        ds = prepare([f"file:{path}"], tmp_path / name.replace(".", "_"), min_chars=0,
                     source_options=SourceOptions(handle="quill"))
        assert texts(ds) == [TYPED], name


def test_x_api_json_decodes_once(tmp_path):
    path = tmp_path / "statuses.json"
    path.write_text(json.dumps([{"id_str": "5", "full_text": TYPED.replace("&", "&amp;"), "truncated": False,
                                 "user": {"screen_name": "quill"}}]))
    ds = prepare([f"file:{path}"], tmp_path / "ds", min_chars=0)
    assert texts(ds) == [TYPED]


def test_a_scraper_file_tells_whether_it_is_escaped(tmp_path):
    # snscrape versions differ; the file's texts tell: escaped text never holds a raw "<", ">" or "&".
    def sn(i, text):
        return json.dumps({"id": i, "date": "2023-01-01T00:00:00+00:00", "rawContent": text,
                           "user": {"username": "quill", "id": 3}, "retweetedTweet": None,
                           "quotedTweet": None, "inReplyToTweetId": None})
    escaped = tmp_path / "escaped.jsonl"
    escaped.write_text(sn(1, TYPED.replace("&", "&amp;")) + "\n" + sn(2, "a &gt; b for every b here") + "\n")
    plain = tmp_path / "plain.jsonl"
    plain.write_text(sn(1, TYPED) + "\n" + sn(2, "a > b for every b here") + "\n")
    for path in (escaped, plain):
        ds = prepare([f"file:{path}"], tmp_path / path.stem, min_chars=0)
        assert texts(ds) == sorted([TYPED, "a > b for every b here"]), path.name


# -- link removal keeps what is next to the link -----------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("read this (https://example.com/a_(b)) today", "read this () today"),
    ("links: https://x.org, https://y.org; and https://z.org.", "links: , ; and ."),
    ("[https://example.com/page] and \"https://example.com/q?a=1\"", "[] and \"\""),
    ("見てhttps://example.com/jp。すごい", "見て。すごい"),
])
def test_links_are_removed_without_their_neighbours(text, expected):
    assert remove_urls(text) == expected


# -- 6. words in scripts written without spaces ----------------------------------------------------------

SPACELESS = {
    "ja": "今日は朝から雨が降っていたので、家でゆっくり本を読んで過ごしました。",
    "zh": "今天下午去公园散步，看到很多人在放风筝。",
    "th": "วันนี้อากาศดีมากเลยไปเดินเล่นที่สวนสาธารณะ",
    "lo": "ມື້ນີ້ອາກາດດີຫຼາຍພວກເຮົາໄປຍ່າງຫຼິ້ນ",
    "km": "ថ្ងៃនេះអាកាសធាតុល្អណាស់យើងទៅដើរលេង",
    "my": "ဒီနေ့ရာသီဥတုအရမ်းကောင်းတယ်ပန်းခြံထဲလမ်းလျှောက်ခဲ့တယ်",
}


@pytest.mark.parametrize("lang", sorted(SPACELESS))
def test_sentences_without_spaces_are_not_short(lang):
    assert count_words(SPACELESS[lang]) >= 3
    assert not is_boring(SPACELESS[lang])


def test_short_posts_stay_short_in_every_script():
    for text in ("hello there", "はい", "好的", "ครับ", "ok 👍", "@bob #tag https://x.y hi"):
        assert is_boring(text), text
    assert count_words("the original rule counts three words") == 6
    assert count_words("今日はcoffeeを3杯") >= 3  # mixed scripts in one token


def test_a_whole_account_in_cjk_and_thai_is_kept(tmp_path):
    path = tmp_path / "posts.txt"
    path.write_text("\n".join(SPACELESS.values()) + "\nはい\n", encoding="utf-8")
    ds = prepare([f"file:{path}"], tmp_path / "ds", min_chars=0, source_options=SourceOptions(handle="mei"))
    u = ds.stats.users[0]
    assert (u.downloaded, u.short, u.kept) == (7, 1, 6)


def test_not_enough_data_names_the_rules_and_flags(tmp_path):
    path = tmp_path / "posts.txt"
    path.write_text("ok\nyes\nRT @bob: something long enough to count here\nthe one post that is kept\n"
                    "the one post that is kept\n")
    with pytest.raises(NotEnoughDataError) as e:
        prepare([f"file:{path}"], tmp_path / "ds", source_options=SourceOptions(handle="jo"))
    msg = str(e.value)
    assert "1 of 5 posts kept" in msg
    assert "2 as short (--min-words N)" in msg and "1 as duplicates (--keep-duplicates)" in msg
    assert "1 as retweets" in msg and "--min-chars N" in msg


# -- 9. accounts by their stable id ---------------------------------------------------------------------

def test_an_unverified_bluesky_handle_names_the_bot_from_its_did(tmp_path, monkeypatch):
    routes = bsky_routes("did:plc:abc123xyz", "handle.invalid", [{"text": "a post long enough to be kept"}])
    with ReplayServer(routes) as server:
        monkeypatch.setenv("HUGGINGTWEETS_BSKY_API_URL", server.url)
        [r] = fetch(["bsky:did:plc:abc123xyz"])
        ds = prepare(["bsky:did:plc:abc123xyz"], tmp_path / "ds", min_chars=0)
    assert r.account == "did:plc:abc123xyz"
    assert r.profile.handle == "did-plc-abc123xyz" and ds.name == "did-plc-abc123xyz"
    assert any("could not verify" in n and "did:plc:abc123xyz" in n for n in ds.stats.users[0].notes)


def test_a_changed_handle_is_the_same_account(tmp_path, monkeypatch):
    did = "did:plc:samepersonid"
    for handle, text in (("old-name.bsky.social", "first post under the old name"),
                         ("new-name.example.com", "second post under the new name")):
        with ReplayServer(bsky_routes(did, handle, [{"text": text}])) as server:
            monkeypatch.setenv("HUGGINGTWEETS_BSKY_API_URL", server.url)
            [r] = fetch([f"bsky:{handle}"])
        assert r.account == did
    assert r.total == 1  # both feeds hold a post with the same record key: one account, one post


def test_two_accounts_with_the_same_handle_are_two_accounts(tmp_path):
    a = write_zip(tmp_path / "x.zip", x_files([tweet("1", "the lighthouse keeper writes on X here")],
                                              handle="jane"))
    b = tmp_path / "jane.txt"
    b.write_text("a different jane writes plain text posts\n")
    ds = prepare([f"archive:{a}", f"file:{b}"], tmp_path / "ds", min_chars=0,
                 source_options=SourceOptions(handle="jane"))
    assert [u.network for u in ds.stats.users] == ["x", "file"]
    assert all(u.kept == 1 for u in ds.stats.users)


def test_the_same_account_twice_is_refused(tmp_path):
    a = write_zip(tmp_path / "x.zip", x_files([tweet("1", "the lighthouse keeper writes on X here")]))
    b = write_zip(tmp_path / "y.zip", x_files([tweet("2", "another archive of the same account")]))
    with pytest.raises(Exception, match="given twice"):
        prepare([f"archive:{a}", f"archive:{b}"], tmp_path / "ds", min_chars=0)


def test_a_bare_tweets_js_joins_the_account_stored_by_id(tmp_path):
    files = x_files([tweet("1", "posted before the export was split up")])
    fetch([f"archive:{write_zip(tmp_path / 'full.zip', files)}"])
    bare = tmp_path / "tweets.js"
    bare.write_bytes(x_files([tweet("2", "a later post from a bare tweets file")])["data/tweets.js"])
    [r] = fetch([f"archive:{bare}"], SourceOptions(handle="marsh_warbler"))
    assert r.total == 2  # merged into the account stored under its id, not a second account
