"""Quote posts from Mastodon-compatible servers: classified as ``quote``, with only the author's text.

Servers add a fallback (``RE: <link>``) to a quote post's HTML for software that cannot show
quotes, and name the quoted post in fields of their own. Both ways in are covered: the account
export (``outbox.json``, zipped at test time) and the REST API (the fake server in
``fake_services.py``), plus the real-format instances in ``../shared/realworld`` when present.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from huggingtweets import api
from huggingtweets.sources import SourceOptions, open_source
from huggingtweets.sources.archive import ap_quote_refs
from huggingtweets.sources.mastodon import quote_refs
from huggingtweets.store import Store

from archive_fixtures import ACTOR, create, mastodon_files, write_zip
from fake_services import FakeServices, Seed, masto_id

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"
MINE = "I would add that the old bridge was closed for a reason."
QUOTED = "https://other.example/users/bob/statuses/1134"
QUOTED_PAGE = "https://other.example/@bob/1134"
OBJECT_LINK = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def read_all(spec: str) -> dict:
    src = open_source(spec, SourceOptions())
    return {p.id: p for page in src.pages({}) for p in page}


def note(sid: str, content: str, *, tags: list | None = None, **fields) -> dict:
    """A public Create around a note, with the given extra object fields (quote keys)."""
    item = create(sid, content)
    item["object"].update(fields)
    if tags is not None:
        item["object"]["tag"] = tags
    return item


# -- the account export ---------------------------------------------------------------------------

EXPORT_ITEMS = [
    # Mastodon 4.4+: quote, quoteUri and _misskey_quote; a quote-inline paragraph before the text.
    note("2001", f'<p class="quote-inline">RE: <a href="{QUOTED_PAGE}"><span class="invisible">https://</span>'
                 f'<span class="ellipsis">other.example/@bob/11</span><span class="invisible">34</span></a></p>'
                 f"<p>{MINE}</p>", quote=QUOTED, quoteUri=QUOTED, _misskey_quote=QUOTED),
    # Misskey/Sharkey: _misskey_quote and quoteUrl; a plain "RE:" line after the text, no class.
    note("2002", f'<p><span>Agreed, <a href="https://misskey.example/@bob" class="u-url mention">@bob</a> '
                 f'\u200b:blobcat:\u200b<br><br>RE: <a href="{QUOTED}">{QUOTED}</a></span></p>',
         _misskey_quote=QUOTED, quoteUrl=QUOTED),
    # Pleroma/Akkoma: quoteUrl; a quote-inline span at the end.
    note("2003", f'<p>Same here &amp;lt;3<span class="quote-inline"><br/><br/>RE: <a href="{QUOTED}" rel="ugc">'
                 f"{QUOTED}</a></span></p>", quoteUrl=QUOTED),
    # Only a FEP-e232 object link in tag names the quoted post (its name is the fallback line).
    note("2004", f'<p>Only the link tag says so.</p><p>RE: <a href="{QUOTED}">{QUOTED}</a></p>',
         tags=[{"type": "Hashtag", "name": "#tea", "href": "https://example.social/tags/tea"},
               {"type": "Link", "mediaType": OBJECT_LINK, "href": QUOTED, "name": f"RE: {QUOTED}"}]),
    # The quoted post as an embedded object, not a bare URL.
    note("2005", f"<p>Embedded.</p><p>RE: <a href=\"{QUOTED}\">{QUOTED}</a></p>",
         quote={"id": QUOTED, "type": "Note", "url": QUOTED_PAGE}),
    # Not a quote: the author's own "RE:" line stays, and the kind is original.
    note("2006", f'<p>Still thinking about this.</p><p>RE: <a href="{QUOTED}">{QUOTED}</a></p>'),
    # A quote whose last line points at some other post keeps that line.
    note("2007", f'<p>{MINE}<br>RE: <a href="https://other.example/@bob/99">https://other.example/@bob/99</a></p>',
         quoteUrl=QUOTED),
    # A quote that replies to someone else is a reply first (the dataset's --no-replies drops it).
    note("2008", f'<p class="quote-inline">RE: <a href="{QUOTED_PAGE}">{QUOTED_PAGE}</a></p><p>Replying.</p>',
         quote=QUOTED, inReplyTo="https://other.example/users/carol/statuses/5"),
    # A reply to oneself that quotes: a thread post, counted as a quote.
    note("2009", f'<p class="quote-inline">RE: <a href="{QUOTED_PAGE}">{QUOTED_PAGE}</a></p><p>And more.</p>',
         quoteUri=QUOTED, inReplyTo=f"{ACTOR}/statuses/2001"),
]


def test_export_quotes_are_classified_and_lose_their_fallback(tmp_path):
    posts = read_all(f"archive:{write_zip(tmp_path / 'export.zip', mastodon_files(EXPORT_ITEMS))}")
    assert {i: (p.kind, p.text) for i, p in posts.items()} == {
        "2001": ("quote", MINE),
        "2002": ("quote", "Agreed, @bob :blobcat:"),
        "2003": ("quote", "Same here &lt;3"),
        "2004": ("quote", "Only the link tag says so."),
        "2005": ("quote", "Embedded."),
        "2006": ("original", f"Still thinking about this.\n\nRE: {QUOTED}"),
        "2007": ("quote", f"{MINE}\nRE: https://other.example/@bob/99"),
        "2008": ("reply", "Replying."),
        "2009": ("quote", "And more."),
    }


def test_ap_quote_refs_reads_every_way_of_naming_the_quoted_post():
    assert ap_quote_refs({"quote": QUOTED, "quoteUri": QUOTED, "_misskey_quote": QUOTED}) == [QUOTED]
    assert ap_quote_refs({"quote": {"id": QUOTED, "url": QUOTED_PAGE}}) == [QUOTED, QUOTED_PAGE]
    assert ap_quote_refs({"tag": [{"type": "Link", "mediaType": "application/activity+json", "href": QUOTED}]}) == [QUOTED]
    assert ap_quote_refs({"tag": {"type": "Link", "mediaType": OBJECT_LINK, "href": QUOTED}}) == [QUOTED]
    # An ordinary link or a mention in tag is not a quote.
    assert ap_quote_refs({"tag": [{"type": "Link", "mediaType": "text/html", "href": QUOTED},
                                  {"type": "Mention", "href": "https://other.example/users/bob"}]}) == []
    assert ap_quote_refs({"quote": None, "content": "<p>hi</p>"}) == []


# -- the REST API ---------------------------------------------------------------------------------


@pytest.fixture
def fake(monkeypatch):
    with FakeServices() as f:
        monkeypatch.setenv("HUGGINGTWEETS_HTTP_BACKOFF", "0.01")
        monkeypatch.setenv("HUGGINGTWEETS_HTTP_TIMEOUT", "5")
        yield f


def stored(result: api.FetchResult) -> dict:
    with Store() as store:
        return {p.id: p for p in store.posts(result.network, result.account)}


@pytest.mark.parametrize("style", ["mastodon", "pleroma", "fedibird", "sharkey"])
def test_rest_quotes_are_classified_and_lose_their_fallback(fake, style):
    posts = [Seed(1, "An ordinary post."),
             Seed(2, MINE, "quote"),
             Seed(3, "Fish & chips <3, quoted\n\nsecond paragraph", "quote"),
             Seed(4, "A quote with a link", "quote", link="https://example.org/a/rather/long/path/here"),
             Seed(5, "RE: https://elsewhere.example/@other/5\n\nthe author's own line stays"),
             Seed(6, "boosted", "retweet")]
    fake.mastodon_account("wren", posts, quotes=style)
    got = stored(api.fetch([f"mastodon:{fake.url}/@wren"], SourceOptions())[0])
    assert {i: (p.kind, p.text) for i, p in got.items()} == {
        masto_id(s.n): ({"quote": "quote"}.get(s.kind, s.kind), s.expected_text()) for s in posts}


def test_rest_quote_refs_reads_each_server_family():
    status = {"id": "9", "url": QUOTED_PAGE, "uri": QUOTED}
    assert quote_refs({"quote": {"state": "accepted", "quoted_status": status}}) == (True, [QUOTED_PAGE, QUOTED, "9"])
    assert quote_refs({"quote": {"state": "accepted", "quoted_status_id": "9"}}) == (True, ["9"])
    # The quoted post was deleted: still a quote post, nothing left to name it by.
    assert quote_refs({"quote": {"state": "deleted", "quoted_status": None}}) == (True, [])
    assert quote_refs({"quote": status, "quote_id": "9"}) == (True, [QUOTED_PAGE, QUOTED, "9"])  # Fedibird, Akkoma
    assert quote_refs({"pleroma": {"quote": None, "quote_id": "9", "quote_url": QUOTED}}) == (True, ["9", QUOTED])
    assert quote_refs({"quote": None, "pleroma": {"quote": None, "quote_id": None, "quote_url": None}}) == (False, [])
    assert quote_refs({"id": "1", "content": "<p>hi</p>"}) == (False, [])


# -- the real-format instances (read only; skipped when absent) -----------------------------------


@pytest.mark.skipif(not (REALWORLD / "mastodon_export_wren").exists(), reason="realworld samples not available")
def test_realworld_export_quote():
    posts = read_all(f"archive:{REALWORLD / 'mastodon_export_wren'}")
    assert (posts["102"].kind, posts["102"].text) == ("quote", MINE)
    assert posts["101"].text == "Morning tea on the balcony :blobcat: #tea"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not (REALWORLD / "servers" / "mastodon_quote_routes.json").exists(),
                    reason="realworld samples not available")
def test_realworld_rest_quote():
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(REALWORLD / "servers" / "fake_server.py"),
                               str(REALWORLD / "servers" / "mastodon_quote_routes.json"), str(port)],
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        posts = read_all(f"mastodon:http://127.0.0.1:{port}/@wren")
    finally:
        server.terminate()
        server.wait(5)
    assert (posts["202"].kind, posts["202"].text) == ("quote", MINE)
    assert posts["201"].kind == "original"
