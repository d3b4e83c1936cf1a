"""archive:PATH — X archives and Mastodon exports, zipped or unpacked, read into the real store."""

from __future__ import annotations

import importlib.util
import sqlite3
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

import huggingtweets as ht
from huggingtweets import paths
from huggingtweets.errors import (ArchiveFormatError, ArchiveTooLargeError, HandleMismatchError,
                                  HandleRequiredError, InvalidHandleError, SourceError,
                                  SourceNotFoundError, UsageError)
from huggingtweets.sources import SourceOptions, open_source
from huggingtweets.sources.archive import PAGE_SIZE, parse_ytd, x_date
from huggingtweets.store import Store

from archive_fixtures import (ACTOR, AVATAR_BYTES, AVATAR_URL, HANDLE, NAME, OWN_ID, PUBLIC, announce,
                              create, mastodon_files, note_tweet, tweet, write_folder, write_zip, x_files, ytd)

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample-archive.zip"
# Real samples in ../shared/formats beside the checkout (read only; skipped when absent)
DENCHI = Path(__file__).resolve().parents[2] / "shared" / "formats" / "denchi_lumeninferius_tweet.js"


def read_all(spec: str, **options) -> list:
    src = open_source(spec, SourceOptions(**options))
    return [p for page in src.pages({}) for p in page]


def by_id(posts) -> dict:
    return {p.id: p for p in posts}


# A small archive that shows every kind of post.
KINDS_TWEETS = [
    tweet("101", "Bitterns booming at dawn & the reeds <3 full of warblers",
          created_at="Mon Apr 03 05:12:09 +0000 2023"),
    tweet("102", "RT @fen_society: Moth night on Friday, bring a torch"),
    tweet("103", "@otter_ed Yes, the hide opens at six", reply_to=("900", "777", "otter_ed")),
    tweet("104", "More on this: the booming carries three miles", reply_to=("101", OWN_ID, HANDLE)),
    tweet("105", "This is the best thread on reed cutting https://t.co/QuoteLink1",
          urls=[("https://t.co/QuoteLink1", "https://twitter.com/fen_society/status/555")]),
    tweet("106", "Recording of tonight's chorus https://t.co/LinkAbc123 https://t.co/MediaXyz99",
          urls=[("https://t.co/LinkAbc123", "https://sound.example.org/chorus")],
          media=["https://t.co/MediaXyz99"]),
    tweet("107", "Quoted by id only", quoted_status_id_str="556"),
]


def test_zip_reads_posts_and_profile(tmp_path):
    path = write_zip(tmp_path / "twitter-2024.zip", x_files(KINDS_TWEETS))
    src = open_source(f"archive:{path}")
    assert src.network == "x"
    prof = src.profile()
    assert (prof.handle, prof.name, prof.account_id) == (HANDLE, NAME, OWN_ID)
    assert prof.url == f"https://x.com/{HANDLE}"
    assert prof.avatar_url == AVATAR_URL
    assert Path(prof.avatar_path).read_bytes() == AVATAR_BYTES
    assert Path(prof.avatar_path).is_relative_to(paths.cache_dir())
    assert "data/like.js" in prof.extra["skipped"]

    posts = by_id(p for page in src.pages({}) for p in page)
    assert {k: p.kind for k, p in posts.items()} == {
        "101": "original", "102": "retweet", "103": "reply", "104": "original", "105": "quote",
        "106": "original", "107": "quote"}
    first = posts["101"]
    assert first.text == "Bitterns booming at dawn & the reeds <3 full of warblers"  # unescaped
    assert first.created_at == "2023-04-03T05:12:09Z"
    assert first.lang == "en" and first.raw["id_str"] == "101"
    assert posts["103"].in_reply_to == "900"
    assert posts["104"].in_reply_to == "101"  # a thread keeps its link but counts as original
    assert posts["105"].text.endswith("https://twitter.com/fen_society/status/555")
    assert posts["106"].text == "Recording of tonight's chorus https://sound.example.org/chorus"


def test_folder_and_nested_zip_read_the_same_as_zip(tmp_path):
    files = x_files(KINDS_TWEETS)
    from_zip = read_all(f"archive:{write_zip(tmp_path / 'a.zip', files)}")
    from_folder = read_all(f"archive:{write_folder(tmp_path / 'unpacked', files)}")
    # Re-zipped with the archive's own folder on top, as unzip-then-zip gives.
    nested = read_all(f"archive:{write_zip(tmp_path / 'b.zip', files, prefix='twitter-2024-01-02-ab12/')}")
    nested_folder = read_all(f"archive:{write_folder(tmp_path / 'outer' / 'twitter-x', files).parent}")
    data_folder = read_all(f"archive:{tmp_path / 'unpacked' / 'data'}")
    want = [(p.id, p.text, p.kind) for p in from_zip]
    assert len(want) == len(KINDS_TWEETS)
    for other in (from_folder, nested, nested_folder, data_folder):
        assert [(p.id, p.text, p.kind) for p in other] == want


def test_bare_tweets_js_needs_a_handle(tmp_path):
    path = tmp_path / "tweets.js"
    path.write_bytes(x_files(KINDS_TWEETS, handle=None)["data/tweets.js"])
    with pytest.raises(HandleRequiredError, match="--handle"):
        open_source(f"archive:{path}")
    src = open_source(f"archive:{path}", SourceOptions(handle="@" + HANDLE))
    assert src.profile().handle == HANDLE and src.profile().account_id is None
    posts = by_id(p for page in src.pages({}) for p in page)
    # Without account.js, a reply to oneself is recognised by the screen name.
    assert posts["104"].kind == "original" and posts["103"].kind == "reply"


def test_old_tweet_js_layout_and_unwrapped_items(tmp_path):
    tweets = [tweet("201", "Old layout, first post here"), tweet("202", "And a second old post")]
    for wrap in (True, False):
        files = x_files(tweets, layout="tweet", wrap=wrap)
        assert "data/tweet.js" in files and files["data/tweet.js"].startswith(b"window.YTD.tweet.part0 = ")
        posts = read_all(f"archive:{write_zip(tmp_path / f'old{wrap}.zip', files)}")
        assert [p.id for p in posts] == ["201", "202"]


def test_parts_from_manifest_and_glob(tmp_path):
    main = [tweet("301", "Part zero post one")]
    parts = [[tweet("302", "Part one post")], [tweet("303", "Part two post")]]
    with_manifest = read_all(f"archive:{write_zip(tmp_path / 'm.zip', x_files(main, parts=parts))}")
    assert sorted(p.id for p in with_manifest) == ["301", "302", "303"]
    no_manifest = read_all(f"archive:{write_zip(tmp_path / 'g.zip', x_files(main, parts=parts, manifest=False))}")
    assert sorted(p.id for p in no_manifest) == ["301", "302", "303"]


def test_part_listed_in_manifest_but_missing(tmp_path):
    files = x_files([tweet("301", "Part zero post")], parts=[[tweet("302", "Part one post")]])
    del files["data/tweets-part1.js"]
    src = open_source(f"archive:{write_zip(tmp_path / 'partial.zip', files)}")
    with pytest.raises(ArchiveFormatError, match=r"data/tweets-part1\.js is listed in data/manifest\.js"):
        list(src.pages({}))


LONG = ("Spent the whole night in the hide and I want to write down everything before I forget it. "
        "The bitterns started at four, first one, then a second further off, and by five the reeds were "
        "full of sedge warblers going through their whole repertoire. A water rail squealed like a pig. "
        "At six the mist lifted and a marsh harrier came over low, quartering, and every bird went quiet.")


def test_long_posts_completed_from_note_tweets(tmp_path):
    cut = LONG[:260].rsplit(" ", 1)[0] + "\u2026 https://t.co/NoteLink01"
    tweets = [
        tweet("401", cut, created_at="Tue Mar 14 16:42:12 +0000 2023",
              urls=[("https://t.co/NoteLink01", "https://twitter.com/i/web/status/401")]),
        # Same second but another text: must not take the note.
        tweet("402", "A short one at the same second", created_at="Tue Mar 14 16:42:12 +0000 2023"),
        tweet("403", "Another cut post\u2026 https://t.co/NoteLink02", created_at="Tue Mar 14 18:00:00 +0000 2023"),
    ]
    notes = [note_tweet("1635000000000000001", LONG, "2023-03-14T16:42:12.000Z"),
             note_tweet("1635000000000000002", "Another cut post, whose note has another date",
                        "2023-03-15T18:00:00.000Z")]
    posts = by_id(read_all(f"archive:{write_zip(tmp_path / 'n.zip', x_files(tweets, notes=notes))}"))
    assert posts["401"].text == LONG
    assert posts["401"].raw["note_tweet"]["noteTweetId"] == "1635000000000000001"
    assert posts["402"].text == "A short one at the same second"
    assert posts["403"].text.startswith("Another cut post\u2026")


def test_edited_post_keeps_latest_version(tmp_path):
    ids = ["1600000000000000001", "1600000000000000009"]
    tweets = [tweet(ids[1], "Edited: the heron is back", edit_ids=ids, edit_initial=ids[0]),
              tweet(ids[0], "Edited: the heorn is back", edit_ids=ids),
              tweet("1600000000000000005", "Not edited at all today")]
    posts = read_all(f"archive:{write_zip(tmp_path / 'e.zip', x_files(tweets))}")
    assert sorted(p.id for p in posts) == sorted([ids[1], "1600000000000000005"])
    assert by_id(posts)[ids[1]].text == "Edited: the heron is back"


def test_deleted_tweets_are_skipped(tmp_path):
    files = x_files([tweet("501", "Kept post here")], deleted=[tweet("502", "I regret this post", deleted_at="x")])
    src = open_source(f"archive:{write_zip(tmp_path / 'd.zip', files)}")
    assert [p.id for page in src.pages({}) for p in page] == ["501"]
    assert "data/deleted-tweets.js" in src.profile().extra["skipped"]


def test_pages_hold_at_most_page_size_posts(tmp_path):
    tweets = [tweet(str(10_000 + i), f"post number {i} of many") for i in range(PAGE_SIZE * 2 + 7)]
    src = open_source(f"archive:{write_zip(tmp_path / 'big.zip', x_files(tweets, manifest=False))}")
    assert [len(page) for page in src.pages({})] == [PAGE_SIZE, PAGE_SIZE, 7]


def test_handle_from_options_must_match_archive(tmp_path):
    path = write_zip(tmp_path / "a.zip", x_files(KINDS_TWEETS))
    assert open_source(f"archive:{path}", SourceOptions(handle=HANDLE.upper())).profile().handle == HANDLE
    with pytest.raises(HandleMismatchError, match=f"archive of @{HANDLE}, not @someone_else") as err:
        open_source(f"archive:{path}", SourceOptions(handle="someone_else"))
    assert isinstance(err.value, UsageError)


def test_date_conversion():
    assert x_date("Wed Jul 27 15:19:52 +0000 2022") == "2022-07-27T15:19:52Z"
    assert x_date("Wed Jul 27 17:19:52 +0200 2022") == "2022-07-27T15:19:52Z"
    assert x_date("not a date") is None


def test_prefix_is_parsed_never_evaluated():
    assert parse_ytd(b'window.YTD.tweets.part0 = [ {"a" : "x = 1"} ]', "t.js") == ("YTD.tweets.part0", [{"a": "x = 1"}])
    assert parse_ytd(b'\xef\xbb\xbf[1, 2]', "t.json") == ("", [1, 2])
    with pytest.raises(ArchiveFormatError, match="t.js is not valid JSON"):
        parse_ytd(b"window.YTD.tweets.part0 = fetch('https://evil.example/')", "t.js")
    with pytest.raises(ArchiveFormatError, match="does not start with"):
        parse_ytd(b"alert(1); window.YTD.tweets.part0 = []", "t.js")


# -- Mastodon -------------------------------------------------------------------------------------

MASTODON_ITEMS = [
    create("1001", "<p>Public post about the <a href=\"https://example.social/tags/moths\" class=\"mention hashtag\" "
                   "rel=\"tag\">#<span>moths</span></a> tonight</p><p>Second paragraph &amp; more</p>"),
    create("1002", "<p>Unlisted but public in cc</p>", to=[ACTOR + "/followers"], cc=[PUBLIC]),
    create("1003", "<p>Followers only, secret moth spot</p>", to=[ACTOR + "/followers"], cc=[]),
    create("1004", "<p><span class=\"h-card\"><a href=\"https://other.example/@bob\" class=\"u-url mention\">"
                   "@<span>bob</span></a></span> direct message with my address</p>",
           to=["https://other.example/users/bob"], cc=[]),
    create("1005", "<p>Reply to Bob in public</p>", in_reply_to="https://other.example/users/bob/statuses/77"),
    create("1006", "<p>Continuing my own thread</p>", in_reply_to=f"{ACTOR}/statuses/1001"),
    create("1007", "<p>Spoilers for the moth count</p>", summary="moth count spoilers"),
    announce("1008", "https://other.example/users/bob/statuses/78"),
    create("1009", "<p>Compact JSON-LD audience</p>", to="as:Public", cc=[]),
]


def test_mastodon_export_keeps_only_public_posts_in_the_store(tmp_path):
    path = write_zip(tmp_path / "archive-20240101.zip", mastodon_files(MASTODON_ITEMS))
    store = Store(tmp_path / "posts.sqlite")
    [result] = ht.fetch([f"archive:{path}"], store=store)
    assert (result.network, result.profile.handle) == ("mastodon", "jane@example.social")
    stored = {p.id: p for p in store.posts("mastodon", result.account)}
    store.close()
    assert sorted(stored) == ["1001", "1002", "1005", "1006", "1007", "1008", "1009"]
    # Nothing of the private posts reached the file, not even inside a raw record.
    blob = (tmp_path / "posts.sqlite").read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("posts.sqlite*"))
    assert b"secret moth spot" not in blob and b"my address" not in blob
    with sqlite3.connect(tmp_path / "posts.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM posts WHERE raw LIKE '%1003%' OR raw LIKE '%1004%'").fetchone()[0] == 0

    assert stored["1001"].text == "Public post about the #moths tonight\n\nSecond paragraph & more"
    assert stored["1001"].created_at == "2023-05-01T21:14:03Z" and stored["1001"].lang == "en"
    assert stored["1005"].kind == "reply" and stored["1005"].in_reply_to == "77"
    assert stored["1006"].kind == "original" and stored["1006"].in_reply_to == "1001"
    assert stored["1008"].kind == "retweet"


def test_mastodon_profile_and_avatar(tmp_path):
    path = write_folder(tmp_path / "export", mastodon_files(MASTODON_ITEMS, avatar=b"\x89PNG moth"))
    prof = open_source(f"archive:{path}").profile()
    assert (prof.handle, prof.name, prof.url) == ("jane@example.social", "Jane Marsh", "https://example.social/@jane")
    assert Path(prof.avatar_path).read_bytes() == b"\x89PNG moth"


def test_mastodon_content_warnings_dropped_on_request(tmp_path):
    path = write_zip(tmp_path / "m.zip", mastodon_files(MASTODON_ITEMS))
    assert "1007" in by_id(read_all(f"archive:{path}"))
    assert "1007" not in by_id(read_all(f"archive:{path}", content_warnings=False))


def test_bare_outbox_names_its_actor(tmp_path):
    path = tmp_path / "outbox.json"
    path.write_bytes(mastodon_files(MASTODON_ITEMS, with_actor=False)["outbox.json"])
    src = open_source(f"archive:{path}")
    assert src.profile().handle == "jane@example.social"
    assert len([p for page in src.pages({}) for p in page]) == 7
    assert open_source(f"archive:{path}", SourceOptions(handle="jane")).profile().handle == "jane@example.social"
    with pytest.raises(HandleMismatchError):
        open_source(f"archive:{path}", SourceOptions(handle="bob@example.social"))


# -- bad input ------------------------------------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(SourceNotFoundError, match="no such file or folder"):
        open_source(f"archive:{tmp_path / 'nope.zip'}")


@pytest.mark.parametrize("name,data", [
    ("broken.zip", b"PK\x03\x04 this is not really a zip"),
    ("notes.txt", b"just some text, neither zip nor posts"),
    ("picture.png", b"\x89PNG\r\n\x1a\n"),
])
def test_not_an_archive(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ArchiveFormatError) as err:
        open_source(f"archive:{path}")
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_truncated_zip(tmp_path):
    good = write_zip(tmp_path / "good.zip", x_files(KINDS_TWEETS)).read_bytes()
    path = tmp_path / "cut.zip"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ArchiveFormatError, match="not a readable zip"):
        open_source(f"archive:{path}")


def test_zip_without_posts_says_what_was_expected(tmp_path):
    path = write_zip(tmp_path / "photos.zip", {"DCIM/1.jpg": b"jpeg", "data/like.js": b"window.YTD.like.part0 = []"})
    with pytest.raises(ArchiveFormatError, match=r"no data/tweets\.js or data/tweet\.js .* outbox\.json"):
        open_source(f"archive:{path}")
    with pytest.raises(ArchiveFormatError, match="outbox.json"):
        open_source(f"archive:{write_folder(tmp_path / 'empty', {'readme.txt': b'hi'})}")


def test_tweets_js_that_is_not_json_names_the_file(tmp_path):
    files = x_files(KINDS_TWEETS)
    files["data/tweets.js"] = b"window.YTD.tweets.part0 = [ {\"tweet\" : { \"id_str\" : "
    src = open_source(f"archive:{write_zip(tmp_path / 'bad.zip', files)}")
    with pytest.raises(ArchiveFormatError, match=r"data/tweets\.js is not valid JSON"):
        list(src.pages({}))


def test_other_archive_file_passed_alone(tmp_path):
    path = tmp_path / "like.js"
    path.write_bytes(ytd("YTD.like.part0", [{"like": {"tweetId": "1"}}]))
    with pytest.raises(ArchiveFormatError, match="YTD.like.part0, not posts"):
        open_source(f"archive:{path}", SourceOptions(handle="x"))


def test_invalid_handle_in_account_js(tmp_path):
    path = write_zip(tmp_path / "h.zip", x_files(KINDS_TWEETS, handle="../../etc"))
    with pytest.raises(InvalidHandleError):
        open_source(f"archive:{path}")


def test_size_limit_from_environment(tmp_path, monkeypatch):
    path = write_zip(tmp_path / "a.zip", x_files(KINDS_TWEETS))
    monkeypatch.setenv("HUGGINGTWEETS_MAX_UNZIP_BYTES", "1000")
    src = open_source(f"archive:{path}")  # account.js is small enough
    with pytest.raises(ArchiveTooLargeError, match="data/tweets.js would unpack to .* over the 1,000-byte limit"):
        list(src.pages({}))
    folder = write_folder(tmp_path / "f", x_files(KINDS_TWEETS))
    with pytest.raises(ArchiveTooLargeError):
        list(open_source(f"archive:{folder}").pages({}))


def test_zip_that_lies_about_sizes_is_stopped(tmp_path, monkeypatch):
    # A member that declares 50 bytes but inflates to 5 MB: patch the declared size in both the
    # local header and the central directory.
    path = tmp_path / "liar.zip"
    payload = b"window.YTD.tweets.part0 = [" + b" " * 5_000_000 + b"]"
    files = x_files(KINDS_TWEETS)
    files["data/tweets.js"] = payload
    write_zip(path, files)
    raw = bytearray(path.read_bytes())
    real = struct.pack("<I", len(payload))
    fake = struct.pack("<I", 50)
    assert raw.count(real) == 2
    raw[:] = raw.replace(real, fake)
    path.write_bytes(bytes(raw))
    assert zipfile.ZipFile(path).getinfo("data/tweets.js").file_size == 50
    monkeypatch.setenv("HUGGINGTWEETS_MAX_UNZIP_BYTES", "100000")
    src = open_source(f"archive:{path}")
    with pytest.raises(SourceError):
        list(src.pages({}))


# -- the store ------------------------------------------------------------------------------------


def test_import_twice_adds_nothing_and_a_larger_archive_adds_the_difference(tmp_path):
    small = write_zip(tmp_path / "2023.zip", x_files(KINDS_TWEETS[:4]))
    large = write_zip(tmp_path / "2024.zip", x_files(KINDS_TWEETS))
    store = Store(tmp_path / "s.sqlite")
    try:
        assert [r.new for r in ht.fetch([f"archive:{small}"], store=store)] == [4]
        assert [(r.new, r.total) for r in ht.fetch([f"archive:{small}"], store=store)] == [(0, 4)]
        assert [(r.new, r.total) for r in ht.fetch([f"archive:{large}"], store=store)] == [(3, 7)]
        [account] = store.accounts()
        assert account == ("x", OWN_ID, HANDLE, 7)
    finally:
        store.close()


# -- the shipped sample and real files ------------------------------------------------------------


def test_sample_archive_prepares_with_enough_text(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # under 40,000 characters would warn
        ds = ht.prepare([f"archive:{SAMPLE}"], tmp_path / "ds")
    [user] = ds.stats.users
    assert user.handle == "tollan_keeper"
    assert user.downloaded >= 450
    assert user.downloaded == (user.retweets + user.replies + user.short
                                  + user.duplicates + user.kept)
    assert user.retweets > 0 and user.short > 0 and user.duplicates > 0
    assert user.kept_chars >= 40_000


def test_sample_archive_shows_every_feature():
    posts = read_all(f"archive:{SAMPLE}")
    kinds = {p.kind for p in posts}
    assert kinds == {"original", "retweet", "reply", "quote"}
    assert any(p.in_reply_to and p.kind == "original" for p in posts)  # a thread
    assert sum("note_tweet" in p.raw for p in posts) >= 3
    assert all("t.co/" not in p.text for p in posts)
    assert any("&" in p.text for p in posts) and not any("&amp;" in p.text for p in posts)
    with zipfile.ZipFile(SAMPLE) as zf:
        names = set(zf.namelist())
    assert {"data/manifest.js", "data/account.js", "data/profile.js", "data/tweets.js", "data/tweets-part1.js",
            "data/note-tweet.js", "data/deleted-tweets.js"} <= names
    edited = [p for p in posts if "edit" in p.raw.get("edit_info", {})]
    assert len(edited) == 1 and "yaer" not in edited[0].text


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_sample_archive", ROOT / "examples" / "make_sample_archive.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample_archive"] = module
    spec.loader.exec_module(module)
    return module


def test_sample_archive_is_what_the_script_writes(tmp_path):
    gen = _load_generator()
    gen.main(["-o", str(tmp_path / "a.zip")])
    gen.main(["-o", str(tmp_path / "b.zip")])
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as fresh, zipfile.ZipFile(SAMPLE) as committed:
        assert fresh.namelist() == committed.namelist()
        for name in fresh.namelist():
            assert fresh.read(name) == committed.read(name), f"{name} differs: run examples/make_sample_archive.py"


def test_generator_scales_with_posts(tmp_path):
    gen = _load_generator()
    gen.main(["--posts", "3000", "--seed", "3", "-o", str(tmp_path / "big.zip")])
    posts = read_all(f"archive:{tmp_path / 'big.zip'}")
    assert len(posts) == 2999  # both versions of the edit are in tweets.js, one is kept


@pytest.mark.skipif(not DENCHI.exists(), reason="real archive sample not available")
def test_real_older_archive_file():
    posts = read_all(f"archive:{DENCHI}", handle="LumenInferius")
    assert len(posts) == 22
    assert sum(p.kind == "reply" for p in posts) == 9
    assert all("https://t.co/" not in p.text for p in posts)  # media links removed
    assert all(p.created_at and p.created_at.endswith("Z") for p in posts)
    assert posts[0].text.startswith("Passing through the Cathedral")
