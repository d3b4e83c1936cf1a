"""Outputs of the tools people used to collect posts, read without flags (issue: real-world inputs).

Every file is written here in the exact layout the tool writes (made-up people): snscrape JSONL,
twarc (v1.1 statuses) and twarc2 (whole API v2 responses per line, and flattened), twint CSV and JSON,
minimaxir's download-tweets-ai-text-gen CSV, Tweepy dumps of v1.1 and v2 objects. Each signal of a
reply, retweet or quote the format carries is used; a format that carries none says "unknown".
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from huggingtweets.api import DataWarning, prepare
from huggingtweets.dataset.clean import CleanOptions
from huggingtweets.errors import NotEnoughDataError
from huggingtweets.sources import SourceOptions, open_source
from cli_runner import run



def read(path: Path, **options) -> tuple[object, list]:
    src = open_source(f"file:{path}", SourceOptions(**options))
    return src, [p for page in src.pages({}) for p in page]


def kinds(posts) -> dict[str, str]:
    return {p.text: p.kind for p in posts}


def dataset_texts(ds) -> set[str]:
    rows = []
    for name in ("train.jsonl", "valid.jsonl"):
        rows += [json.loads(line) for line in (ds.path / name).read_text().splitlines() if line.strip()]
    return {r["text"] for r in rows}


# -- snscrape ---------------------------------------------------------------------------------------

def _sn_user(name: str, uid: int) -> dict:
    return {"_type": "snscrape.modules.twitter.User", "username": name, "id": uid,
            "displayname": name.title(), "profileImageUrl": f"https://pbs.example/{name}.jpg"}


def _sn_tweet(i: int, text: str, *, user=("ada_marsh", 11), **kw) -> dict:
    t = {"_type": "snscrape.modules.twitter.Tweet", "url": f"https://twitter.com/{user[0]}/status/{i}",
         "date": f"2023-02-0{i % 9 + 1}T10:00:00+00:00", "rawContent": text, "renderedContent": text,
         "id": i, "user": _sn_user(*user), "lang": "en", "retweetedTweet": None, "quotedTweet": None,
         "inReplyToTweetId": None, "inReplyToUser": None, "mentionedUsers": None}
    t.update(kw)
    return t


def test_snscrape_jsonl_reads_every_signal(tmp_path):
    other = _sn_tweet(900, "The ferry timetable changed again", user=("kit_ramos", 22))
    lines = [
        _sn_tweet(1, "Counted forty lapwings over the flooded meadow today"),
        _sn_tweet(2, "@kit_ramos yes, the early ferry is the only sane option",
                  inReplyToTweetId=900, inReplyToUser=_sn_user("kit_ramos", 22)),
        _sn_tweet(3, "and the second half of the thread goes here, as promised",
                  inReplyToTweetId=1, inReplyToUser=_sn_user("ada_marsh", 11)),
        _sn_tweet(4, "RT @kit_ramos: The ferry timetable changed again", retweetedTweet=other),
        _sn_tweet(5, "Exactly what I said last week about the timetable", quotedTweet=other),
    ]
    path = tmp_path / "ada.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    src, posts = read(path)
    assert "snscrape" in src.describe()
    assert src.profile().handle == "ada_marsh" and src.profile().name == "Ada_Marsh"
    assert src.profile().account_id == "11"
    assert src.profile().unknown == []
    assert kinds(posts) == {
        "Counted forty lapwings over the flooded meadow today": "original",
        "@kit_ramos yes, the early ferry is the only sane option": "reply",
        "and the second half of the thread goes here, as promised": "original",  # a reply to oneself
        "RT @kit_ramos: The ferry timetable changed again": "retweet",
        "Exactly what I said last week about the timetable": "quote",
    }
    assert [p.created_at for p in posts][0] == "2023-02-02T10:00:00Z"
    ds = prepare([f"file:{path}"], tmp_path / "ds", min_chars=0,
                 clean=CleanOptions(replies=False))
    u = ds.stats.users[0]
    assert (u.downloaded, u.retweets, u.replies, u.kept) == (5, 1, 1, 3)


def test_snscrape_older_content_field(tmp_path):
    old = {"url": "https://twitter.com/ada_marsh/status/7", "date": "2021-05-01T10:00:00+00:00",
           "content": "Old snscrape wrote the text under content, with renderedContent beside it",
           "renderedContent": "Old snscrape wrote the text under content, with renderedContent beside it",
           "id": 7, "user": _sn_user("ada_marsh", 11), "retweetedTweet": None, "quotedTweet": None,
           "inReplyToTweetId": None}
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps(old) + "\n" + json.dumps({**old, "id": 8, "content": "second post here",
                                                          "renderedContent": "second post here"}) + "\n")
    src, posts = read(path)
    assert [p.text for p in posts][0].startswith("Old snscrape wrote")
    assert posts[0].id == "7"


# -- twarc / twarc2 / Tweepy ----------------------------------------------------------------------------

def _v2(i: str, text: str, **kw) -> dict:
    return {"id": i, "text": text, "author_id": "501", "created_at": "2022-09-0%sT10:00:00.000Z" % i[-1],
            "conversation_id": i, "lang": "en", "edit_history_tweet_ids": [i], **kw}


V2_POSTS = [
    _v2("1001", "Planted the garlic before the frost, just in time &amp; no regrets"),
    _v2("1002", "@kit_ramos that is the one, the blue gate by the orchard",
        in_reply_to_user_id="777", referenced_tweets=[{"type": "replied_to", "id": "999"}]),
    _v2("1003", "RT @kit_ramos: Seed swap on Saturday at the library",
        referenced_tweets=[{"type": "retweeted", "id": "998"}]),
    _v2("1004", "This is the best advice anyone gave me about onions",
        referenced_tweets=[{"type": "quoted", "id": "997"}]),
    _v2("1005", "continuing my own thread with the second garlic photo",
        in_reply_to_user_id="501", referenced_tweets=[{"type": "replied_to", "id": "1001"}]),
]
V2_USERS = {"users": [{"id": "501", "username": "bea_okafor", "name": "Bea Okafor"}]}
V2_EXPECTED = {
    "Planted the garlic before the frost, just in time & no regrets": "original",
    "@kit_ramos that is the one, the blue gate by the orchard": "reply",
    "RT @kit_ramos: Seed swap on Saturday at the library": "retweet",
    "This is the best advice anyone gave me about onions": "quote",
    "continuing my own thread with the second garlic photo": "original",
}


def test_twarc2_one_response_per_line(tmp_path):
    lines = [
        {"data": V2_POSTS[:3], "includes": V2_USERS, "meta": {"result_count": 3, "next_token": "x"},
         "__twarc": {"url": "https://api.twitter.com/2/users/501/tweets", "version": "2.14.0"}},
        {"data": V2_POSTS[3:], "includes": V2_USERS, "meta": {"result_count": 2},
         "__twarc": {"url": "https://api.twitter.com/2/users/501/tweets", "version": "2.14.0"}},
    ]
    path = tmp_path / "timeline.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    src, posts = read(path)
    assert src.profile().handle == "bea_okafor" and src.profile().name == "Bea Okafor"
    assert "X API v2" in src.describe()
    assert kinds(posts) == V2_EXPECTED  # the X API escapes & once: decoded once
    assert {p.id for p in posts} == {"1001", "1002", "1003", "1004", "1005"}


def test_twarc2_flattened_lines(tmp_path):
    # `twarc2 flatten` writes one post per line with its author expanded in place.
    author = {"id": "501", "username": "bea_okafor", "name": "Bea Okafor"}
    path = tmp_path / "flat.jsonl"
    path.write_text("\n".join(json.dumps({**p, "author": author, "__twarc": {"version": "2.14.0"}})
                              for p in V2_POSTS) + "\n")
    src, posts = read(path)
    assert src.profile().handle == "bea_okafor"
    assert kinds(posts) == V2_EXPECTED


def _v1(i: str, text: str, **kw) -> dict:
    return {"created_at": "Tue Mar 01 10:00:0%s +0000 2022" % i[-1], "id": int(i), "id_str": i,
            "full_text": text, "truncated": False, "in_reply_to_status_id": None,
            "in_reply_to_status_id_str": None, "in_reply_to_user_id_str": None,
            "in_reply_to_screen_name": None, "is_quote_status": False, "retweeted": True,
            "user": {"id_str": "601", "screen_name": "cal_ito", "name": "Cal Ito"}, "lang": "en", **kw}


V1_POSTS = [
    _v1("2001", "Fixed the bike chain with a paperclip &amp; hope, it held"),
    _v1("2002", "@dee_w no, the paperclip was your idea", in_reply_to_status_id=1999,
        in_reply_to_status_id_str="1999", in_reply_to_screen_name="dee_w"),
    _v1("2003", "RT @dee_w: Bike repair cafe on Sunday", retweeted_status={"id_str": "1998"}),
    _v1("2004", "Quoting this because it is the truest thing about bikes", is_quote_status=True,
        quoted_status={"id_str": "1997"}),
]


def test_twarc_v1_jsonl_and_tweepy_v1_dump(tmp_path):
    jsonl = tmp_path / "tweets.jsonl"
    jsonl.write_text("\n".join(json.dumps(x) for x in V1_POSTS) + "\n")
    dump = tmp_path / "tweepy.json"  # [status._json for status in tweepy.Cursor(...).items()]
    dump.write_text(json.dumps(V1_POSTS))
    for path in (jsonl, dump):
        src, posts = read(path)
        assert src.profile().handle == "cal_ito"
        # `retweeted: true` only says the logged-in user retweeted it: not a sign of a retweet
        assert kinds(posts) == {
            "Fixed the bike chain with a paperclip & hope, it held": "original",
            "@dee_w no, the paperclip was your idea": "reply",
            "RT @dee_w: Bike repair cafe on Sunday": "retweet",
            "Quoting this because it is the truest thing about bikes": "quote",
        }


def test_tweepy_v2_dump_of_post_objects(tmp_path):
    path = tmp_path / "tweepy_v2.json"  # [tweet.data for tweet in paginator.flatten()]
    path.write_text(json.dumps(V2_POSTS))
    src, posts = read(path, handle="bea_okafor")
    assert kinds(posts) == V2_EXPECTED


# -- twint -----------------------------------------------------------------------------------------

TWINT_HEADER = ["id", "conversation_id", "created_at", "date", "time", "timezone", "user_id", "username",
                "name", "place", "tweet", "language", "mentions", "urls", "photos", "replies_count",
                "retweets_count", "likes_count", "hashtags", "cashtags", "link", "retweet", "quote_url",
                "video", "thumbnail", "near", "geo", "source", "user_rt_id", "user_rt", "retweet_id",
                "reply_to", "retweet_date", "translate", "trans_src", "trans_dest"]


def _twint_row(i: int, text: str, *, retweet=False, quote_url="", reply_to="[]") -> dict:
    return {"id": str(3000 + i), "conversation_id": str(3000 + i), "created_at": "2020-03-23 19:10:0%d CET" % i,
            "date": "2020-03-23", "time": "19:10:0%d" % i, "timezone": "+0100", "user_id": "701",
            "username": "dora_lind", "name": "Dora Lind", "place": "", "tweet": text, "language": "en",
            "mentions": "[]", "urls": "[]", "photos": "[]", "replies_count": "0", "retweets_count": "0",
            "likes_count": "0", "hashtags": "[]", "cashtags": "[]", "link": "", "retweet": str(retweet),
            "quote_url": quote_url, "video": "0", "thumbnail": "", "near": "", "geo": "", "source": "",
            "user_rt_id": "", "user_rt": "", "retweet_id": "", "reply_to": reply_to, "retweet_date": "",
            "translate": "", "trans_src": "", "trans_dest": ""}


TWINT_ROWS = [
    _twint_row(1, "Spring cleaning the shed & finding three lost trowels"),
    _twint_row(2, "@eli_m you can borrow one of the trowels, I have plenty",
               reply_to="[{'screen_name': 'eli_m', 'name': 'Eli M', 'id': '702'}]"),
    _twint_row(3, "The community garden opens on Saturday, bring gloves", retweet=True),
    _twint_row(4, "So true, every gardener needs to read this one",
               quote_url="https://twitter.com/eli_m/status/2999"),
    _twint_row(5, "second part of my own shed story, the trowels were under the sacks",
               reply_to="[{'screen_name': 'dora_lind', 'name': 'Dora Lind', 'id': '701'}]"),
]
TWINT_EXPECTED = {
    "Spring cleaning the shed & finding three lost trowels": "original",
    "@eli_m you can borrow one of the trowels, I have plenty": "reply",
    "The community garden opens on Saturday, bring gloves": "retweet",
    "So true, every gardener needs to read this one": "quote",
    "second part of my own shed story, the trowels were under the sacks": "original",
}


def test_twint_csv_with_local_time(tmp_path):
    path = tmp_path / "tweets.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=TWINT_HEADER)
        w.writeheader()
        w.writerows(TWINT_ROWS)
    src, posts = read(path)
    assert "twint" in src.describe()
    assert src.profile().handle == "dora_lind"
    assert kinds(posts) == TWINT_EXPECTED
    # 19:10:01 local time at +0100 is 18:10:01 UTC
    assert posts[0].created_at == "2020-03-23T18:10:01Z"


def test_twint_json_lines(tmp_path):
    rows = []
    for r in TWINT_ROWS:
        obj = dict(r)
        obj["retweet"] = r["retweet"] == "True"
        obj["reply_to"] = eval(r["reply_to"])  # noqa: S307 - a literal written above
        obj["id"] = int(r["id"])
        obj["created_at"] = 1584987001000  # twint's JSON writes epoch milliseconds
        rows.append(obj)
    path = tmp_path / "tweets.json"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    src, posts = read(path)
    assert src.profile().handle == "dora_lind"
    assert kinds(posts) == TWINT_EXPECTED


# -- minimaxir's download-tweets-ai-text-gen and formats with no signals -------------------------------

def test_download_tweets_ai_text_gen_csv_reads_without_flags(tmp_path, capsys):
    path = tmp_path / "fay_tweets.csv"
    path.write_text('tweets\n"First loaf of the year came out flat, will try again tomorrow"\n'
                    '"The river path is flooded again, take the high road"\n'
                    '"""Quotes inside"" a post survive the csv round trip fine"\n', encoding="utf-8")
    code, table, err = run(capsys, "prepare", f"file:{path}", "--handle", "fay", "-o", str(tmp_path / "ds"),
                           "--min-chars", "0", "--no-replies", "-q")
    assert code == 0, err
    assert "does not say which posts are replies, so --no-replies could not drop any" in err
    assert table.split("Retweets", 1)[1].split("\n")[0].split() == ["unknown"]
    assert table.split("Replies", 1)[1].split("\n")[0].split() == ["unknown"]
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["users"][0]["kept"] == 3 and stats["users"][0]["unknown"] == ["replies", "retweets"]


def test_a_table_with_reply_columns_knows_its_replies(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text("text,in_reply_to_status_id,is_retweet\n"
                    "the harbour lights were beautiful tonight,,false\n"
                    "@gus I agree with every word of that,123,false\n"
                    "someone else wrote this one originally,,true\n", encoding="utf-8")
    with pytest.warns(DataWarning):
        ds = prepare([f"file:{path}"], tmp_path / "ds", min_chars=0,
                     source_options=SourceOptions(handle="hal"),
                     clean=CleanOptions(replies=False))
    u = ds.stats.users[0]
    assert (u.retweets, u.replies, u.kept) == (1, 1, 1)
    assert u.unknown == []


def test_card_table_says_unknown(tmp_path):
    from huggingtweets.card.card import _table_lines
    from huggingtweets.dataset.folder import AccountStats

    acc = AccountStats.from_dict({"handle": "fay", "name": "Fay", "downloaded": 3, "retweets": 0, "short": 0,
                                  "kept": 3, "unknown": ["replies", "retweets"]})
    lines = "\n".join(_table_lines([acc]))
    assert "| Retweets | unknown |" in lines and "| Replies | unknown |" in lines


def test_an_empty_dataset_is_an_error_even_with_no_minimum(tmp_path, capsys):
    path = tmp_path / "short.txt"
    path.write_text("ok\nyes indeed\nhttps://example.com\n")
    with pytest.raises(NotEnoughDataError, match=r"no usable text .*dropped 3 as short \(--min-words N\)"):
        prepare([f"file:{path}"], tmp_path / "ds", min_chars=0, source_options=SourceOptions(handle="ivy"))
    code, out, err = run(capsys, "prepare", f"file:{path}", "--handle", "ivy", "-o", str(tmp_path / "d2"),
                         "--min-chars", "0", "-q")
    assert code != 0
    assert "Traceback" not in err and "--min-words" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d2").exists()


def test_following_the_text_column_advice_works(tmp_path, capsys):
    # A layout no profile knows: the error names --text-column, and following it gives a dataset.
    path = tmp_path / "export.csv"
    path.write_text("when,words\n2022-01-01,the first post of the new year is this one\n"
                    "2022-01-02,and then a second post about the weather here\n", encoding="utf-8")
    code, _, err = run(capsys, "prepare", f"file:{path}", "--handle", "joe", "--min-chars", "0", "-q",
                       "-o", str(tmp_path / "ds"))
    assert code != 0 and "--text-column" in err
    code, _, err = run(capsys, "prepare", f"file:{path}", "--handle", "joe", "--min-chars", "0", "-q",
                       "-o", str(tmp_path / "ds"), "--text-column", "words")
    assert code == 0, err
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["users"][0]["kept"] == 2


# -- files that are not text at all ------------------------------------------------------------------

@pytest.mark.parametrize("name, content, says", [
    ("my.zip", None, "is a zip archive, not a file of posts: for an account's export use archive:"),
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "is a PNG image"),
    ("notes.txt", b"%PDF-1.7\n" + bytes(range(256)) * 8, "is a PDF document"),
    ("repo.car", b"\x3a\xa2eroots\x81\xd8\x2a" + bytes(range(256)) * 8, "a CAR file (a Bluesky repository export)"),
    ("random.txt", bytes((i * 7919 + 13) % 256 for i in range(4000)), "is binary data ("),
    ("tool", b"\x7fELF\x02\x01\x01" + bytes(600), "is a program"),
])
def test_binary_files_are_refused_with_what_they_are(tmp_path, capsys, name, content, says):
    path = tmp_path / name
    if content is None:
        import zipfile
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data/tweets.js", "window.YTD.tweets.part0 = []")
    else:
        path.write_bytes(content)
    code, out, err = run(capsys, "prepare", f"file:{path}", "--handle", "kim", "--min-chars", "0", "-q",
                         "-o", str(tmp_path / "ds"))
    assert code == 1 and says in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and not (tmp_path / "ds").exists()


def test_an_output_folder_under_a_file_is_a_clear_error(tmp_path, capsys):
    src = tmp_path / "posts.txt"
    src.write_text("one post that is long enough\nand another post that is long enough\n")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, _, err = run(capsys, "prepare", f"file:{src}", "--handle", "kim", "--min-chars", "0", "-q",
                       "-o", str(blocker / "ds"))
    assert code == 1 and "a part of that path is a file; choose another folder with -o" in err
