"""file:PATH — CSV, TSV, JSON, JSONL and text files, written here in the formats found in the wild."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huggingtweets import api
from huggingtweets.errors import (FileFormatError, HandleRequiredError, InvalidHandleError,
                                  SourceNotFoundError, UsageError)
from huggingtweets.sources import SourceOptions, open_source
from huggingtweets.sources.files import PAGE_SIZE, FileSource, content_id, parse_date
from huggingtweets.store import Store

# Real samples in ../shared/formats beside the checkout (read only; skipped when absent)
SHARED_V2 = Path(__file__).resolve().parents[2] / "shared" / "formats" / "tweepy_x_api_v2_users_783214_tweets_response.json"


def load(path: Path, handle: str | None = "jane", **opts):
    src = open_source(f"file:{path}", SourceOptions(handle=handle, **opts))
    posts = [p for page in src.pages({}) for p in page]
    return src, posts


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def v11_status(id_: int, full_text: str, **extra) -> dict:
    status = {
        "created_at": "Wed Jul 27 15:19:52 +0000 2022", "id": id_, "id_str": str(id_), "full_text": full_text,
        "truncated": False, "lang": "en", "retweeted": False, "in_reply_to_status_id": None,
        "in_reply_to_status_id_str": None, "in_reply_to_screen_name": None,
        "entities": {"urls": [{"url": "https://t.co/x", "expanded_url": "https://example.com"}]},
        "user": {"id_str": "42", "screen_name": "JaneDoe", "name": "Jane Doe",
                 "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/jane_normal.jpg"},
    }
    status.update(extra)
    return status


# -- formats ---------------------------------------------------------------------------------------------


def test_csv_with_quoted_multiline_fields(tmp_path):
    path = write(tmp_path / "posts.csv",
                 'id,created_at,text\n'
                 '1001,2022-07-27 15:19:52,"first line\nsecond line, with a comma"\n'
                 '1002,2022-07-28T10:00:00Z,"she said ""hi"" to me"\n')
    src, posts = load(path)
    assert src.info.format == "csv" and src.info.delimiter == ","
    assert src.describe() == "CSV (UTF-8), text column 'text'"
    assert [p.id for p in posts] == ["1001", "1002"]
    assert posts[0].text == "first line\nsecond line, with a comma"
    assert posts[1].text == 'she said "hi" to me'
    assert posts[0].created_at == "2022-07-27T15:19:52Z"
    assert posts[0].raw == {"id": "1001", "created_at": "2022-07-27 15:19:52",
                            "text": "first line\nsecond line, with a comma"}
    assert src.profile().extra["file"]["text_column"] == "text"


def test_tsv_and_semicolon_delimiters_are_sniffed(tmp_path):
    tsv = write(tmp_path / "export.tsv", "tweet_id\tTweet Text\tlikes\n7\tcoffee, then code; then sleep\t3\n")
    src, posts = load(tsv)
    assert (src.info.format, src.info.delimiter, src.info.text_column) == ("tsv", "\t", "Tweet Text")
    assert posts[0].text == "coffee, then code; then sleep" and posts[0].id == "7"

    semi = write(tmp_path / "euro.csv", "id;content;date\n8;bonjour, tout le monde;27/07/2022 15:19\n")
    src, posts = load(semi)
    assert (src.info.format, src.info.delimiter) == ("csv", ";")
    assert src.describe() == "CSV (UTF-8, ';' delimited), text column 'content'"
    assert posts[0].text == "bonjour, tout le monde" and posts[0].created_at == "2022-07-27T15:19:00Z"


def test_format_is_sniffed_from_content_not_extension(tmp_path):
    table = write(tmp_path / "download", "username,tweet\njane,a table without an extension\n")
    src, posts = load(table, handle=None)
    assert src.info.format == "csv" and posts[0].text == "a table without an extension"

    lines = write(tmp_path / "posts.dat", '{"text": "one"}\n{"text": "two"}\n')
    src, posts = load(lines)
    assert src.info.format == "jsonl" and [p.text for p in posts] == ["one", "two"]

    array = write(tmp_path / "posts.txt", json.dumps([{"body": "json in a .txt file"}]))
    src, posts = load(array)
    assert src.info.format == "json" and posts[0].text == "json in a .txt file"

    bracket = write(tmp_path / "notes.txt", "[draft] not json at all\nsecond post\n")
    src, posts = load(bracket)
    assert src.info.format == "txt" and [p.text for p in posts] == ["[draft] not json at all", "second post"]


def test_utf8_bom_decodes_non_ascii_text(tmp_path):
    path = write(tmp_path / "bom.csv", "\ufefftext,id\nCafé ’quoted’ costs 5 €,1\n", "utf-8")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    src, posts = load(path)
    assert src.info.encoding == "utf-8-sig" and src.info.columns == ["text", "id"]
    assert posts[0].text == "Café ’quoted’ costs 5 €"
    assert src.describe() == "CSV (UTF-8 with BOM), text column 'text'"


def test_cp1252_decodes_non_ascii_text_and_undefined_bytes(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("text,id\nCafé ’quoted’ costs 5 €,1\n".encode("cp1252") + b"odd \x81 byte here,2\n")
    src, posts = load(path)
    assert src.info.encoding == "cp1252"
    assert [p.text for p in posts] == ["Café ’quoted’ costs 5 €", "odd \x81 byte here"]


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("text\tid\nnaïve résumé €\t5\n".encode("utf-16"))
    src, posts = load(path)
    assert (src.info.encoding, src.info.format) == ("utf-16", "tsv")
    assert posts[0].text == "naïve résumé €"


def test_jsonl(tmp_path):
    path = write(tmp_path / "posts.jsonl",
                 '{"id": "11", "text": "hello there friends", "created_at": 1658935192}\n\n'
                 '{"id": 12, "Text": "from ms epoch", "created_at": 1658935192000, "lang": "fr"}\n'
                 '"just a string"\n')
    src, posts = load(path)
    assert src.info.format == "jsonl"
    assert [(p.id, p.text) for p in posts][:2] == [("11", "hello there friends"), ("12", "from ms epoch")]
    assert posts[0].created_at == posts[1].created_at == "2022-07-27T15:19:52Z"
    assert posts[1].lang == "fr"
    assert posts[2].text == "just a string" and len(posts[2].id) == 16


def test_txt_one_post_per_line_and_repeated_lines_stay_distinct(tmp_path):
    path = write(tmp_path / "posts.txt", "first post here\r\n\r\n  indented post\nsame line\nsame line\n")
    src, posts = load(path)
    assert src.describe() == "plain text (UTF-8), one post per line"
    assert [p.text for p in posts] == ["first post here", "  indented post", "same line", "same line"]
    assert len({p.id for p in posts}) == 4
    assert [p.id for p in load(path)[1]] == [p.id for p in posts]  # stable across reads
    assert posts[0].id == content_id("first post here", None)


def test_text_column_option(tmp_path):
    path = write(tmp_path / "posts.csv", "id,notes,caption\n1,ignore me,the real text\n")
    src, posts = load(path, text_column="Caption")
    assert src.info.text_column == "caption" and posts[0].text == "the real text"

    with pytest.raises(FileFormatError) as err:
        load(path, text_column="words")
    assert str(err.value) == (f"{path}: no column 'words' (columns: id, notes, caption); "
                              f"pass --text-column with one of them")

    js = write(tmp_path / "posts.json", json.dumps([{"id": "1", "msg": "json text", "text": "other"}]))
    assert load(js, text_column="msg")[1][0].text == "json text"
    with pytest.raises(FileFormatError, match=r"no key 'words' in the posts \(keys: id, msg, text\)"):
        load(js, text_column="words")


# -- ids, kinds, dates -----------------------------------------------------------------------------------


def test_mangled_ids_get_stable_content_ids(tmp_path):
    path = write(tmp_path / "posts.csv",
                 "id,text,created_at\n"
                 "1.07991E+18,first mangled,2022-07-27 15:19:52\n"
                 "1.07991E+18,second mangled,2022-07-27 15:19:53\n"
                 "1079910000000000000,padded by a spreadsheet,\n"
                 "1079912345678901234,a genuine id,\n"
                 "1234.0,written as a float,\n"
                 ",no id at all,\n")
    _, posts = load(path)
    ids = [p.id for p in posts]
    assert ids[0] == content_id("first mangled", "2022-07-27T15:19:52Z")
    assert ids[1] == content_id("second mangled", "2022-07-27T15:19:53Z")
    assert ids[2] == content_id("padded by a spreadsheet", None)
    assert ids[3:5] == ["1079912345678901234", "1234"]
    assert ids[5] == content_id("no id at all", None)
    assert len(set(ids)) == 6


@pytest.mark.parametrize("value,kind", [
    ("TRUE", "retweet"), ("True", "retweet"), ("true", "retweet"), ("1", "retweet"), ("yes", "retweet"),
    ("FALSE", "original"), ("False", "original"), ("0", "original"), ("", "original"),
])
def test_is_retweet_column_spellings(tmp_path, value, kind):
    path = write(tmp_path / "posts.csv", f"text,is_retweet\nsomething worth saying,{value}\n")
    assert load(path)[1][0].kind == kind


def test_kinds_from_csv_columns(tmp_path):
    path = write(tmp_path / "posts.csv",
                 "tweet,isRetweet,in_reply_to_status_id,in_reply_to_screen_name,is_quote_status\n"
                 "RT @bob: copied words,false,,,\n"
                 "@bob answering you,false,55,bob,\n"
                 "continuing my thread,false,56,jane,\n"
                 "look at this,false,,,True\n"
                 "just a thought,False,nan,,False\n")
    _, posts = load(path)
    assert [p.kind for p in posts] == ["retweet", "reply", "original", "quote", "original"]
    assert posts[1].in_reply_to == "55" and posts[2].in_reply_to == "56"


def test_v11_status_array(tmp_path):
    statuses = [
        v11_status(1, "Fish &amp; chips &lt;3 — café", retweeted=True),  # retweeted by the logged-in user
        v11_status(2, "RT @bob: his words", retweeted_status={"id_str": "9", "full_text": "his words"}),
        v11_status(3, "@bob no", in_reply_to_status_id=9, in_reply_to_status_id_str="9",
                   in_reply_to_screen_name="bob", in_reply_to_user_id_str="77"),
        v11_status(4, "part two", in_reply_to_status_id_str="3", in_reply_to_screen_name="JaneDoe"),
        v11_status(5, "see this https://t.co/q", is_quote_status=True, quoted_status={"id_str": "8"}),
    ]
    long = v11_status(6, "", truncated=True, text="cut short…",
                      extended_tweet={"full_text": "the whole long text &amp; more"})
    del long["full_text"]
    plain = v11_status(7, "")
    del plain["full_text"]
    plain["text"] = "only text here"
    path = write(tmp_path / "statuses.json", json.dumps(statuses + [long, plain]))
    src, posts = load(path, handle=None)
    assert src.describe() == "JSON (UTF-8), X API v1.1 posts"
    prof = src.profile()
    assert (prof.handle, prof.name) == ("JaneDoe", "Jane Doe")
    assert prof.avatar_url == "https://pbs.twimg.com/profile_images/1/jane_normal.jpg"
    assert [p.id for p in posts] == ["1", "2", "3", "4", "5", "6", "7"]
    assert [p.kind for p in posts] == ["original", "retweet", "reply", "original", "quote", "original", "original"]
    assert posts[0].text == "Fish & chips <3 — café"
    assert posts[5].text == "the whole long text & more"
    assert posts[6].text == "only text here"
    assert posts[0].created_at == "2022-07-27T15:19:52Z" and posts[0].lang == "en"
    assert posts[2].in_reply_to == "9"
    assert posts[0].raw["user"]["screen_name"] == "JaneDoe"


def test_v2_data_with_referenced_tweets_and_note_tweet(tmp_path):
    doc = {
        "data": [
            {"id": "100", "text": "short &amp; cut… https://t.co/a", "author_id": "42",
             "created_at": "2023-03-01T12:00:00.000Z", "edit_history_tweet_ids": ["100"],
             "note_tweet": {"text": "the full long note &amp; all of it"}},
            {"id": "101", "text": "RT @bob: boosted", "author_id": "42",
             "referenced_tweets": [{"type": "retweeted", "id": "90"}]},
            {"id": "102", "text": "@bob sure", "author_id": "42", "in_reply_to_user_id": "77",
             "referenced_tweets": [{"type": "replied_to", "id": "91"}]},
            {"id": "103", "text": "and another thing", "author_id": "42", "in_reply_to_user_id": "42",
             "referenced_tweets": [{"type": "replied_to", "id": "100"}]},
            {"id": "104", "text": "look", "author_id": "42", "referenced_tweets": [{"type": "quoted", "id": "92"}]},
        ],
        "includes": {"users": [{"id": "42", "username": "jane_v2", "name": "Jane Two",
                                "profile_image_url": "https://pbs.twimg.com/j.jpg"},
                               {"id": "77", "username": "bob", "name": "Bob"}]},
        "meta": {"result_count": 5},
    }
    path = write(tmp_path / "v2.json", json.dumps(doc))
    src, posts = load(path, handle=None)
    assert src.describe() == "JSON (UTF-8), X API v2 posts"
    prof = src.profile()
    assert (prof.handle, prof.name, prof.avatar_url) == ("jane_v2", "Jane Two", "https://pbs.twimg.com/j.jpg")
    assert posts[0].text == "the full long note & all of it"
    assert posts[0].created_at == "2023-03-01T12:00:00Z"
    assert [p.kind for p in posts] == ["original", "retweet", "reply", "original", "quote"]
    assert posts[2].in_reply_to == "91"


def test_object_holding_posts_under_other_keys(tmp_path):
    for key in ("tweets", "statuses", "posts", "items"):
        path = write(tmp_path / f"{key}.json", json.dumps({"count": 1, key: [{"content": f"under {key}"}]}))
        assert load(path)[1][0].text == f"under {key}"
    nested = write(tmp_path / "nested.json", json.dumps({"meta": {}, "export": {"rows": [{"text": "deep"}]}}))
    assert load(nested)[1][0].text == "deep"


def test_json_array_of_strings(tmp_path):
    path = write(tmp_path / "posts.json", json.dumps(["first &amp; kept as is", "second"]))
    src, posts = load(path)
    assert src.describe() == "JSON (UTF-8), one post per string"
    assert [p.text for p in posts] == ["first &amp; kept as is", "second"]


def test_name_column_without_handle_column(tmp_path):
    path = write(tmp_path / "posts.csv", "name,text\nJane Doe,hello there\n")
    assert load(path)[0].profile().name == "Jane Doe"


@pytest.mark.skipif(not SHARED_V2.exists(), reason="the shared sample of an X API v2 response is not here")
def test_real_x_api_v2_response():
    src, posts = load(SHARED_V2, handle="jack")
    assert src.info.flavor == "X API v2"
    assert [p.id for p in posts] == ["1577730467436138524", "1565318587736285184"]
    assert posts[0].text.startswith("whoa, it works\n\nnow everyone can mix GIFs")
    assert all(p.kind == "original" for p in posts)


@pytest.mark.parametrize("value,expected", [
    ("Wed Jul 27 15:19:52 +0000 2022", "2022-07-27T15:19:52Z"),
    ("2022-07-27T15:19:52Z", "2022-07-27T15:19:52Z"),
    ("2022-07-27T17:19:52+02:00", "2022-07-27T15:19:52Z"),
    ("2022-07-27T15:19:52.123456", "2022-07-27T15:19:52Z"),
    ("2022-07-27 15:19:52", "2022-07-27T15:19:52Z"),
    ("2022-07-27 15:19:52 +0000", "2022-07-27T15:19:52Z"),
    ("2022-07-27 15:19:52 UTC", "2022-07-27T15:19:52Z"),
    ("Wed, 27 Jul 2022 15:19:52 +0000", "2022-07-27T15:19:52Z"),
    (1658935192, "2022-07-27T15:19:52Z"),
    ("1658935192000", "2022-07-27T15:19:52Z"),
    (1658935192000.0, "2022-07-27T15:19:52Z"),
    ("7/27/2022 15:19", "2022-07-27T15:19:00Z"),
    ("03/04/2022", None),  # March or April: no guess
    ("yesterday", None), ("", None), (None, None), ("2022", None), ("99999999999999999999", None),
    ("2022-13-45 99:99:99", None),
])
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_twint_style_separate_date_and_time(tmp_path):
    path = write(tmp_path / "t.csv", "date,time,tweet\n2020-01-14,15:29:00,an old post from twint\n")
    assert load(path)[1][0].created_at == "2020-01-14T15:29:00Z"


def test_bad_date_is_kept_as_none(tmp_path):
    path = write(tmp_path / "posts.csv", "text,created_at\nstill imported,not a date\n")
    assert load(path)[1][0].created_at is None


# -- whose posts ------------------------------------------------------------------------------------------


def test_handle_and_name_from_the_data(tmp_path):
    path = write(tmp_path / "posts.csv", "screen_name,name,text\n@Jane_Doe,Jane D,hello\nJane_Doe,,again\n")
    src = open_source(f"file:{path}")
    prof = src.profile()
    assert (prof.handle, prof.name) == ("Jane_Doe", "Jane D")
    assert src.network == "file"


def test_several_handles_need_handle_which_picks_one(tmp_path):
    path = write(tmp_path / "posts.csv", "username,text\nalice,from alice\nbob,from bob\ncarol,from carol\n"
                                         "alice,more alice\n")
    with pytest.raises(UsageError) as err:
        open_source(f"file:{path}")
    assert str(err.value) == (f"{path} holds posts of 3 accounts (alice, bob, carol): pass --handle NAME "
                              f"to import one of them (one file = one account)")
    _, posts = load(path, handle="@Alice")
    assert [p.text for p in posts] == ["from alice", "more alice"]
    with pytest.raises(UsageError, match="none of them 'dave'"):
        load(path, handle="dave")


def test_handle_given_overrides_a_single_data_handle(tmp_path):
    path = write(tmp_path / "posts.csv", "username,text\nold_name,hello world\n")
    src, posts = load(path, handle="new_name")
    assert src.profile().handle == "new_name" and len(posts) == 1


def test_no_handle_anywhere(tmp_path):
    path = write(tmp_path / "posts.txt", "a post\n")
    with pytest.raises(HandleRequiredError) as err:
        open_source(f"file:{path}")
    assert str(err.value) == f"file:{path} does not say whose posts these are: pass --handle NAME"


def test_handles_are_checked(tmp_path):
    path = write(tmp_path / "posts.csv", "handle,text\n../etc,hello\n")
    with pytest.raises(InvalidHandleError):
        open_source(f"file:{path}")
    with pytest.raises(InvalidHandleError):
        load(tmp_path / "posts.csv", handle="a/b")


# -- bad input ------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(SourceNotFoundError) as err:
        open_source(f"file:{tmp_path}/nope.csv", SourceOptions(handle="jane"))
    assert str(err.value) == f"{tmp_path}/nope.csv: no such file or folder; check the path"


def test_folder(tmp_path):
    with pytest.raises(FileFormatError) as err:
        open_source(f"file:{tmp_path}", SourceOptions(handle="jane"))
    assert str(err.value) == (f"{tmp_path} is a folder: file: takes one CSV, TSV, JSON, JSONL or TXT file "
                              f"(for an X archive folder use archive:{tmp_path})")


@pytest.mark.parametrize("content", ["", "\n  \n", "\ufeff"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path / "posts.csv", content)
    with pytest.raises(FileFormatError) as err:
        load(path)
    assert str(err.value) == f"{path}: the file is empty; export the posts again"


def test_invalid_json_says_where(tmp_path):
    path = write(tmp_path / "posts.json", '[\n  {"text": "ok"},\n  {"text": "missing quote}\n]\n')
    with pytest.raises(FileFormatError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: invalid JSON at line 3, column ")
    assert str(err.value).endswith("; fix the file there or export it again")


def test_invalid_jsonl_line(tmp_path):
    path = write(tmp_path / "posts.jsonl", '{"text": "ok"}\n{"text": broken}\n')
    with pytest.raises(FileFormatError, match=r"posts.jsonl: line 2 is not valid JSON \(.* at column 10\); "
                                              r"fix or remove that line"):
        load(path)


@pytest.mark.parametrize("doc", [{"meta": {"result_count": 0}}, [], {"data": []}])
def test_json_without_posts(tmp_path, doc):
    path = write(tmp_path / "posts.json", json.dumps(doc))
    with pytest.raises(FileFormatError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: JSON with ")
    assert "expected an array of posts or an object holding one under \"data\"" in str(err.value)


def test_json_list_of_numbers(tmp_path):
    path = write(tmp_path / "posts.json", "[1, 2, 3]")
    with pytest.raises(FileFormatError, match="the JSON list holds int values, not posts"):
        load(path)


def test_csv_without_text_column(tmp_path):
    path = write(tmp_path / "posts.csv", "id,date,likes\n1,2022-01-01,5\n")
    with pytest.raises(FileFormatError) as err:
        load(path)
    assert str(err.value) == (f"{path}: no text column among id, date, likes; "
                              f"pass --text-column NAME to say which one holds the text")


def test_json_without_text_key(tmp_path):
    path = write(tmp_path / "posts.json", json.dumps([{"id": 1, "words": "x"}]))
    with pytest.raises(FileFormatError, match=r"no text field among the keys id, words; pass --text-column"):
        load(path)


def test_header_only_csv(tmp_path):
    path = write(tmp_path / "posts.csv", "id,text\n")
    with pytest.raises(FileFormatError, match="has column names but no rows"):
        load(path)


def test_unclosed_quote_names_the_line(tmp_path):
    path = write(tmp_path / "posts.csv", 'id,text\n1,fine\n2,"never closed\n' + "x" * 140_000 + "\n")
    with pytest.raises(FileFormatError, match=r"posts.csv: line \d+: .*look for an unclosed quote"):
        load(path)


def test_x_archive_file_points_to_archive_scheme(tmp_path):
    path = write(tmp_path / "tweets.js", 'window.YTD.tweets.part0 = [ {"tweet": {"full_text": "hi"}} ]')
    with pytest.raises(FileFormatError, match="this is a file of an X archive; pass the archive's zip or "
                                              "folder as archive:PATH"):
        load(path)


# -- pages, store, dataset ---------------------------------------------------------------------------------


def test_pages_hold_at_most_5000_posts(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("id,text\n" + "".join(f"{i},post number {i} is here\n" for i in range(PAGE_SIZE * 2 + 1)))
    src = FileSource.from_spec(str(path), f"file:{path}", SourceOptions(handle="jane"))
    assert [len(page) for page in src.pages({})] == [PAGE_SIZE, PAGE_SIZE, 1]


def test_fetch_twice_adds_nothing(tmp_path):
    path = write(tmp_path / "posts.csv",
                 "id,text,created_at\n"
                 "1.07991E+18,a post with a mangled id,2022-07-27 15:19:52\n"
                 ",a post with no id,\n"
                 "5,a post with a real id,\n")
    opts = SourceOptions(handle="jane")
    with Store(tmp_path / "store.sqlite") as store:
        first = api.fetch([f"file:{path}"], opts, store)
        second = api.fetch([f"file:{path}"], opts, store)
    assert (first[0].network, first[0].account, first[0].new, first[0].total) == ("file", "jane", 3, 3)
    assert (second[0].new, second[0].total) == (0, 3)


def test_prepare_on_a_csv(tmp_path):
    rows = ["id,text,is_retweet,in_reply_to_status_id"]
    rows += [f'{i},"post number {i}, which says something",False,' for i in range(1, 21)]
    rows += ["21,RT @bob: not mine,True,", "22,too short,False,", "23,@bob answering you now,False,9",
             '24,"post number 1, which says something",False,']
    path = write(tmp_path / "posts.csv", "\n".join(rows) + "\n")
    ds = api.prepare([f"file:{path}"], tmp_path / "ds", source_options=SourceOptions(handle="jane"),
                     min_chars=0)
    user = ds.stats.users[0]
    assert (user.handle, user.network, user.source) == ("jane", "file", f"file:{path}")
    assert user.downloaded == 24
    assert (user.retweets, user.short, user.duplicates, user.kept) == (1, 1, 1, 21)
    assert user.downloaded == sum(getattr(user, k) for k in ("retweets", "replies", "short", "duplicates", "kept"))
    lines = (tmp_path / "ds" / "train.jsonl").read_text().splitlines()
    lines += (tmp_path / "ds" / "valid.jsonl").read_text().splitlines()
    assert len(lines) == 21


@pytest.mark.parametrize("name, handle", [("pia_lund_tweets.csv", "pia_lund"), ("@Jane_Doe_tweets.txt", "Jane_Doe"),
                                          ("x9_tweets.tsv", "x9"), ("my_tweets.csv", None),
                                          ("jane_tweets_backup.csv", None), ("a_very_long_handle_name_tweets.csv", None)])
def test_a_file_named_after_its_account_by_its_tool_needs_no_handle(tmp_path, name, handle):
    from huggingtweets.errors import HandleRequiredError

    path = tmp_path / name
    path.write_text("tweets\nThe harbour was calm this morning, gulls everywhere\nSecond post about the tide\n",
                    encoding="utf-8")
    if handle is None:
        with pytest.raises(HandleRequiredError):
            open_source(f"file:{path}").profile()
        return
    profile = open_source(f"file:{path}").profile()
    assert profile.handle == handle
    assert any("taken from the file's name" in n for n in profile.extra["notes"])
    given = open_source(f"file:{path}", SourceOptions(handle="someone")).profile()
    assert given.handle == "someone" and not given.extra.get("notes")  # --handle wins, no note
