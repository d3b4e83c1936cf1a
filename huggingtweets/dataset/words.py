"""Counting words in every script, for the "short post" rule.

The original rule (fewer than 3 words that contain none of ``http``, ``@``, ``#``) counts words by
the spaces between them. Japanese, Chinese, Thai, Lao, Khmer and Burmese are written without spaces
between words, so a whole sentence is one "word" and every post of such an account was dropped.

Here a run of characters from a script written without spaces counts as several words: its letters
divided by the script's usual word length, rounded up. The lengths are averages of written text:
Chinese words are 1.5-2 characters long and Japanese ones about 2 (particles included), so a
CJK/kana run counts one word per 2 characters; Thai, Lao, Khmer and Burmese words are 3-5 letters
long when vowel and tone marks (which are combining characters) are not counted, so those runs
count one word per 3 letters. Space-separated text is counted exactly as the original did.
"""

from __future__ import annotations

import re
import unicodedata

# Scripts written without spaces between words, with their letters per word (see the docstring).
_CJK = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width katakana
    "\U00020000-\U0003134f"  # CJK extensions B-G
)
_SOUTHEAST_ASIAN = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u19e0-\u19ff"  # Khmer symbols
    "\uaa60-\uaa7f"  # Myanmar extended-A
)
_SPACELESS = re.compile(f"[{_CJK}{_SOUTHEAST_ASIAN}]")
_CJK_RUN = re.compile(f"[{_CJK}]+")
_SEA_RUN = re.compile(f"[{_SOUTHEAST_ASIAN}]+")
CJK_CHARS_PER_WORD = 2
SEA_LETTERS_PER_WORD = 3
_BORING = ("http", "@", "#")


def _spaceless_words(token: str) -> int:
    """Words in one space-separated token that holds letters of a script without spaces."""
    words = 0
    rest = token
    for m in _CJK_RUN.finditer(token):
        words += -(-len(m.group()) // CJK_CHARS_PER_WORD)
    rest = _CJK_RUN.sub(" ", rest)
    for m in _SEA_RUN.finditer(rest):
        # Vowel signs and tone marks are combining marks (Mn/Mc): count base letters only.
        letters = sum(1 for ch in m.group() if unicodedata.category(ch)[0] != "M")
        words += -(-letters // SEA_LETTERS_PER_WORD)
    rest = _SEA_RUN.sub(" ", rest)
    # What is left of the token (Latin letters, digits) between the runs: words of its own.
    words += sum(1 for piece in rest.split() if any(ch.isalnum() for ch in piece))
    return words


def count_words(text: str, stop_at: int | None = None) -> int:
    """Words of ``text`` that contain none of ``http``, ``@``, ``#`` (the original's "boring" test).

    Space-separated text counts one word per token, as the original did; a token holding letters of
    a script written without spaces (CJK, Thai, Lao, Khmer, Burmese) counts as several words (see
    the module docstring). Counting stops early at ``stop_at``.

        >>> count_words("Good morning everyone")
        3
        >>> count_words("今日は朝から雨が降っていた")
        7
    """
    words = 0
    for token in text.split():
        low = token.lower()
        if "http" in low or "@" in token or "#" in token:
            continue
        if token.isascii() or not _SPACELESS.search(token):
            words += 1
        else:
            words += _spaceless_words(token)
        if stop_at is not None and words >= stop_at:
            return words
    return words


def is_boring(text: str, min_words: int = 3) -> bool:
    """The original's test: fewer than ``min_words`` words that contain none of http, @, #."""
    return count_words(text, stop_at=min_words) < min_words
