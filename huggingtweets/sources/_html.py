"""Mastodon post HTML to the plain text a person would have typed.

Mastodon stores posts as HTML: ``<p>`` paragraphs, ``<br>`` line breaks, mentions and hashtags as
links, and long links split into ``span.invisible`` / ``span.ellipsis`` pieces so that they display
shortened (``github.com/frederikstroem/gith…``). The text here takes every link's full URL from its
``href``, mentions as ``@user`` and hashtags as ``#tag``, with entities decoded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "figure"}
_LINE_BREAKS = {"br", "li"}
_SPACE_RUN = re.compile(r"[ \t\r\n\f\v]+")
_SPACES = re.compile(r" {2,}")
_URLISH = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)?[^\s/]+\.[^\s]*$", re.IGNORECASE)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []  # finished text pieces; "\n" and "\n\n" mark breaks
        self.pre = 0
        self.had_pre = False
        self.link: dict[str, str] | None = None  # attributes of the <a> we are inside
        self.link_text: list[str] = []

    # A break is written as a marker and resolved at the end, so that "<p>a</p><p>b</p>" gives one
    # blank line between paragraphs, not two, and no break leads or trails.
    def _break(self, marker: str) -> None:
        self.out.append(marker)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.link = {k: v or "" for k, v in attrs}
            self.link_text = []
        elif tag in _BLOCKS:
            self._break("\0P")
            if tag == "pre":
                self.pre += 1
                self.had_pre = True
        elif tag in _LINE_BREAKS:
            self._break("\0N")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":  # <a/> carries no text
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.link is not None:
            self.out.append(_render_link(self.link, "".join(self.link_text)))
            self.link = None
        elif tag in _BLOCKS:
            self._break("\0P")
            if tag == "pre" and self.pre:
                self.pre -= 1

    def handle_data(self, data: str) -> None:
        if not self.pre:
            data = _SPACE_RUN.sub(" ", data)
        if self.link is not None:
            self.link_text.append(data)
        else:
            self.out.append(data)

    def text(self) -> str:
        if self.link is not None:  # an unclosed <a> at the end
            self.out.append(_render_link(self.link, "".join(self.link_text)))
            self.link = None
        paragraphs: list[str] = []
        lines: list[str] = []
        current: list[str] = []

        def end_line() -> None:
            line = "".join(current)
            if not self.had_pre:  # pieces split by tags can meet as "a " + " b"
                line = _SPACES.sub(" ", line)
            lines.append(line.strip(" "))
            current.clear()

        def end_paragraph() -> None:
            end_line()
            para = "\n".join(lines).strip("\n")
            if para.strip():
                paragraphs.append(para)
            lines.clear()

        for piece in self.out:
            if piece == "\0P":
                end_paragraph()
            elif piece == "\0N":
                end_line()
            else:
                current.append(piece)
        end_paragraph()
        return "\n\n".join(paragraphs)


def _render_link(attrs: dict[str, str], text: str) -> str:
    href = attrs.get("href", "").strip()
    shown = text.strip()
    classes = attrs.get("class", "").split()
    if shown.startswith("@") and ("mention" in classes or "u-url" in classes):
        return shown
    if shown.startswith("#") and ("hashtag" in classes or "mention" in classes or attrs.get("rel") == "tag"):
        return shown
    if not href:
        return text
    # Mastodon writes the URL itself as the link text (possibly cut with an ellipsis): show the
    # full href. A link with words as its text (other servers allow it) keeps the words too.
    if not shown or _URLISH.match(shown.replace("\u2026", "")):
        return href
    return f"{shown} {href}"


def html_to_text(html: str) -> str:
    """Plain text of a post's HTML.

    Paragraphs are separated by a blank line, ``<br>`` becomes a newline, links show their full
    URL, mentions read ``@user`` and hashtags ``#tag``, and HTML entities are decoded.

        >>> html_to_text('<p>Hi <a href="https://example.com/a/very/long/path" class="">'
        ...              '<span class="invisible">https://</span><span class="ellipsis">example.com/a/ve'
        ...              '</span><span class="invisible">ry/long/path</span></a></p><p>Bye &amp; thanks</p>')
        'Hi https://example.com/a/very/long/path\\n\\nBye & thanks'
    """
    if "<" not in html and "&" not in html:
        return html.strip()
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.text()
