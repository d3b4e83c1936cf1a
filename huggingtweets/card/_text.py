"""Where text may be cut, for the preview image: emoji sequences and user-perceived characters.

No fonts here: ``preview`` decides how each piece is drawn.
"""

from __future__ import annotations

from typing import Iterator

_INVISIBLE = {"\ufe0e", "\ufe0f", "\u200d"}


def _strong_emoji(cp: int) -> bool:
    return 0x1F000 <= cp <= 0x1FAFF


def _maybe_emoji(cp: int) -> bool:
    # Symbols drawn as text unless a variation selector 16 asks for the emoji form.
    return (0x2600 <= cp <= 0x27BF or 0x2300 <= cp <= 0x23FF or 0x2B00 <= cp <= 0x2BFF
            or 0x2190 <= cp <= 0x21FF or cp in (0x00A9, 0x00AE, 0x203C, 0x2049, 0x2122, 0x2139,
                                                0x3030, 0x303D, 0x3297, 0x3299))


def clusters(text: str) -> Iterator[tuple[str, bool]]:
    """Split ``text`` into (piece, is_emoji): emoji sequences (ZWJ, flags, skin tones, keycaps) whole."""
    i, n, buf = 0, len(text), []
    while i < n:
        cp = ord(text[i])
        nxt = ord(text[i + 1]) if i + 1 < n else 0
        keycap = text[i] in "0123456789#*" and nxt in (0xFE0F, 0x20E3)
        if _strong_emoji(cp) or (_maybe_emoji(cp) and nxt == 0xFE0F) or keycap:
            if buf:
                yield "".join(buf), False
                buf = []
            j = i + 1
            if 0x1F1E6 <= cp <= 0x1F1FF and 0x1F1E6 <= nxt <= 0x1F1FF:
                j += 1
            while j < n:
                c = ord(text[j])
                if c in (0xFE0F, 0x20E3) or 0x1F3FB <= c <= 0x1F3FF or 0xE0020 <= c <= 0xE007F:
                    j += 1
                elif c == 0x200D and j + 1 < n:
                    j += 2
                else:
                    break
            yield text[i:j], True
            i = j
        else:
            if text[i] not in _INVISIBLE:
                buf.append(text[i])
            i += 1
    if buf:
        yield "".join(buf), False


def _graphemes(text: str) -> Iterator[str]:
    """Emoji sequences whole, other characters one by one with their combining marks."""
    import unicodedata

    for piece, is_emoji in clusters(text):
        if is_emoji:
            yield piece
            continue
        cur = ""
        for ch in piece:
            if cur and unicodedata.combining(ch):
                cur += ch
                continue
            if cur:
                yield cur
            cur = ch
        if cur:
            yield cur
