"""The per-account counts table, as the original's cards show it: one list of rows, read by the CLI's
`prepare` table, the model card and the web app, so that all three say the same words.

The seeds' rows are downloaded, retweets, short and kept (downloaded = retweets + short + kept in every
seed card); this version also drops replies (with ``--no-replies``), duplicates and texts too long to be
posts (``dataset.clean.Counts.too_long``), which get a row of
their own, above "Tweets kept", when any account has some.
"""

from __future__ import annotations

from typing import Sequence

from .folder import AccountStats

ROWS = [("Tweets downloaded", "downloaded"), ("Retweets", "retweets"), ("Short tweets", "short"),
        ("Tweets kept", "kept")]
"""The seed cards' rows: (label, key of ``stats.json``'s ``users[]``)."""
EXTRA_ROWS = [("Replies", "replies"), ("Duplicates", "duplicates"), ("Too long to be posts", "too_long")]
"""Rows shown only when an account has some (or could not tell)."""


def counts_table(users: Sequence[AccountStats]) -> list[tuple[str, str, list[int | None]]]:
    """(label, key, one count per account) for each row shown, in order; ``None`` for a count the source
    could not tell and found none of (its format carries no sign of retweets or replies: a "0" would be
    a guess).

    Example:
        >>> counts_table([AccountStats("jane", downloaded=5, retweets=1, short=1, kept=3)])[0]
        ('Tweets downloaded', 'downloaded', [5])
    """
    extras = [r for r in EXTRA_ROWS if any(u.count(r[1]) != 0 for u in users)]
    return [(label, key, [u.count(key) for u in users]) for label, key in ROWS[:3] + extras + ROWS[3:]]
