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


# -- the same words as other servers mark them up ---------------------------------------------------
# Each markup below is what that server software writes into `content` (ActivityPub and REST alike).

MARKUPS = [
    # Mastodon: @<span>user</span> inside a span.h-card; hashtags "mention hashtag" with rel=tag.
    ("mastodon", '<p><span class="h-card" translate="no"><a href="https://mastodon.example/@bob" class="u-url mention">'
                 '@<span>bob</span></a></span> loves <a href="https://mastodon.example/tags/tea" class="mention hashtag" '
                 'rel="tag">#<span>tea</span></a></p>', "@bob loves #tea"),
    # Pleroma/Akkoma: data-user, /users/ profile URLs, class="hashtag" only, links shown as typed.
    ("pleroma", '<span class="h-card"><a class="u-url mention" data-user="AbC9xYz" href="https://pleroma.example/users/bob" '
                'rel="ugc">@<span>bob</span></a></span> loves <a class="hashtag" data-tag="tea" '
                'href="https://pleroma.example/tag/tea" rel="tag ugc">#tea</a>, see <a href="https://example.org/brew" '
                'rel="ugc">https://example.org/brew</a>.', "@bob loves #tea, see https://example.org/brew."),
    # Pleroma links a bare domain with an invented scheme in the href: the text is what was typed.
    ("pleroma", 'typed <a href="http://example.com" rel="ugc">example.com</a> only', "typed example.com only"),
    # Misskey/Sharkey: the whole acct as anchor text, hashtags with rel=tag and no class, custom emoji
    # between zero-width spaces, hrefs normalised by new URL() (a trailing slash added).
    ("misskey", '<p><span><a href="https://misskey.example/@bob@other.example" class="u-url mention">@bob@other.example'
                '</a> loves <a href="https://misskey.example/tags/tea" rel="tag">#tea</a> \u200b:blobcat:\u200b<br>'
                '<a href="https://example.org/">https://example.org</a></span></p>',
     "@bob@other.example loves #tea :blobcat:\nhttps://example.org"),
    # Akkoma rendering MFM, and other Misskey-family HTML: custom emoji as <img alt=":name:">.
    ("akkoma", '<p>hello <img class="emoji" alt=":blobcat:" title=":blobcat:" src="https://akkoma.example/emoji/b.png">'
               ' and <img alt=":neofox_happy:" src="https://akkoma.example/emoji/n.png"> <img src="x.png"></p>',
     "hello :blobcat: and :neofox_happy:"),
    # GoToSocial: class="mention" without u-url; links shown whole.
    ("gotosocial", '<p><span class="h-card"><a href="https://gts.example/@bob" class="mention" rel="nofollow noreferrer '
                   'noopener" target="_blank">@<span>bob</span></a></span> <a href="https://gts.example/tags/tea" '
                   'class="mention hashtag" rel="tag nofollow noreferrer noopener" target="_blank">#<span>tea</span></a> '
                   '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noreferrer noopener" target="_blank">'
                   'https://example.org/a?b=1&amp;c=2</a></p>', "@bob #tea https://example.org/a?b=1&c=2"),
    # Takahē: local hashtags with a relative href; long links cut to 30 characters in an a.ellipsis.
    ("takahe", '<p><a href="/tags/tea/" rel="tag">#tea</a> at <a href="https://example.org/a/very/long/path/to/the/page" '
               'rel="nofollow" class="ellipsis" title="example.org/a/very/long/path/to/the/page">'
               'example.org/a/very/long/path/</a></p>', "#tea at https://example.org/a/very/long/path/to/the/page"),
    # Friendica: the @ and # outside the anchor, the anchor holding only the name.
    ("friendica", '@<a href="https://friendica.example/profile/bob" class="userinfo mention" title="Bob">bob</a> loves '
                  '#<a href="https://friendica.example/search?tag=tea" class="mention hashtag" rel="tag">tea</a>',
     "@bob loves #tea"),
    # A hashtag anchor with neither class nor rel still reads #tea.
    ("plain", '<p>more <a href="https://elsewhere.example/tags/tea">#tea</a> please</p>', "more #tea please"),
]


@pytest.mark.parametrize("server, html, expected", MARKUPS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MARKUPS)])
def test_mentions_hashtags_links_and_emoji_from_each_server(server, html, expected):
    assert html_to_text(html) == expected


QUOTED = "https://other.example/users/bob/statuses/1134"
QUOTED_PAGE = "https://other.example/@bob/1134"
MINE = "I would add that the old bridge was closed for a reason."

FALLBACKS = [
    # Mastodon 4.4+: a paragraph before the text, linking the quoted post's page.
    ("mastodon", f'<p class="quote-inline">RE: {link(QUOTED_PAGE, "")}</p><p>{MINE}</p>'),
    # Pleroma/Akkoma: a span at the end of the last paragraph.
    ("pleroma", f'<p>{MINE}<span class="quote-inline"><br/><br/>RE: <a href="{QUOTED}" rel="ugc">{QUOTED}</a></span></p>'),
    # Fedibird: "QT:" after a single break.
    ("fedibird", f'<p>{MINE}<span class="quote-inline"><br/>QT: <a href="{QUOTED_PAGE}">{QUOTED_PAGE}</a></span></p>'),
    # Hackers' Pub: both a p and a span with the class.
    ("hackerspub", f'<p>{MINE}</p><p class="quote-inline"><span class="quote-inline"><br><br>RE: <a href="{QUOTED}">'
                   f'{QUOTED}</a></span></p>'),
]


@pytest.mark.parametrize("server, html", FALLBACKS, ids=[f[0] for f in FALLBACKS])
def test_quote_inline_fallbacks_are_dropped_whole(server, html):
    # Dropped by their class even when the caller does not know the post is a quote.
    assert html_to_text(html) == MINE
    assert html_to_text(html, quoted=[QUOTED]) == MINE


def test_plain_re_line_is_dropped_only_for_the_quoted_post():
    # Misskey/Sharkey: "\n\nRE: <uri>" typed after the text and rendered like the rest of it.
    html = f'<p><span>{MINE}<br><br>RE: <a href="{QUOTED}">{QUOTED}</a></span></p>'
    assert html_to_text(html, quoted=[QUOTED]) == MINE
    assert html_to_text(html, quoted=["1134"]) == MINE  # only the id known (REST quote_id)
    assert html_to_text(html, quoted=[QUOTED_PAGE]) == MINE  # the page URL of the same post
    # Not known to be a quote, or quoting another post: the line may be the author's own.
    assert html_to_text(html) == f"{MINE}\n\nRE: {QUOTED}"
    assert html_to_text(html, quoted=["https://other.example/users/bob/statuses/99"]) == f"{MINE}\n\nRE: {QUOTED}"
    # Leading, as Mastodon writes it when the class has been stripped by a relay or an old export.
    lead = f'<p>RE: {link(QUOTED_PAGE, "")}</p><p>{MINE}</p>'
    assert html_to_text(lead, quoted=[QUOTED]) == MINE
    # Flattened onto the last line when the server wrote no break.
    assert html_to_text(f"<p>{MINE} RE: <a href=\"{QUOTED}\">{QUOTED}</a></p>", quoted=[QUOTED]) == MINE


def test_re_lines_of_the_author_stay():
    html = (f'<p>RE: the meeting</p><p>RE: <a href="{QUOTED}">{QUOTED}</a> was wrong, I said.</p>'
            f'<p>{MINE}</p>')
    assert html_to_text(html, quoted=[QUOTED]) == f"RE: the meeting\n\nRE: {QUOTED} was wrong, I said.\n\n{MINE}"


def test_unclosed_quote_inline_paragraph_loses_nothing_after_it():
    html = f'<p class="quote-inline">RE: <a href="{QUOTED}">{QUOTED}</a><p>{MINE}</p>'
    assert html_to_text(html) == MINE
    assert html_to_text(f'<p>a<span class="quote-inline">RE: <b>x</span> b</p>') == "a b"


def test_same_post_knows_the_names_of_one_post():
    from huggingtweets.sources._html import same_post
    assert same_post(QUOTED_PAGE, [QUOTED]) and same_post(QUOTED, [QUOTED_PAGE + "/"])
    assert same_post("https://misskey.example/notes/9k2x", ["9k2x"])
    assert same_post("http://other.example/users/bob/statuses/1134", [QUOTED])
    assert not same_post("https://third.example/@bob/1134", [QUOTED])  # another server
    assert not same_post("https://other.example/@bob/1135", [QUOTED])
    assert not same_post(QUOTED, [])


@pytest.mark.parametrize("html, expected", [
    ('<p><a href="https://x.org">https://x.org</a>, then</p>', "https://x.org, then"),
    ('<p>see (<a href="https://x.org/a">https://x.org/a</a>).</p>', "see (https://x.org/a)."),
    (f'<p>see ({link("https://moths.example.org/records/2023/05/01/a-long-one", "")}), then</p>',
     "see (https://moths.example.org/records/2023/05/01/a-long-one), then"),
    ('<p>[<a href="https://x.org/b">https://x.org/b</a>] and "<a href="https://x.org/c">https://x.org/c</a>"!</p>',
     '[https://x.org/b] and "https://x.org/c"!'),
    # A linkifier that took the full stop into the anchor text but not into the href.
    ('<p>Go to <a href="https://x.org/d">https://x.org/d.</a> Now.</p>', "Go to https://x.org/d. Now."),
    ('<p><a href="https://x.org/g">the guide</a>, then <a href="https://x.org/h">read</a>.</p>',
     "the guide https://x.org/g, then read https://x.org/h."),
    # Spaces inside the anchor belong to the sentence.
    ('<p>foo<a href="https://x.org/g"> the guide </a>bar</p>', "foo the guide https://x.org/g bar"),
    # Text that already holds the URL is not followed by it again.
    ('<p><a href="https://x.org/e">see https://x.org/e</a></p>', "see https://x.org/e"),
    # Misskey's href is percent-encoded, its text is what the author typed.
    ('<p><a href="https://ja.example/wiki/%E6%97%A5%E6%9C%AC">https://ja.example/wiki/日本</a></p>',
     "https://ja.example/wiki/日本"),
])
def test_punctuation_and_brackets_next_to_links_are_kept(html, expected):
    assert html_to_text(html) == expected


@pytest.mark.parametrize("html, expected", [
    ('<p>a <a href="https://x.org/page"></a>b</p>', "a b"),  # nothing visible: nothing added
    ('<p>a <a href="https://x.org/page"> </a> b</p>', "a b"),
    ('<p>cc <a href="https://mastodon.example/@bob" class="u-url mention"></a>!</p>', "cc @bob!"),
    ('<p>cc <a href="https://takahe.example/@bob@other.example/" class="mention"></a></p>', "cc @bob"),
    ('<p>cc @<a href="https://friendica.example/@bob" class="userinfo mention"></a></p>', "cc @bob"),
    # A profile URL that does not say the name (Misskey's /users/<id>): nothing is made up.
    ('<p>cc <a href="https://misskey.example/users/9h2kx0" class="u-url mention"></a>!</p>', "cc !"),
    ('<p>x<a/>y</p>', "xy"),
    ('<p><a href="https://x.org/i"><img src="photo.jpg"></a> caption</p>', "caption"),
])
def test_empty_anchors_add_nothing_the_author_did_not_write(html, expected):
    assert html_to_text(html) == expected


@pytest.mark.parametrize("html, expected", [
    ("<p>&amp;lt;3 and &amp;amp; are what I typed</p>", "&lt;3 and &amp; are what I typed"),
    ("<p>&lt;3 &#38; &#x26; &apos;quoted&apos; &hellip;</p>", "<3 & & 'quoted' \u2026"),
    ('<p><a href="https://x.org/?a=1&amp;b=2">https://x.org/?a=1&amp;b=2</a></p>', "https://x.org/?a=1&b=2"),
    (f'<p>{link("https://x.org/search?q=moths&amp;night=3&amp;sort=new", "")}</p>',
     "https://x.org/search?q=moths&night=3&sort=new"),
    ("plain &amp;amp; text", "plain &amp; text"),
])
def test_entities_are_decoded_exactly_once(html, expected):
    assert html_to_text(html) == expected


def test_emoji_shortcodes_stay_as_written():
    assert html_to_text("<p>tea :blobcat: :neocat_happy: time</p>") == "tea :blobcat: :neocat_happy: time"


def test_pre_keeps_its_spacing_and_nothing_else_does():
    html = "<p>Try  <b>this</b>:</p><pre><code>def f():\n    return  1\n\n# done</code></pre><p>ok  then</p>"
    assert html_to_text(html) == "Try this:\n\ndef f():\n    return  1\n\n# done\n\nok then"


def test_line_breaks_inside_a_paragraph_and_lists():
    html = "<p>one<br><br>two</p><ol><li>first</li><li>second <b>item</b></li></ol><p>end</p>"
    assert html_to_text(html) == "one\n\ntwo\n\nfirst\nsecond item\n\nend"


def test_scripts_and_styles_are_not_text():
    assert html_to_text("<p>a</p><style>p{color:red}</style><script>alert(1)</script><p>b</p>") == "a\n\nb"
