"""Does a generated post copy a training post? A compact index of salted word n-gram hashes.

A bot that repeats its source verbatim is a privacy problem, and the model folder may be published, so
the folder carries no post text: only 64-bit keyed hashes of each post's word windows, with a random
salt per model. A generated text is a copy when it shares a window with a post: 8 consecutive words, or
for a shorter post 60% of its words (at least 4); posts of under 4 words are too common to count.

File ``copy_index.bin``: a JSON header line (format, salt, window sizes and counts), then for each window
size its sorted hashes as little-endian unsigned 64-bit integers.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import struct
from pathlib import Path
from typing import Iterable

from ..bot_folder import COPY_INDEX_FILE

FILE = COPY_INDEX_FILE
MAGIC = "huggingtweets-copy-index"
WINDOW = 8
"""Consecutive words that make a copy of a long post."""
SHARE = 0.6
"""Share of a short post's words that make a copy of it."""
MIN_WORDS = 4

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased words, so that case and punctuation do not hide a copy."""
    return [w.lower() for w in _WORD.findall(text)]


def window_for(n_words: int) -> int | None:
    if n_words < MIN_WORDS:
        return None
    return min(WINDOW, max(MIN_WORDS, math.ceil(SHARE * n_words)))


class CopyIndex:
    def __init__(self, salt: bytes, grams: dict[int, set[int]]):
        self.salt = salt
        self.grams = grams

    def _hash(self, ws: list[str]) -> int:
        h = hashlib.blake2b(" ".join(ws).encode(), digest_size=8, key=self.salt)
        return int.from_bytes(h.digest(), "little")

    @classmethod
    def build(cls, texts: Iterable[str], salt: bytes | None = None) -> "CopyIndex":
        index = cls(salt or secrets.token_bytes(16), {})
        for text in set(texts):
            ws = words(text)
            n = window_for(len(ws))
            if n is None:
                continue
            grams = index.grams.setdefault(n, set())
            for i in range(len(ws) - n + 1):
                grams.add(index._hash(ws[i:i + n]))
        return index

    def copied(self, text: str) -> bool:
        """Whether ``text`` shares a copy-sized window of words with an indexed post."""
        ws = words(text)
        for n, grams in self.grams.items():
            for i in range(len(ws) - n + 1):
                if self._hash(ws[i:i + n]) in grams:
                    return True
        return False

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / FILE
        sizes = sorted(self.grams)
        header = {"format": MAGIC, "version": 1, "hash": "blake2b-64", "salt": self.salt.hex(),
                  "window": WINDOW, "share": SHARE, "sizes": {str(n): len(self.grams[n]) for n in sizes}}
        body = b"".join(struct.pack(f"<{len(self.grams[n])}Q", *sorted(self.grams[n])) for n in sizes)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(json.dumps(header).encode() + b"\n" + body)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "CopyIndex | None":
        """The folder's index, or ``None`` when it has none (a model not trained here)."""
        path = Path(folder) / FILE
        if not path.is_file():
            return None
        data = path.read_bytes()
        line, _, body = data.partition(b"\n")
        try:
            header = json.loads(line)
            if header.get("format") != MAGIC:
                return None
            grams, offset = {}, 0
            for n, count in header["sizes"].items():
                grams[int(n)] = set(struct.unpack_from(f"<{count}Q", body, offset))
                offset += 8 * count
            return cls(bytes.fromhex(header["salt"]), grams)
        except (ValueError, KeyError, struct.error):
            return None
