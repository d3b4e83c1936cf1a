"""An X archive cut at a date, for benchmarks of `huggingtweets update`: the archive as it was on that day.

``cut_archive(zip, out, share=0.8)`` writes a copy of ``zip`` whose ``data/tweets.js`` holds only the posts
created before the date by which ``share`` of them had been posted; every other member is copied as it is.
The copies are written where the benchmark says (a temporary folder), never into the repository.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_PREFIX = re.compile(r"^\s*window\.YTD\.[A-Za-z0-9_]+\.part\d+\s*=\s*")
_TWEETS = re.compile(r"^data/tweets(-part\d+)?\.js$")


def _created(entry: dict) -> datetime:
    from huggingtweets.sources._dates import parse_datetime  # X's "Wed Oct 10 20:19:24 +0000 2018"

    return parse_datetime((entry.get("tweet") or entry)["created_at"])


def _read(zf: zipfile.ZipFile, name: str) -> tuple[str, list[dict]]:
    text = zf.read(name).decode("utf-8-sig")
    head = _PREFIX.match(text)
    if head is None:
        raise ValueError(f"{name}: not an X archive's data file")
    return head.group(0), json.loads(text[head.end():])


def cut_date(zip_path: str | Path, share: float) -> datetime:
    """The date before which ``share`` (0-1) of the archive's posts were written."""
    with zipfile.ZipFile(zip_path) as zf:
        dates = sorted(_created(e) for n in zf.namelist() if _TWEETS.match(n) for e in _read(zf, n)[1])
    if not dates:
        raise ValueError(f"{zip_path}: no posts in data/tweets.js")
    return dates[min(len(dates) - 1, int(len(dates) * share))]


def cut_archive(zip_path: str | Path, out: str | Path, share: float = 0.8) -> tuple[datetime, int, int]:
    """Write ``out``: ``zip_path`` with only the posts created before ``cut_date(zip_path, share)``.

    Returns:
        (the cut date, posts kept, posts in all).
    """
    when = cut_date(zip_path, share)
    kept = total = 0
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if _TWEETS.match(info.filename):
                prefix, entries = _read(src, info.filename)
                before = [e for e in entries if _created(e) < when]
                kept, total = kept + len(before), total + len(entries)
                dst.writestr(info.filename, prefix + json.dumps(before, ensure_ascii=False))
            else:
                dst.writestr(info, src.read(info.filename))
    return when, kept, total


if __name__ == "__main__":
    date, kept, total = cut_archive(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.8)
    print(f"{kept} of {total} posts before {date:%Y-%m-%d %H:%M}")
