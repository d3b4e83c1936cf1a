"""Mastodon post HTML to plain text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from huggingtweets.sources._html import html_to_text

# Real samples in ../shared/formats beside the checkout (read only; skipped when absent)
TOOTS = Path(__file__).resolve().parents[2] / "shared" / "formats" / "frederikstroem_fosstodon_toots.json"


def link(url: str, shown: str, ellipsis: bool = True) -> str:
    """A link the way Mastodon writes it: the scheme and the tail hidden, the middle shown."""
    scheme, rest = url.split("://", 1)
    visible, tail = (rest[:30], rest[30:]) if ellipsis else (rest, "")
    klass = "ellipsis" if tail else ""
    return (f'<a href="{url}" target="_blank" rel="nofollow noopener noreferrer">'
            f'<span class="invisible">{scheme}://</span><span class="{klass}">{visible}</span>'
            f'<span class="invisible">{tail}</span></a>')


def mention(user: str, host: str = "example.social") -> str:
    return (f'<span class="h-card"><a href="https://{host}/@{user}" class="u-url mention">'
            f'@<span>{user}</span></a></span>')


def hashtag(tag: str) -> str:
    return f'<a href="https://example.social/tags/{tag.lower()}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'


def test_paragraphs_are_separated_by_a_blank_line():
    assert html_to_text("<p>First thought.</p><p>Second thought.</p>") == "First thought.\n\nSecond thought."


def test_br_is_a_newline():
    assert html_to_text("<p>Line one<br />Line two<br>Line three</p>") == "Line one\nLine two\nLine three"


def test_long_link_shows_its_full_url_not_the_ellipsis():
    url = "https://moths.example.org/records/2023/05/01/a-very-long-path?night=3"
    text = html_to_text(f"<p>Tonight's list: {link(url, '')} enjoy</p>")
    assert text == f"Tonight's list: {url} enjoy"
    assert "\u2026" not in text


def test_mentions_and_hashtags_read_as_typed():
    html = f"<p>{mention('bob')} {mention('ann', 'other.example')} saw a {hashtag('HawkMoth')} tonight</p>"
    assert html_to_text(html) == "@bob @ann saw a #HawkMoth tonight"


def test_entities_are_decoded():
    html = "<p>Moths &amp; bats, it&#39;s &quot;peak&quot; season &lt;3 &gt; 40 species</p>"
    assert html_to_text(html) == 'Moths & bats, it\'s "peak" season <3 > 40 species'


def test_link_with_words_keeps_words_and_url():
    assert html_to_text('<p>Read <a href="https://example.org/guide">the guide</a> first</p>') == \
        "Read the guide https://example.org/guide first"


def test_whitespace_in_source_is_collapsed_and_edges_trimmed():
    html = "<p>  Spaces\n   and\tnewlines   in the source  </p>\n<p>\n</p><p>end</p>"
    assert html_to_text(html) == "Spaces and newlines in the source\n\nend"


def test_plain_text_passes_through():
    assert html_to_text("no markup here") == "no markup here"
    assert html_to_text("") == ""


def test_mixed_paragraphs_breaks_and_links_like_a_real_post():
    url = "https://code.example.org/jane/moth-counter"
    html = (f"<p>Finished my little tool {link(url, '')} which counts moths from trap photos.</p>"
            f"<p>Thanks {mention('bob')}!<br />{hashtag('moths')} {hashtag('opensource')}</p>")
    assert html_to_text(html) == (f"Finished my little tool {url} which counts moths from trap photos.\n\n"
                                  "Thanks @bob!\n#moths #opensource")


def test_lists_and_quotes_keep_their_lines():
    html = "<p>Tonight:</p><ul><li>Elephant hawk-moth</li><li>Buff-tip</li></ul><blockquote><p>Lovely</p></blockquote>"
    assert html_to_text(html) == "Tonight:\n\nElephant hawk-moth\nBuff-tip\n\nLovely"


@pytest.mark.skipif(not TOOTS.exists(), reason="real Mastodon sample not available")
def test_real_mastodon_posts_convert_cleanly():
    toots = json.loads(TOOTS.read_text())
    for toot in toots:
        text = html_to_text(toot["content"])
        assert not re.search(r"</?(p|span|a|br)\b", text), text
        assert "&amp;" not in text and "&#39;" not in text
        for href in re.findall(r'href="([^"]+)"', toot["content"]):
            if "/tags/" in href or re.search(r"/@\w+$", href):
                continue  # hashtags and mentions are shown as #tag and @user
            assert href.replace("&amp;", "&") in text
