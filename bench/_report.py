"""What every benchmark does last: write its numbers as JSON under bench/results/ (or where --out says)."""

from __future__ import annotations

import json
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_report(report: dict, out: str | None, kind: str) -> Path:
    """Write ``report`` to ``out``, else to ``bench/results/<kind>-<time>.json``; print and return the path."""
    path = Path(out) if out else RESULTS / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written to {path}")
    return path
