"""Post HTML from Mastodon-compatible servers to the plain text its author typed.

Servers mark up the same words differently, and some add text the author never wrote:

- Links: Mastodon cuts long ones for display into ``span.invisible`` / ``span.ellipsis`` pieces
  (``github.com/frederikstroem/gith…``), Takahē into an ``a.ellipsis`` holding the first 30
  characters; Pleroma, Akkoma, Misskey and GoToSocial show the URL as it was typed, while the
  ``href`` may be normalised (``example.com`` -> ``http://example.com``). A link whose text is
  words (Markdown ``[label](url)``) keeps the words and its URL.
- Mentions: ``@<span>bob</span>`` (Mastodon, Pleroma, GoToSocial), ``@bob@host`` as the whole
  anchor text (Misskey, Sharkey), ``@`` outside the anchor (Friendica); hashtags likewise, with
  ``class="mention hashtag"``, ``class="hashtag"``, only ``rel="tag"`` (Misskey) or nothing.
  The visible text is kept exactly; an empty anchor adds nothing, except a mention whose
  ``href`` is a ``/@user`` profile, which reads ``@user``.
- Quote fallbacks, for software that cannot show quotes: Mastodon prepends
  ``<p class="quote-inline">RE: <a>URL</a></p>``, Pleroma, Akkoma and Fedibird append
  ``<span class="quote-inline"><br><br>RE: <a>URL</a></span>``, Misskey and Sharkey end the text
  with a plain ``RE: URL`` line. Elements with class ``quote-inline`` are always dropped; the
  plain line is dropped when the caller says which post is quoted (``quoted=``).
- Custom emoji stay ``:shortcode:``: written as text (Mastodon, Pleroma), as ``<img alt>``
  (Akkoma's MFM, Misskey-family HTML) or wrapped in zero-width spaces (Misskey).

Entities are decoded exactly once, by the parser: ``&amp;lt;`` in the HTML is ``&lt;`` in the
text. ``html.parser`` from the standard library does the parsing: it is what is needed for the
small, server-sanitised fragments posts are, and costs no dependency.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Iterable
from urllib.parse import unquote

__all__ = ["html_to_text", "same_post"]

_BLOCKS = frozenset({"p", "div", "blockquote", "pre", "ul", "ol", "dl", "table", "h1", "h2", "h3", "h4",
                     "h5", "h6", "figure", "figcaption", "hr", "section", "article", "header", "footer",
                     "aside", "details", "summary", "address"})
_LINE_BREAKS = frozenset({"br", "li", "dt", "dd", "tr"})
# Elements with no end tag: they never open a region that an end tag closes.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                   "source", "track", "wbr"})
_HIDDEN = frozenset({"script", "style", "template", "head", "title", "noscript"})
_PARA, _LINE = object(), object()  # break markers among the text pieces

_SPACE_RUN = re.compile(r"[ \t\r\n\f\v]+")
_SPACES = re.compile(r" {2,}")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://\S+|www\.\S+|[^\s/@:]+\.[a-z]{2,}(?:[/?#:]\S*)?)$", re.IGNORECASE)
_ELLIPSIS = ("\u2026", "...")
_TRAILING_PUNCT = frozenset(".,;:!?)]}'\"\u2026\u00bb\u201d\u2019>")
_HANDLE = re.compile(r"^@([\w.-]+)(?:@[\w.-]+)?$")
_PROFILE_PATH = re.compile(r"^/@([\w.-]+)(?:@[\w.-]+)?/?$")  # https://host/@bob, /@bob@other.host
_SHORTCODE = re.compile(r"^:[\w+.@-]+:$")
_ZWSP_EMOJI = re.compile(r"\u200b?(:[\w+.@-]+:)\u200b?")
# A quote fallback line: "RE: URL" (Mastodon, Pleroma, Misskey) or "QT: URL" (Fedibird).
_FALLBACK_LINE = re.compile(r"^\s*(?:RE|QT):\s*(\S+)\s*$", re.IGNORECASE)
_FALLBACK_TAIL = re.compile(r"\s+(?:RE|QT):\s*(\S+)\s*$", re.IGNORECASE)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # Text pieces and _PARA/_LINE markers; text inside <pre> is a 1-tuple, kept verbatim.
        self.out: list = []
        self.pre = 0
        self.skip: list[str] = []  # open elements of a region being dropped (quote-inline, script)
        self.link: dict[str, str] | None = None  # attributes of the <a> we are inside
        self.link_text: list[str] = []
        self.link_cut = False  # the link's text is a display form cut into pieces (Mastodon)

    # -- tags ------------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            if self.skip[0] == "p" and tag in _BLOCKS:
                self.skip.clear()  # a block closes an unclosed <p>, and the dropped region with it
            else:
                if tag not in _VOID:
                    self.skip.append(tag)
                return
        classes = ()
        for name, value in attrs:
            if name == "class" and value:
                classes = value.split()
                break
        if "quote-inline" in classes or tag in _HIDDEN:
            if tag not in _VOID:
                self.skip.append(tag)
            return
        if tag == "a":
            if self.link is not None:  # an <a> inside an unclosed <a>
                self._end_link()
            self.link = {k: v or "" for k, v in attrs}
            self.link_text = []
            self.link_cut = "ellipsis" in classes  # Takahē: <a class="ellipsis">first 30 chars</a>
        elif tag == "span":
            if self.link is not None and ("invisible" in classes or "ellipsis" in classes):
                self.link_cut = True
        elif tag in _BLOCKS:
            self.out.append(_PARA)
            if tag == "pre":
                self.pre += 1
        elif tag in _LINE_BREAKS:
            if self.link is not None:
                self.link_text.append(" ")
            else:
                self.out.append(_LINE)
        elif tag == "img":
            alt = next((v for k, v in attrs if k == "alt" and v), "")
            if alt and ("emoji" in classes or "custom-emoji" in classes or _SHORTCODE.match(alt.strip())):
                self._text(alt.strip())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:  # <p/>, <a/>, <span/>: opened and closed at once
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            if tag in self.skip:  # close it and whatever was left open inside it
                while self.skip.pop() != tag:
                    pass
            return
        if tag == "a":
            if self.link is not None:
                self._end_link()
        elif tag in _BLOCKS:
            self.out.append(_PARA)
            if tag == "pre" and self.pre:
                self.pre -= 1

    # -- text ------------------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre and self.link is None:
            first, *rest = data.split("\n")
            if first:
                self.out.append((first,))
            for line in rest:
                self.out.append(_LINE)
                if line:
                    self.out.append((line,))
            return
        self._text(_SPACE_RUN.sub(" ", data))

    def _text(self, text: str) -> None:
        if self.link is not None:
            self.link_text.append(text)
        else:
            self.out.append(text)

    def _end_link(self) -> None:
        attrs, text = self.link or {}, "".join(self.link_text)
        self.link = None
        core = text.strip()
        shown = _render_link(attrs, core, self.link_cut)
        if not core and shown[:1] == "@" and self.out and type(self.out[-1]) is str and self.out[-1].endswith("@"):
            shown = shown[1:]  # an empty mention after a typed "@" (Friendica writes the @ outside)
        # The spaces around the link's own text belong to the sentence: "foo<a> bar </a>baz".
        self.out.append((" " if text[:1] == " " else "") + shown + (" " if text[-1:] == " " and core else ""))

    def text(self) -> str:
        if self.link is not None:  # an unclosed <a> at the end
            self._end_link()
        paragraphs: list[str] = []
        lines: list[str] = []
        current: list[str] = []
        verbatim = False  # the line holds <pre> text, whose spaces are the author's

        def end_line() -> None:
            nonlocal verbatim
            line = "".join(current)
            if not verbatim:  # pieces split by tags can meet as "a " + " b"
                line = _SPACES.sub(" ", line).strip(" ")
            lines.append(line)
            current.clear()
            verbatim = False

        def end_paragraph() -> None:
            end_line()
            para = "\n".join(lines).strip("\n")
            if para.strip():
                paragraphs.append(para)
            lines.clear()

        for piece in self.out:
            if piece is _PARA:
                end_paragraph()
            elif piece is _LINE:
                end_line()
            elif type(piece) is tuple:
                current.append(piece[0])
                verbatim = True
            else:
                current.append(piece)
        end_paragraph()
        return "\n\n".join(paragraphs)


# -- links ---------------------------------------------------------------------------------------


def _render_link(attrs: dict[str, str], shown: str, cut: bool) -> str:
    """The text of one ``<a>``: ``shown`` is its visible text (spaces collapsed, ends trimmed)."""
    href = attrs.get("href", "").strip()
    classes = attrs.get("class", "").split()
    if not shown:
        # Nothing visible: nothing to keep, except a mention whose href names the account.
        if ("mention" in classes and "hashtag" not in classes) or "u-url" in classes:
            m = _PROFILE_PATH.match(_path(href))
            if m:
                return "@" + m.group(1)
        return ""
    if _is_mention(shown, classes, href) or _is_hashtag(shown, classes, attrs.get("rel", ""), href):
        return shown
    if not href or href.startswith(("#", "/")):
        return shown  # no link, or one relative to a page we do not have
    if cut:  # a display form of the URL (Mastodon's spans, Takahē's a.ellipsis): the href is the link
        return href
    shown_key, href_key = _url_key(shown), _url_key(href)
    if _URLISH.match(shown):
        if shown_key == href_key:
            return shown  # the URL as the author typed it (the href may be normalised)
        bare = shown_key
        for mark in _ELLIPSIS:
            bare = bare.removesuffix(mark)
        if bare and href_key.startswith(bare):
            return href  # a shortened display of the href
        if shown_key.startswith(href_key) and all(c in _TRAILING_PUNCT for c in shown_key[len(href_key):]):
            return shown  # the linkifier took trailing punctuation into the text, not the href
    if href_key and href_key in shown_key:
        return shown  # the words already hold the URL
    return f"{shown} {href}"


def _path(href: str) -> str:
    rest = _SCHEME.sub("", href, count=1)
    slash = rest.find("/")
    return rest[slash:].split("?", 1)[0].split("#", 1)[0] if slash >= 0 else ""


def _is_mention(shown: str, classes: list[str], href: str) -> bool:
    if "hashtag" in classes:
        return False
    if "mention" in classes or "u-url" in classes:
        return True  # keep the visible text exactly: "@bob", "@bob@server", or Friendica's "bob"
    m = _HANDLE.match(shown)
    return bool(m) and m.group(1).lower() in unquote(href).lower()


def _is_hashtag(shown: str, classes: list[str], rel: str, href: str) -> bool:
    if "hashtag" in classes or "tag" in rel.split():
        return True
    if not shown.startswith("#") or " " in shown:
        return False
    target = unquote(href).lower()
    return "tag" in target and shown[1:].lower() in target  # /tags/tea, /tag/tea, ?tag=tea


def _url_key(url: str) -> str:
    """A URL reduced for comparing two spellings of it: no scheme, no trailing slash, decoded."""
    key = _SCHEME.sub("", url.strip(), count=1)
    if "%" in key:
        key = unquote(key)
    if "xn--" in key:
        host, sep, rest = key.partition("/")
        try:
            key = host.encode("ascii").decode("idna") + sep + rest
        except UnicodeError:
            pass
    return key.rstrip("/").lower()


# -- quote fallbacks -----------------------------------------------------------------------------


def same_post(url: str, refs: Iterable[str]) -> bool:
    """True when ``url`` names the same post as one of ``refs`` (URLs, URIs or bare ids).

    A post has several names: ``https://other.example/@bob/1134`` (its page) and
    ``https://other.example/users/bob/statuses/1134`` (its ActivityPub id) are one post, as is the
    bare id ``1134``. Two URLs on the same host ending in the same id are taken as the same post.
    """
    key = _url_key(url)
    host, _, path = key.partition("/")
    last = path.removesuffix("/activity").rsplit("/", 1)[-1]
    for ref in refs:
        ref_key = _url_key(str(ref))
        if not ref_key:
            continue
        if ref_key == key:
            return True
        ref_host, slash, ref_path = ref_key.partition("/")
        if not slash:  # a bare id
            if ref_key == last:
                return True
        elif ref_host == host and last and ref_path.removesuffix("/activity").rsplit("/", 1)[-1] == last:
            return True
    return False


def _drop_fallback(text: str, refs: tuple[str, ...]) -> str:
    """Remove a leading or trailing ``RE: <the quoted post>`` line, and only such a line."""
    lines = text.split("\n")
    for end in (0, -1):
        m = _FALLBACK_LINE.match(lines[end]) if lines else None
        if m and same_post(m.group(1), refs):
            del lines[end]
            while lines and not lines[end].strip():
                del lines[end]
        elif end == -1 and lines:
            # Flattened onto the author's last line ("... closed. RE: https://..."), where no
            # <br> or paragraph kept it apart.
            m = _FALLBACK_TAIL.search(lines[-1])
            if m and same_post(m.group(1), refs):
                lines[-1] = lines[-1][: m.start()]
    return "\n".join(lines).strip()


# -- the one entry point -------------------------------------------------------------------------


def html_to_text(html: str, quoted: Iterable[str] = ()) -> str:
    """Plain text of a post's HTML: what its author typed, with nothing added and nothing lost.

    Paragraphs are separated by a blank line, ``<br>`` becomes a newline, ``<pre>`` keeps its
    spacing, links show their full URL, mentions and hashtags read as shown (``@bob``,
    ``@bob@server``, ``#tea``), custom emoji as ``:shortcode:``, and HTML entities are decoded
    once. Quote fallbacks (elements with class ``quote-inline``) are dropped.

    Args:
        html: the post's ``content``.
        quoted: for a quote post, the quoted post's URL, URI and/or id, as the server gave them;
            a leading or trailing ``RE: <that post>`` line is then dropped too (Misskey and
            Sharkey write it without a class).

    Returns:
        The text, trimmed.

        >>> html_to_text('<p>Hi <a href="https://example.com/a/very/long/path" class="">'
        ...              '<span class="invisible">https://</span><span class="ellipsis">example.com/a/ve'
        ...              '</span><span class="invisible">ry/long/path</span></a></p><p>Bye &amp; thanks</p>')
        'Hi https://example.com/a/very/long/path\\n\\nBye & thanks'
        >>> html_to_text('<p>Agreed.<br><br>RE: <a href="https://mk.example/notes/9z">'
        ...              'https://mk.example/notes/9z</a></p>', quoted=["https://mk.example/notes/9z"])
        'Agreed.'
    """
    if "<" not in html and "&" not in html:
        text = html.strip()
    else:
        parser = _TextParser()
        parser.feed(html)
        parser.close()
        text = parser.text()
    if "\u200b" in text:  # Misskey writes custom emoji as "\u200b:name:\u200b"
        text = _ZWSP_EMOJI.sub(r"\1", text)
    refs = tuple(str(r) for r in quoted if r)
    if refs and text:
        text = _drop_fallback(text, refs)
    return text
