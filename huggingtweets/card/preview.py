"""The preview image, ``predictions.png``: the card's thumbnail, a 1200x628 social card.

It shows the avatar of each account (the profile image when one is stored locally, else its initial on a
colour derived from the handle), the names, the handles, the BOT/CYBORG label, the prompt and a few
generated posts, wrapped, with emoji in colour when a colour emoji font is installed.

Pillow has no font fallback, so the text is cut into runs, each drawn with the first font that has its
glyphs: a sans-serif text font (regular and bold), then a colour emoji font (Noto Color Emoji on Linux,
``fonts-noto-color-emoji`` on Debian/Ubuntu). A missing font is a warning, never an error: emoji are then
left out and the text uses Pillow's own font. ``HUGGINGTWEETS_FONT``, ``HUGGINGTWEETS_FONT_BOLD`` and
``HUGGINGTWEETS_EMOJI_FONT`` name font files to use instead.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._text import _INVISIBLE, _graphemes, clusters
from ..bot_folder import PREVIEW_FILE
from .card import handle_colour
from .avatars import avatar_source
from .facts import Account, CardData

WIDTH, HEIGHT = 1200, 628
MARGIN = 56
_FOOTER_TOP = HEIGHT - 58  # the line above the footer; posts stop above it
INK = (20, 23, 26)
GREY = (101, 119, 134)
LINE = (225, 232, 237)
BUBBLE = (243, 246, 248)
BACKGROUND = (255, 255, 255)
ELLIPSIS = "…"


class PreviewWarning(UserWarning):
    """The preview was drawn, but not as intended (a font is missing)."""


# --- fonts -------------------------------------------------------------------------------------------

_TEXT_FONTS = {
    "regular": [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
        "/Library/Fonts/Arial Unicode.ttf",
        "/System/Library/Fonts/Supplemental/Arial.ttf",
        "C:/Windows/Fonts/segoeui.ttf",
        "C:/Windows/Fonts/arial.ttf",
    ],
    "bold": [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
        "C:/Windows/Fonts/segoeuib.ttf",
        "C:/Windows/Fonts/arialbd.ttf",
    ],
}
_EMOJI_FONTS = [
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/google-noto-emoji/NotoColorEmoji.ttf",
    "/usr/share/fonts/noto-emoji/NotoColorEmoji.ttf",
    "/usr/share/fonts/truetype/noto-color-emoji/NotoColorEmoji.ttf",
    "/System/Library/Fonts/Apple Color Emoji.ttc",
    "C:/Windows/Fonts/seguiemj.ttf",
]
# Bitmap colour fonts load only at the sizes they carry (Noto: 109 px; Apple: 160, 96, 64, ...).
_EMOJI_SIZES = (109, 160, 137, 128, 96, 64, 48, 40, 32, 20)
_ENV = {"regular": "HUGGINGTWEETS_FONT", "bold": "HUGGINGTWEETS_FONT_BOLD", "emoji": "HUGGINGTWEETS_EMOJI_FONT"}


def _fc(args: list[str]) -> list[str]:
    """Font files that fontconfig lists for a query, when fontconfig is installed."""
    exe = shutil.which(args[0])
    if not exe:
        return []
    try:
        out = subprocess.run([exe, *args[1:]], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip().lower().endswith((".ttf", ".otf", ".ttc"))]


@functools.lru_cache(maxsize=None)
def find_fonts() -> dict[str, str | None]:
    """The font files used: ``regular``, ``bold`` and ``emoji`` (None where none was found)."""
    found: dict[str, str | None] = {}
    for role in ("regular", "bold", "emoji"):
        env = os.environ.get(_ENV[role])
        candidates = [env] if env else []
        candidates += _EMOJI_FONTS if role == "emoji" else _TEXT_FONTS[role]
        found[role] = next((c for c in candidates if c and Path(c).is_file()), None)
    if found["regular"] is None:
        found["regular"] = next(iter(_fc(["fc-match", "-f", "%{file}\n", "sans-serif"])), None)
    if found["bold"] is None:
        found["bold"] = next(iter(_fc(["fc-match", "-f", "%{file}\n", "sans-serif:bold"])), None) or found["regular"]
    if found["emoji"] is None:
        # Only a font that really has a colour emoji glyph (fc-match would name the closest font).
        found["emoji"] = next(iter(_fc(["fc-list", ":charset=1f600:color=true", "file", "-f", "%{file}\n"])), None)
    return found


@functools.lru_cache(maxsize=None)
def _text_font(role: str, size: int):
    from PIL import ImageFont

    path = find_fonts()[role]
    if path:
        try:
            return ImageFont.truetype(path, size, layout_engine=_layout_engine())
        except OSError:
            pass
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=None)
def _emoji_font():
    from PIL import ImageFont

    path = find_fonts()["emoji"]
    if not path:
        return None
    for size in _EMOJI_SIZES:
        try:
            return ImageFont.truetype(path, size, layout_engine=_layout_engine())
        except OSError:
            continue
    return None


@functools.lru_cache(maxsize=None)
def _layout_engine():
    from PIL import ImageFont, features

    # Raqm shapes a ZWJ sequence or a flag into one glyph; without it each code point is drawn alone.
    return ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC


def _mask_key(font, text: str) -> tuple:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


@functools.lru_cache(maxsize=4096)
def _has_glyph(font, ch: str) -> bool:
    """Whether ``font`` draws ``ch`` with a glyph of its own rather than the missing-glyph box."""
    if ch.isspace():
        return True
    try:
        return _mask_key(font, ch) != _mask_key(font, "\U0010FFFD")
    except Exception:
        return False


@functools.lru_cache(maxsize=4096)
def _emoji_has(font, cluster: str) -> bool:
    try:
        box = font.getbbox(cluster)
    except Exception:
        return False
    return box[3] - box[1] > 0 and box[2] - box[0] > 0


# --- text runs (where text may be cut: _text) -------------------------------------------------------


@dataclass
class Run:
    text: str
    font: Any
    emoji: bool = False
    fill: tuple[int, int, int] = INK


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Writer:
    """Measures and draws text of one size, with bold spans and emoji."""

    def __init__(self, size: int, missing: set[str]):
        self.size = size
        self.regular = _text_font("regular", size)
        self.bold = _text_font("bold", size)
        self.emoji = _emoji_font()
        self.missing = missing  # what could not be drawn, for one warning at the end

    def runs(self, text: str, bold: bool = False, fill: tuple[int, int, int] = INK) -> list[Run]:
        # Control characters (a model can sample \x1c or \r) make the text layout engine fail.
        text = _CONTROL.sub(" ", text)
        font = self.bold if bold else self.regular
        out: list[Run] = []
        for piece, is_emoji in clusters(text):
            if is_emoji:
                if self.emoji is not None and _emoji_has(self.emoji, piece):
                    out.append(Run(piece, self.emoji, True, fill))
                    continue
                base = "".join(c for c in piece if c not in _INVISIBLE and not 0x1F3FB <= ord(c) <= 0x1F3FF)
                if all(_has_glyph(font, c) for c in base):
                    out.append(Run(base, font, False, fill))
                else:
                    self.missing.add("emoji")
                continue
            if self.emoji is not None and not all(_has_glyph(font, c) for c in piece):
                # A symbol the text font lacks may still be in the emoji font (drawn in colour).
                chunk = ""
                for c in piece:
                    if not _has_glyph(font, c) and _emoji_has(self.emoji, c):
                        if chunk:
                            out.append(Run(chunk, font, False, fill))
                            chunk = ""
                        out.append(Run(c, self.emoji, True, fill))
                    else:
                        chunk += c
                if chunk:
                    out.append(Run(chunk, font, False, fill))
            else:
                out.append(Run(piece, font, False, fill))
        return out

    def _scale(self, run: Run) -> float:
        return self.size / run.font.size if run.emoji else 1.0

    def width(self, runs: list[Run]) -> float:
        return sum(r.font.getlength(r.text) * self._scale(r) for r in runs)

    def draw(self, image, draw, x: float, baseline: float, runs: list[Run]) -> float:
        for r in runs:
            if r.emoji:
                x += self._paste_emoji(image, x, baseline, r)
            else:
                draw.text((x, baseline), r.text, font=r.font, fill=r.fill, anchor="ls")
                x += r.font.getlength(r.text)
        return x

    def _paste_emoji(self, image, x: float, baseline: float, run: Run) -> float:
        from PIL import Image, ImageDraw

        font = run.font
        ascent, descent = font.getmetrics()
        w = max(1, round(font.getlength(run.text)))
        tile = Image.new("RGBA", (w, ascent + descent), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((0, 0), run.text, font=font, embedded_color=True)
        scale = self._scale(run)
        size = (max(1, round(w * scale)), max(1, round((ascent + descent) * scale)))
        tile = tile.resize(size, Image.LANCZOS)
        top = round(baseline - ascent * scale)
        image.paste(tile, (round(x), top), tile)
        return size[0]


# --- layout ------------------------------------------------------------------------------------------


def _tokens(spans: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Words and the spaces between them, each with its weight."""
    import re

    out = []
    for text, bold in spans:
        out.extend((t, bold) for t in re.findall(r"\s+|\S+", " ".join(text.split("\n"))))
    return out


def wrap(writer: Writer, spans: list[tuple[str, bool]], width: float, max_lines: int,
         fill: tuple[int, int, int] = INK) -> list[list[Run]]:
    """Greedy line breaking of styled text; the last line ends with an ellipsis when text is left over."""
    lines: list[list[Run]] = [[]]
    widths = [0.0]
    tokens = _tokens(spans)
    truncated = False
    k = 0
    while k < len(tokens):
        text, bold = tokens[k]
        runs = writer.runs(text, bold, fill)
        w = writer.width(runs)
        if text.isspace():
            if widths[-1] > 0:
                lines[-1].extend(runs)
                widths[-1] += w
            k += 1
            continue
        if widths[-1] + w <= width:
            lines[-1].extend(runs)
            widths[-1] += w
            k += 1
            continue
        if widths[-1] == 0:
            # One word longer than the line: cut it between clusters.
            head, rest = "", text
            for piece in _graphemes(text):
                if writer.width(writer.runs(head + piece, bold, fill)) > width and head:
                    break
                head += piece
            rest = text[len(head):]
            lines[-1].extend(writer.runs(head, bold, fill))
            widths[-1] += writer.width(writer.runs(head, bold, fill))
            tokens[k] = (rest, bold)
            if not rest:
                k += 1
                continue
        if len(lines) == max_lines:
            truncated = True
            break
        _strip_trailing_space(lines[-1])
        lines.append([])
        widths.append(0.0)
    _strip_trailing_space(lines[-1])
    if truncated:
        last = lines[-1]
        dots = writer.runs(ELLIPSIS, False, fill)
        while last and writer.width(last) + writer.width(dots) > width:
            r = last.pop()
            if len(r.text) > 1 and not r.emoji:
                last.append(Run(r.text[:-1], r.font, False, r.fill))
        _strip_trailing_space(last)
        last.extend(dots)
    return [line for line in lines if line]


def _strip_trailing_space(line: list[Run]) -> None:
    while line and not line[-1].emoji and line[-1].text.isspace():
        line.pop()
    if line and not line[-1].emoji and line[-1].text != line[-1].text.rstrip():
        line[-1] = Run(line[-1].text.rstrip(), line[-1].font, False, line[-1].fill)


def _fit_line(writer: Writer, text: str, width: float, bold: bool, fill: tuple[int, int, int]) -> list[Run]:
    lines = wrap(writer, [(text, bold)], width, 1, fill)
    return lines[0] if lines else []


def _largest_fitting(text: str, bold: bool, width: float, sizes: tuple[int, ...], missing: set[str]) -> Writer:
    """The writer of the largest size in ``sizes`` at which ``text`` fits on one line (else the smallest)."""
    for size in sizes:
        w = Writer(size, missing)
        if w.width(w.runs(text, bold)) <= width:
            return w
    return w


# --- avatars -----------------------------------------------------------------------------------------


def _avatar_file(account: Account) -> Path | None:
    """A local profile image (``avatars.avatar_source``): the card links the same one, copied beside it."""
    return avatar_source(account)


def _avatar(account: Account, size: int, missing: set[str]):
    from PIL import Image, ImageDraw, ImageOps

    big = size * 4  # drawn large and scaled down, so the circle's edge is smooth
    face = None
    path = _avatar_file(account)
    if path is not None:
        try:
            with Image.open(path) as im:
                face = ImageOps.fit(im.convert("RGB"), (big, big), Image.LANCZOS)
        except (OSError, ValueError):
            missing.add(f"avatar {path.name}")
    if face is None:
        face = Image.new("RGB", (big, big), handle_colour(account.handle))
        font = _text_font("bold", int(big * 0.5))
        ImageDraw.Draw(face).text((big / 2, big / 2), account.initial, font=font, fill=(255, 255, 255),
                                  anchor="mm")
    ring = big // 24
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, big - 1, big - 1), fill=255)
    disc = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    disc.paste((255, 255, 255, 255), (0, 0), mask)
    inner = Image.new("L", (big, big), 0)
    ImageDraw.Draw(inner).ellipse((ring, ring, big - 1 - ring, big - 1 - ring), fill=255)
    disc.paste(face, (0, 0), inner)
    return disc.resize((size, size), Image.LANCZOS)


def _more_avatar(count: int, size: int):
    from PIL import Image, ImageDraw

    big = size * 4
    disc = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(disc)
    d.ellipse((0, 0, big - 1, big - 1), fill=(255, 255, 255, 255))
    d.ellipse((big // 24, big // 24, big - 1 - big // 24, big - 1 - big // 24), fill=GREY + (255,))
    d.text((big / 2, big / 2), f"+{count}", font=_text_font("bold", int(big * 0.36)), fill=(255, 255, 255),
           anchor="mm")
    return disc.resize((size, size), Image.LANCZOS)


# --- the image ---------------------------------------------------------------------------------------


def draw_preview(data: CardData, path: str | Path | None = None, predictions: list[str] | None = None,
                 prompt: str | None = None, max_posts: int = 4) -> Any:
    """Draw the preview of a bot; save it to ``path`` (a PNG) when given; return the Pillow image.

    Args:
        data: what the card shows (``card_data_from_folder``).
        path: where to write the PNG (for a bot folder: ``folder / "predictions.png"``).
        predictions: the posts to show (default: ``data.predictions``), as many as fit, up to ``max_posts``.
        prompt: the prompt they answer (default: ``data.prompt``); it is drawn in bold.
    Warns:
        PreviewWarning: a font or an avatar image is missing (the image is drawn without it).
    """
    from PIL import Image, ImageDraw

    predictions = [p for p in (data.predictions if predictions is None else predictions) if p.strip()]
    prompt = data.prompt if prompt is None else prompt
    missing: set[str] = set()
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    accent = handle_colour(data.accounts[0].handle)
    draw.rectangle((0, 0, WIDTH, 10), fill=accent)
    divider = _draw_header(image, draw, data, accent, missing)
    _draw_posts(image, draw, predictions[:max_posts], prompt, divider + 22, missing)
    _draw_footer(image, draw, data.handles, missing)
    _warn_missing(missing)
    if path is not None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        image.save(tmp, format="PNG", optimize=True)
        tmp.replace(path)
    return image


def _draw_header(image, draw, data: CardData, accent: tuple[int, int, int], missing: set[str]) -> int:
    """The avatars, then the label, names and handles beside them; returns the divider's y below them."""
    top = 44
    shown = data.accounts[:4] if len(data.accounts) <= 4 else data.accounts[:3]
    size = 132 if len(data.accounts) == 1 else 112
    step = size - 30
    x = MARGIN
    for acc in shown:
        disc = _avatar(acc, size, missing)
        image.paste(disc, (x, top + (132 - size) // 2), disc)
        x += step
    if len(data.accounts) > len(shown):
        disc = _more_avatar(len(data.accounts) - len(shown), size)
        image.paste(disc, (x, top + (132 - size) // 2), disc)
        x += step
    text_x = x + (size - step) + 32
    text_w = WIDTH - MARGIN - text_x
    label = Writer(26, missing)
    label.draw(image, draw, text_x, top + 30, _fit_line(label, data.label, text_w, True, accent))
    names = _largest_fitting(data.names, True, text_w, (40, 34, 30, 26), missing)
    names.draw(image, draw, text_x, top + 82, _fit_line(names, data.names, text_w, True, INK))
    handles = Writer(26, missing)
    handle_line = "  ".join(f"@{h}" for h in data.handles)
    handles.draw(image, draw, text_x, top + 122, _fit_line(handles, handle_line, text_w, False, GREY))
    divider = top + 132 + 24
    draw.line((MARGIN, divider, WIDTH - MARGIN, divider), fill=LINE, width=2)
    return divider


def _draw_posts(image, draw, posts: list[str], prompt: str, y: int, missing: set[str]) -> None:
    """Each post in a bubble from ``y`` down, the prompt in bold, as many as fit above the footer.

    When none fits (or there is none), the prompt alone, followed by an ellipsis.
    """
    body = Writer(26, missing)
    line_h, pad, gap = 34, 16, 14
    inner_w = WIDTH - 2 * MARGIN - 2 * pad
    drawn = 0
    for post in posts:
        spans = [(prompt, True), (post[len(prompt):], False)] if prompt and post.startswith(prompt) \
            else [(post, False)]
        room = (_FOOTER_TOP - gap - y - 2 * pad) // line_h
        if room < 1:
            break
        lines = wrap(body, spans, inner_w, min(3, room))
        h = len(lines) * line_h + 2 * pad
        draw.rounded_rectangle((MARGIN, y, WIDTH - MARGIN, y + h), radius=18, fill=BUBBLE)
        for i, line in enumerate(lines):
            body.draw(image, draw, MARGIN + pad, y + pad + (i + 1) * line_h - 9, line)
        y += h + gap
        drawn += 1
    if drawn == 0 and prompt:
        lines = wrap(body, [(prompt + " …", True)], inner_w, 1)
        body.draw(image, draw, MARGIN + pad, y + pad + line_h - 9, lines[0] if lines else [])


def _draw_footer(image, draw, handles: list[str], missing: set[str]) -> None:
    """What this is, in words: the longest of three sentences that fits on the line."""
    foot = Writer(20, missing)
    who = " & ".join(f"@{h}" for h in handles)
    foot_w = WIDTH - 2 * MARGIN
    foot_text = f"Generated by an AI trained on public posts; not written by {who}. Made with huggingtweets."
    if foot.width(foot.runs(foot_text)) > foot_w:
        foot_text = f"AI-generated; not written by {who}. huggingtweets"
    if foot.width(foot.runs(foot_text)) > foot_w:
        foot_text = "AI-generated posts; not written by the people named above. huggingtweets"
    draw.line((MARGIN, _FOOTER_TOP, WIDTH - MARGIN, _FOOTER_TOP), fill=LINE, width=2)
    foot.draw(image, draw, MARGIN, HEIGHT - 24, _fit_line(foot, foot_text, foot_w, False, GREY))


def _warn_missing(missing: set[str]) -> None:
    """One PreviewWarning naming what the image was drawn without, and how to get it; attributed to the
    caller of ``draw_preview``."""
    fonts = find_fonts()
    if fonts["regular"] is None:
        missing.add("text font")
    if missing:
        what = ", ".join(sorted(missing))
        hint = ("install a colour emoji font (Debian/Ubuntu: apt-get install fonts-noto-color-emoji) or "
                "set HUGGINGTWEETS_EMOJI_FONT" if "emoji" in missing else
                "install fonts-dejavu-core or set HUGGINGTWEETS_FONT" if "text font" in missing else
                "the image was drawn without it")
        warnings.warn(f"preview drawn without: {what}; {hint}", PreviewWarning, stacklevel=3)


def preview_path(folder: str | Path) -> Path:
    return Path(folder) / PREVIEW_FILE
