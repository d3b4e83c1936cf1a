"""Every input of ``../shared/realworld`` gives the result its README expects.

These are small made-up inputs in the exact layouts of real tools and servers (the folder sits beside
the checkout; the tests are skipped where it is absent). Other inputs of the same kinds are tested in
test_tool_outputs.py, test_text_fidelity.py, test_html.py, test_grailbird.py, test_bluesky_export.py,
test_encoding.py and test_special_tokens.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huggingtweets.api import prepare
from huggingtweets.dataset.clean import CleanOptions
from huggingtweets.sources import SourceOptions, open_source
from replay_server import ReplayServer

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"
pytestmark = pytest.mark.skipif(not REALWORLD.is_dir(), reason="../shared/realworld is not beside the checkout")


def rows(ds) -> list[dict]:
    out = []
    for name in ("train.jsonl", "valid.jsonl"):
        out += [json.loads(line) for line in (ds.path / name).read_text().splitlines() if line.strip()]
    return out


def texts(ds) -> set[str]:
    return {r["text"] for r in rows(ds)}


def counts(ds) -> tuple[int, int, int, int]:
    u = ds.stats.users[0]
    return u.downloaded, u.retweets, u.replies, u.kept


def posts_of(spec: str, **options) -> list:
    src = open_source(spec, SourceOptions(**options))
    return [p for page in src.pages({}) for p in page]


def routes(name: str, port_url: str | None = None) -> dict:
    return json.loads((REALWORLD / "servers" / name).read_text())


def test_snscrape_jsonl(tmp_path):
    ds = prepare([f"file:{REALWORLD / 'snscrape_fen_walker.jsonl'}"], tmp_path / "ds", min_chars=0,
                 clean=CleanOptions(replies=False))
    assert ds.name == "fen_walker"
    assert counts(ds) == (4, 1, 1, 2)


def test_twarc2_timeline(tmp_path):
    posts = posts_of(f"file:{REALWORLD / 'twarc2_timeline_otto_brandt.jsonl'}")
    assert len(posts) == 4
    assert sorted(p.kind for p in posts) == ["original", "original", "reply", "retweet"]
    ds = prepare([f"file:{REALWORLD / 'twarc2_timeline_otto_brandt.jsonl'}"], tmp_path / "ds", min_chars=0)
    assert ds.name == "otto_brandt"


def test_download_tweets_ai_text_gen_csv(tmp_path):
    # Without flags: the text column is the tool's `tweets`, the handle the file's name (`<handle>_tweets.csv`).
    ds = prepare([f"file:{REALWORLD / 'pia_lund_tweets.csv'}"], tmp_path / "ds", min_chars=0)
    assert ds.stats.users[0].handle == "pia_lund"
    assert ds.stats.users[0].kept == 4


def test_mastodon_quote_from_the_export(tmp_path):
    posts = {p.text: p.kind for p in posts_of(f"archive:{REALWORLD / 'mastodon_export_wren'}")}
    assert posts.get("I would add that the old bridge was closed for a reason.") == "quote"
    assert not any(t.startswith("RE:") for t in posts)


def test_mastodon_quote_over_the_api(tmp_path):
    with ReplayServer(routes("mastodon_quote_routes.json")) as server:
        posts = {p.text: p.kind for p in posts_of(f"mastodon:{server.url}/@wren")}
    assert posts.get("I would add that the old bridge was closed for a reason.") == "quote"
    assert not any(t.startswith("RE:") for t in posts)


@pytest.mark.parametrize("mode, expected", [
    ("strip", {"and are coming to plant the hedge with us on Sunday",
               "thanks for the seed packets, they all sprouted"}),
    ("placeholder", {"@user and @user are coming to plant the hedge with us on Sunday",
                     "thanks @user for the seed packets, they all sprouted"}),
])
def test_bluesky_mentions(tmp_path, monkeypatch, mode, expected):
    with ReplayServer(routes("bsky_mentions_routes.json")) as server:
        monkeypatch.setenv("HUGGINGTWEETS_BSKY_API_URL", server.url)
        ds = prepare(["bsky:juniper.bsky.social"], tmp_path / "ds", min_chars=0, clean=CleanOptions(mentions=mode))
    assert expected <= texts(ds)
    assert not any(".bsky.social" in t or ".example.com" in t for t in texts(ds))


ENTITY_TEXT = "In HTML you type &lt; for a less-than sign and &amp; for an ampersand, never the bare character."


def test_entities_from_an_x_archive(tmp_path):
    ds = prepare([f"archive:{REALWORLD / 'x_entities_archive.zip'}"], tmp_path / "ds", min_chars=0)
    assert ENTITY_TEXT in texts(ds)


def test_entities_from_a_plain_file(tmp_path):
    ds = prepare([f"file:{REALWORLD / 'entities_plain.txt'}"], tmp_path / "ds", min_chars=0,
                 source_options=SourceOptions(handle="quill"))
    assert ENTITY_TEXT in texts(ds)
    assert "Fish & chips > everything else on a cold Friday evening" in texts(ds)


def test_entities_from_bluesky(tmp_path, monkeypatch):
    with ReplayServer(routes("bsky_entities_routes.json")) as server:
        monkeypatch.setenv("HUGGINGTWEETS_BSKY_API_URL", server.url)
        ds = prepare(["bsky:quill.bsky.social"], tmp_path / "ds", min_chars=0)
    assert texts(ds) == {ENTITY_TEXT}


def test_grailbird_archive(tmp_path):
    ds = prepare([f"archive:{REALWORLD / 'grailbird_archive.zip'}"], tmp_path / "ds", min_chars=0)
    u = ds.stats.users[0]
    assert (u.downloaded, u.retweets) == (4, 1)
    assert ds.name == open_source(f"archive:{REALWORLD / 'grailbird_archive.zip'}").profile().handle.lower()


def test_cjk_and_thai_posts_are_all_kept(tmp_path):
    ds = prepare([f"file:{REALWORLD / 'cjk_thai_posts.txt'}"], tmp_path / "ds", min_chars=0,
                 source_options=SourceOptions(handle="mei"))
    u = ds.stats.users[0]
    assert (u.short, u.kept) == (0, 5)
