"""The model card as the page shows it: its Markdown (with the HTML it holds) rendered and sanitised.

Rendered by markdown-it-py (CommonMark and tables, HTML blocks kept) and sanitised by nh3 (the Rust
``ammonia`` sanitiser): only the tags of a document survive, no script, no event handler, no style
(the page's Content-Security-Policy would refuse inline styles anyway), links only to http(s) and open
in a new tab without a referrer. Images beside the card (the preview, avatars) are served from the
model's folder by ``/api/model-image/NAME``; other images (badges on other sites, which the policy
would block) are shown as their text. Paths of the session and its id never reach the page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from .sessions import Session

IMAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,150}\.(?:png|jpe?g|webp|gif)$")
"""A picture the card shows from its own folder (``predictions.png``, ``avatar-jane.jpg``)."""
TAGS = {"a", "blockquote", "br", "code", "del", "details", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "img", "li", "ol", "p", "pre", "s", "span", "strong", "summary", "table", "tbody", "td", "th",
        "thead", "tr", "ul"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}, "th": {"scope"}, "ol": {"start"}}
IMAGE_ROUTE = "/api/model-image/"


def hide_session(text: str, session: Session) -> str:
    """``text`` with the session's folder written as a relative path and its id hidden."""
    for root in {str(session.folder.resolve()), str(session.folder)}:
        text = text.replace(root + "/", "").replace(root, ".")
    return text.replace(session.id, "***")


def _front_matter(markdown: str) -> tuple[str, str]:
    """(the YAML front matter, the rest) of a card."""
    if markdown.startswith("---\n"):
        end = markdown.find("\n---\n", 4)
        if end != -1:
            return markdown[4:end], markdown[end + 5:]
    return "", markdown


def _attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src":
        # A file beside the card, through the route that serves it; any other image is left out.
        return IMAGE_ROUTE + value if IMAGE_NAME.match(value) else None
    return value


def _image_as_text(renderer, tokens, idx, options, env) -> str:
    """A Markdown image whose file is not beside the card (a badge on another site) becomes its text."""
    token = tokens[idx]
    src = token.attrGet("src") or ""
    alt = html.escape(token.content or "")
    if IMAGE_NAME.match(src):
        return f'<img src="{html.escape(src)}" alt="{alt}">'
    return alt


def card_html(markdown: str) -> str:
    """A card's Markdown as safe HTML: the front matter in a closed ``<details>``, then the card."""
    import nh3
    from markdown_it import MarkdownIt

    meta, body = _front_matter(markdown)
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.add_render_rule("image", _image_as_text)
    rendered = md.render(body)
    if meta:
        rendered = (f"<details><summary>Metadata</summary><pre><code>{html.escape(meta)}</code></pre></details>"
                    + rendered)
    return nh3.clean(rendered, tags=TAGS, attributes=ATTRIBUTES, attribute_filter=_attribute,
                     url_schemes={"http", "https"}, link_rel="noopener noreferrer",
                     set_tag_attribute_values={"a": {"target": "_blank"}})


def card_view(folder: Path, session: Session) -> dict[str, str] | None:
    """``{"markdown", "html"}`` of the model's card, as the page shows it; None when there is none."""
    from ..bot_folder import CARD_FILE

    path = folder / CARD_FILE
    if not path.is_file():
        return None
    markdown = hide_session(path.read_text(encoding="utf-8"), session)
    return {"markdown": markdown, "html": card_html(markdown)}
