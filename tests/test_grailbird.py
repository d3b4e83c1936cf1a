"""archive:PATH for X archives from before 2019 ("Grailbird"), zipped or unpacked, read into the real store.

The layout (docs/background.md): ``tweets.csv`` at the top, ``data/js/tweets/YYYY_MM.js`` holding
``Grailbird.data.tweets_YYYY_MM = [...]`` (API v1.1 statuses, ``text`` HTML-escaped once, ``created_at``
like ``2013-05-01 12:00:00 +0000``), ``data/js/user_details.js`` (``var user_details = {...}``),
``data/js/tweet_index.js`` listing the month files, ``data/js/payload_details.js``, and the viewer
(``index.html``, ``css/``, ``js/``) that shows the archive in a browser. Files are written here as X
wrote them: ``"key" : value``, slashes escaped as ``\\/``, newest month and newest post first.
"""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path

import pytest

import huggingtweets as ht
from huggingtweets.errors import ArchiveFormatError, HandleMismatchError, HandleRequiredError
from huggingtweets.sources import SourceOptions, open_source
from huggingtweets.sources.archive import parse_ytd, x_date
from huggingtweets.store import Store

from archive_fixtures import tweet, write_folder, write_zip, x_files
from cli_runner import run

REAL = Path(__file__).resolve().parents[2] / "shared" / "realworld" / "grailbird_archive.zip"

OWN_ID = "271828182"
HANDLE = "quill_heron"
NAME = "Ines Marwood"
OTHER = ("314159265", "dab_chick")  # another account: (id, screen name)


def status(tid: str, text: str, created_at: str, *, urls=(), media=(), reply_to: tuple[str, str, str] | None = None,
           retweet_of: tuple[str, str, str] | None = None) -> dict:
    """One status as a month file holds it; ``text`` is what the author typed, escaped here as X did."""
    t: dict = {
        "source": "\u003Ca href=\"http://twitter.com\" rel=\"nofollow\"\u003ETwitter Web Client\u003C/a\u003E",
        "entities": {
            "user_mentions": [],
            "media": [{"url": short, "expanded_url": f"http://twitter.com/{HANDLE}/status/{tid}/photo/1",
                       "display_url": "pic.twitter.com/" + short[-10:],
                       "media_url_https": "https://pbs.twimg.com/m.jpg",
                       "indices": [text.find(short), text.find(short) + len(short)], "id_str": "7", "id": 7}
                      for short in media],
            "hashtags": [],
            "urls": [{"url": short, "expanded_url": target, "display_url": target[7:30],
                      "indices": [text.find(short), text.find(short) + len(short)]} for short, target in urls],
        },
        "geo": {},
        "id_str": tid,
        "text": html.escape(text, quote=False),
        "id": int(tid),
        "created_at": created_at,
        "user": {"name": NAME, "screen_name": HANDLE, "protected": False, "id_str": OWN_ID, "id": int(OWN_ID),
                 "profile_image_url_https": "https://si0.twimg.com/profile_images/1/q_normal.jpg",
                 "verified": False},
    }
    if reply_to:
        status_id, user_id, screen_name = reply_to
        t.update({"in_reply_to_status_id_str": status_id, "in_reply_to_status_id": int(status_id),
                  "in_reply_to_user_id": int(user_id), "in_reply_to_user_id_str": user_id,
                  "in_reply_to_screen_name": screen_name})
    if retweet_of:
        rid, original, created = retweet_of
        t["retweeted_status"] = {
            "source": "web", "entities": {"user_mentions": [], "media": [], "hashtags": [], "urls": []},
            "geo": {}, "id_str": rid, "text": html.escape(original, quote=False), "id": int(rid),
            "created_at": created,
            "user": {"name": "Dab Chick", "screen_name": OTHER[1], "protected": False, "id_str": OTHER[0],
                     "id": int(OTHER[0]), "verified": False},
        }
    return t


def js(prefix: str, value) -> bytes:
    """``prefix`` then the JSON as X wrote it: two-space indent, ``"key" : value``, ``\\/`` for ``/``."""
    body = json.dumps(value, indent=2, ensure_ascii=False, separators=(",", " : ")).replace("/", "\\/")
    return f"{prefix}{body}".encode()


CSV_COLUMNS = ["tweet_id", "in_reply_to_status_id", "in_reply_to_user_id", "timestamp", "source", "text",
               "retweeted_status_id", "retweeted_status_user_id", "retweeted_status_timestamp", "expanded_urls"]


def tweets_csv(statuses: list[dict]) -> bytes:
    """``tweets.csv`` for the same statuses: every field quoted, text escaped as in the month files."""
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for t in statuses:
        rt = t.get("retweeted_status") or {}
        ents = t["entities"]
        expanded = [u["expanded_url"] for u in ents["urls"]] + [m["expanded_url"] for m in ents["media"]]
        w.writerow([t["id_str"], t.get("in_reply_to_status_id_str", ""), t.get("in_reply_to_user_id_str", ""),
                    t["created_at"], t["source"], t["text"], rt.get("id_str", ""),
                    (rt.get("user") or {}).get("id_str", ""), rt.get("created_at", ""), ",".join(expanded)])
    return out.getvalue().encode()


def grailbird_files(months: dict[str, list[dict]], *, user: bool = True, index: bool = True,
                    with_csv: bool = True, month_files: bool = True, user_id: str | None = OWN_ID) -> dict[str, bytes]:
    """Member name -> bytes of an archive; ``months`` maps ``"2013_05"`` to its statuses, newest first."""
    files: dict[str, bytes] = {
        "index.html": b"<!DOCTYPE html><html><body>Your Twitter archive</body></html>",
        "css/application.min.css": b"body{}",
        "js/application.min.js": b"var Grailbird = function () {};",
        "lib/jquery-1.8.3.min.js": b"/* jquery */",
    }
    order = sorted(months, reverse=True)  # newest first, as X listed them
    everything = [t for key in order for t in months[key]]
    if with_csv:
        files["tweets.csv"] = tweets_csv(everything)
    if user:
        details = {"screen_name": HANDLE, "location": "Fenland", "full_name": NAME, "bio": "Herons, mostly."}
        if user_id is not None:
            details["id"] = user_id
        details["created_at"] = "2009-03-01 10:00:00 +0000"
        files["data/js/user_details.js"] = js("var user_details =  ", details)
    if index:
        files["data/js/tweet_index.js"] = js("var tweet_index =  ", [
            {"file_name": f"data/js/tweets/{key}.js", "year": int(key[:4]), "var_name": f"tweets_{key}",
             "tweet_count": len(months[key]), "month": int(key[5:])} for key in order])
    files["data/js/payload_details.js"] = js("var payload_details =  ", {
        "tweets": len(everything), "created_at": "2014-01-01 00:00:00 +0000", "lang": "en"})
    if month_files:
        for key in order:
            files[f"data/js/tweets/{key}.js"] = js(f"Grailbird.data.tweets_{key} = \n ", months[key])
    return files


# Two months: every kind of post, links, media, and a typed entity.
MONTHS = {
    "2013_06": [
        status("345000000000000006", "Herons & egrets <3 on the old gravel pit, a fine morning",
               "2013-06-14 06:30:00 +0000"),
        status("345000000000000005", "I wrote &lt; in my notes by mistake, the HTML kind, twice over",
               "2013-06-12 21:00:00 +0000"),
        status("345000000000000004", "Nest cam is live at last http://t.co/AbCdEf1234 http://t.co/PiCtUrE567",
               "2013-06-10 08:00:00 +0000", urls=[("http://t.co/AbCdEf1234", "http://herons.example.org/cam")],
               media=["http://t.co/PiCtUrE567"]),
        status("345000000000000003", "RT @dab_chick: Grebe chicks riding on their parents' backs today",
               "2013-06-08 12:00:00 +0000",
               retweet_of=("344999999999999000", "Grebe chicks riding on their parents' backs today",
                           "2013-06-08 11:00:00 +0000")),
    ],
    "2013_05": [
        status("335000000000000003", "and the second one landed right beside it, both grey herons",
               "2013-05-20 09:01:00 +0000", reply_to=("335000000000000002", OWN_ID, HANDLE)),
        status("335000000000000002", "Two herons on the far bank this morning, a thread about them",
               "2013-05-20 09:00:00 +0000"),
        status("335000000000000001", "@dab_chick yes, the hide by the sluice gate is open again now",
               "2013-05-02 07:15:00 +0000", reply_to=("334999999999999999", OTHER[0], OTHER[1])),
    ],
}
KINDS = {"345000000000000006": "original", "345000000000000005": "original", "345000000000000004": "original",
         "345000000000000003": "retweet", "335000000000000003": "original", "335000000000000002": "original",
         "335000000000000001": "reply"}


def read_all(spec: str, **options) -> list:
    src = open_source(spec, SourceOptions(**options))
    return [p for page in src.pages({}) for p in page]


def by_id(posts) -> dict:
    return {p.id: p for p in posts}



def test_zip_reads_every_month_in_order(tmp_path):
    path = write_zip(tmp_path / "tweets.zip", grailbird_files(MONTHS))
    src = open_source(f"archive:{path}")
    assert src.network == "x"
    prof = src.profile()
    assert (prof.handle, prof.name, prof.account_id) == (HANDLE, NAME, OWN_ID)
    assert prof.url == f"https://x.com/{HANDLE}"
    assert prof.extra["skipped"] == ["data/js/payload_details.js", "tweets.csv"]
    posts = [p for page in src.pages({}) for p in page]
    # tweet_index.js order (newest month first), and each file's order (newest post first).
    assert [p.id for p in posts] == [t["id_str"] for key in ("2013_06", "2013_05") for t in MONTHS[key]]
    assert {p.id: p.kind for p in posts} == KINDS


def test_text_is_decoded_once_links_expanded_media_removed(tmp_path):
    posts = by_id(read_all(f"archive:{write_zip(tmp_path / 'a.zip', grailbird_files(MONTHS))}"))
    assert posts["345000000000000006"].text == "Herons & egrets <3 on the old gravel pit, a fine morning"
    # The author typed "&lt;": the file says "&amp;lt;", decoded once it is "&lt;" again.
    assert b"&amp;lt;" in grailbird_files(MONTHS)["data/js/tweets/2013_06.js"]
    assert posts["345000000000000005"].text == "I wrote &lt; in my notes by mistake, the HTML kind, twice over"
    assert posts["345000000000000004"].text == "Nest cam is live at last http://herons.example.org/cam"
    first = posts["335000000000000002"]
    assert first.created_at == "2013-05-20T09:00:00Z" and first.raw["id_str"] == "335000000000000002"
    assert posts["335000000000000003"].in_reply_to == "335000000000000002"  # a thread: kind original
    assert posts["335000000000000001"].in_reply_to == "334999999999999999"


def test_folder_nested_zip_and_data_folder_read_the_same_as_zip(tmp_path):
    files = grailbird_files(MONTHS)
    want = [(p.id, p.text, p.kind) for p in read_all(f"archive:{write_zip(tmp_path / 'a.zip', files)}")]
    folder = write_folder(tmp_path / "unpacked", files)
    for spec in (f"archive:{folder}", f"archive:{folder / 'data'}",
                 f"archive:{write_zip(tmp_path / 'b.zip', files, prefix='12345_0a1b2c/')}",
                 f"archive:{write_folder(tmp_path / 'outer' / '12345_0a1b2c', files).parent}"):
        assert [(p.id, p.text, p.kind) for p in read_all(spec)] == want, spec


def test_prepare_counts(tmp_path):
    path = write_zip(tmp_path / "tweets.zip", grailbird_files(MONTHS))
    ds = ht.prepare([f"archive:{path}"], tmp_path / "ds", min_chars=0)
    [user] = ds.stats.users
    assert (user.handle, user.network, user.account) == (HANDLE, "x", OWN_ID)
    assert (user.downloaded, user.retweets, user.replies, user.short, user.kept) == (7, 1, 0, 0, 6)
    ds = ht.prepare([f"archive:{path}"], tmp_path / "ds2", min_chars=0, clean=ht.CleanOptions(replies=False))
    [user] = ds.stats.users
    # Only the reply to another account is dropped; the thread stays.
    assert (user.downloaded, user.retweets, user.replies, user.kept) == (7, 1, 1, 5)


def test_retweet_without_rt_prefix_is_still_a_retweet(tmp_path):
    t = status("350000000000000001", "Grebe chicks riding on their parents' backs today",
               "2013-07-01 10:00:00 +0000",
               retweet_of=("349999999999999999", "Grebe chicks riding on their parents' backs today",
                           "2013-07-01 09:00:00 +0000"))
    posts = read_all(f"archive:{write_zip(tmp_path / 'r.zip', grailbird_files({'2013_07': [t]}))}")
    assert [p.kind for p in posts] == ["retweet"]


def test_quotes_by_trailing_status_link_or_quoted_id(tmp_path):
    link = status("360000000000000002", "The best thread on heronries yet http://t.co/QuOtE12345",
                  "2013-08-02 10:00:00 +0000",
                  urls=[("http://t.co/QuOtE12345", "http://twitter.com/dab_chick/status/359999999999999999")])
    by_quoted_id = {**status("360000000000000001", "Agreed, and the herons agree too",
                             "2013-08-01 10:00:00 +0000"), "quoted_status_id_str": "359999999999999998"}
    path = write_zip(tmp_path / "q.zip", grailbird_files({"2013_08": [link, by_quoted_id]}))
    posts = by_id(read_all(f"archive:{path}"))
    assert {k: p.kind for k, p in posts.items()} == {"360000000000000002": "quote", "360000000000000001": "quote"}
    assert posts["360000000000000002"].text.endswith("http://twitter.com/dab_chick/status/359999999999999999")


def test_without_user_id_a_thread_is_told_by_the_screen_name(tmp_path):
    path = write_zip(tmp_path / "noid.zip", grailbird_files(MONTHS, user_id=None))
    src = open_source(f"archive:{path}")
    assert src.profile().account_id is None and src.profile().handle == HANDLE
    assert {p.id: p.kind for page in src.pages({}) for p in page} == KINDS


def test_month_file_alone(tmp_path):
    path = tmp_path / "2013_05.js"
    path.write_bytes(grailbird_files(MONTHS)["data/js/tweets/2013_05.js"])
    src = open_source(f"archive:{path}")  # every post names its author
    assert (src.profile().handle, src.profile().name, src.profile().account_id) == (HANDLE, NAME, OWN_ID)
    assert {p.id: p.kind for page in src.pages({}) for p in page} == {
        k: v for k, v in KINDS.items() if k.startswith("335")}
    with pytest.raises(HandleMismatchError):
        open_source(f"archive:{path}", SourceOptions(handle="someone_else"))


def test_tweets_csv_is_read_when_there_are_no_month_files(tmp_path):
    files = grailbird_files(MONTHS, month_files=False, index=False)
    src = open_source(f"archive:{write_zip(tmp_path / 'csv.zip', files)}")
    assert src.profile().handle == HANDLE and src.profile().extra["skipped"] == ["data/js/payload_details.js"]
    posts = [p for page in src.pages({}) for p in page]
    from_js = read_all(f"archive:{write_zip(tmp_path / 'js.zip', grailbird_files(MONTHS))}")
    # The same posts, texts, kinds and dates as from the month files.
    assert [(p.id, p.text, p.kind, p.created_at, p.in_reply_to) for p in posts] == \
        [(p.id, p.text, p.kind, p.created_at, p.in_reply_to) for p in from_js]
    assert by_id(posts)["345000000000000005"].text.startswith("I wrote &lt; in")


def test_tweets_csv_alone_needs_a_handle(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_bytes(grailbird_files(MONTHS)["tweets.csv"])
    with pytest.raises(HandleRequiredError, match="--handle"):
        open_source(f"archive:{path}")
    posts = read_all(f"archive:{path}", handle=HANDLE)
    assert len(posts) == 7 and by_id(posts)["345000000000000003"].kind == "retweet"
    # Without user_details.js there is no account id, and the CSV names no one: a thread cannot be told.
    assert by_id(posts)["335000000000000003"].kind == "reply"


def test_month_listed_in_tweet_index_but_missing(tmp_path, capsys):
    files = grailbird_files(MONTHS)
    del files["data/js/tweets/2013_05.js"]
    path = write_zip(tmp_path / "partial.zip", files)
    with pytest.raises(ArchiveFormatError,
                       match=r"data/js/tweets/2013_05\.js is listed in data/js/tweet_index\.js but missing"):
        open_source(f"archive:{path}")
    code, out, err = run(capsys, "prepare", f"archive:{path}", "-o", str(tmp_path / "ds"), "-q")
    assert code == 1 and out == ""
    assert err == (f"Error: {path}: data/js/tweets/2013_05.js is listed in data/js/tweet_index.js but missing; "
                   f"the archive is incomplete: unzip the archive again from the zip X sent (X no longer "
                   f"offers this layout for download)\n")


def test_month_files_without_tweet_index_are_all_read(tmp_path):
    path = write_zip(tmp_path / "noindex.zip", grailbird_files(MONTHS, index=False))
    assert [p.id for p in read_all(f"archive:{path}")] == [t["id_str"] for k in ("2013_06", "2013_05")
                                                           for t in MONTHS[k]]


@pytest.mark.parametrize("name, what", [
    ("user_details.js", "the account's handle and name"),
    ("tweet_index.js", "the list of the month files"),
    ("payload_details.js", "the number of posts and the date of the export"),
])
def test_other_file_given_alone_says_what_it_is(tmp_path, capsys, name, what):
    folder = write_folder(tmp_path / "unpacked", grailbird_files(MONTHS))
    path = folder / "data" / "js" / name
    want = (f"{path} is the data/js/{name} of an X archive from before 2019 ({what}), not its posts; pass the "
            f"whole archive: the zip X sent, or its unpacked folder (with tweets.csv and data/)")
    with pytest.raises(ArchiveFormatError) as err:
        open_source(f"archive:{path}", SourceOptions(handle=HANDLE))
    assert str(err.value) == want
    code, out, err_text = run(capsys, "prepare", f"archive:{path}", "-o", str(tmp_path / "ds"), "-q")
    assert (code, out, err_text) == (1, "", f"Error: {want}\n")


def test_damaged_month_file_names_it(tmp_path):
    files = grailbird_files(MONTHS)
    files["data/js/tweets/2013_05.js"] = b'Grailbird.data.tweets_2013_05 = \n [ {\n  "id_str" : "335'
    src = open_source(f"archive:{write_zip(tmp_path / 'bad.zip', files)}")
    with pytest.raises(ArchiveFormatError, match=r"data/js/tweets/2013_05\.js is not valid JSON after its "
                       r"'Grailbird\.data\.tweets_2013_05 =' prefix: .*unzip the archive again"):
        list(src.pages({}))


def test_zip_with_neither_layout_names_all_three(tmp_path):
    path = write_zip(tmp_path / "photos.zip", {"DCIM/1.jpg": b"jpeg"})
    with pytest.raises(ArchiveFormatError, match=r"no data/tweets\.js .*, no data/js/tweets/ \(X archive before "
                                                 r"2019\) and no outbox\.json"):
        open_source(f"archive:{path}")


def test_a_new_and_an_old_archive_of_one_account_merge_in_the_store(tmp_path):
    old = write_zip(tmp_path / "2014.zip", grailbird_files(MONTHS))
    new = write_zip(tmp_path / "2024.zip", x_files([tweet("1700000000000000001", "Still watching herons")],
                                                    handle=HANDLE, account_id=OWN_ID))
    store = Store(tmp_path / "s.sqlite")
    try:
        assert [r.new for r in ht.fetch([f"archive:{old}"], store=store)] == [7]
        assert [(r.new, r.total) for r in ht.fetch([f"archive:{new}"], store=store)] == [(1, 8)]
        assert [(r.new, r.total) for r in ht.fetch([f"archive:{old}"], store=store)] == [(0, 8)]
        assert store.accounts() == [("x", OWN_ID, HANDLE, 8)]
        stored = {p.id: p for p in store.posts("x", OWN_ID)}
        assert stored["345000000000000005"].text.startswith("I wrote &lt; in")  # stored decoded once
    finally:
        store.close()


def test_cli_prepare_prints_the_counts(tmp_path, capsys):
    path = write_zip(tmp_path / "tweets.zip", grailbird_files(MONTHS))
    code, out, err = run(capsys, "prepare", f"archive:{path}", "-o", str(tmp_path / "ds"), "--min-chars", "0", "-q")
    assert code == 0, err
    rows = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in out.splitlines()[2:6]}
    assert rows == {"Tweets downloaded": "7", "Retweets": "1", "Short tweets": "0", "Tweets kept": "6"}
    assert "Traceback" not in err


def test_dates_and_prefixes():
    assert x_date("2013-05-01 12:00:00 +0000") == "2013-05-01T12:00:00Z"
    assert x_date("2013-05-01 14:00:00 +0200") == "2013-05-01T12:00:00Z"
    assert x_date("Wed Jul 27 15:19:52 +0000 2022") == "2022-07-27T15:19:52Z"
    assert parse_ytd(b'var user_details =  {"screen_name" : "a"}', "u.js") == ("user_details", {"screen_name": "a"})
    assert parse_ytd(b'Grailbird.data.tweets_2013_05 = \n [ ]', "m.js") == ("Grailbird.data.tweets_2013_05", [])
    assert parse_ytd(b'window.YTD.tweets.part0 = []', "t.js") == ("YTD.tweets.part0", [])
    with pytest.raises(ArchiveFormatError, match="after its 'window.YTD.tweets.part0 =' prefix.*download the archive"):
        parse_ytd(b'window.YTD.tweets.part0 = [', "t.js")


@pytest.mark.skipif(not REAL.exists(), reason="real-format sample not available")
def test_real_format_sample(tmp_path):
    src = open_source(f"archive:{REAL}")
    assert src.profile().handle == "rook_tamsin"
    ds = ht.prepare([f"archive:{REAL}"], tmp_path / "ds", min_chars=0)
    [user] = ds.stats.users
    assert user.handle == "rook_tamsin"
    assert (user.downloaded, user.retweets) == (4, 1)
    assert user.downloaded == (user.retweets + user.replies + user.short
                                  + user.duplicates + user.kept)
