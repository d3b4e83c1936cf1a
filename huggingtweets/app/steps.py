"""The pipeline calls behind steps 1 and 3 of the page, the same wherever they run.

The server calls them itself (the embedded mode), or a ``huggingtweets worker`` calls them for it
(``app --queue``: ``rq_steps``); either way it is this code, so the page gets the same dataset and the
same posts:

- step 1, ``prepare_dataset``: ``api.prepare`` (the pipeline's one call, as ``huggingtweets prepare``),
  with the visitor's own post store and avatar cache, and what the page shows of the dataset;
- step 3: ``runner.load_bot`` and ``runner.answer`` (``Bot.generate``, as ``huggingtweets generate``,
  copies of training posts dropped and written again), in the server's warm generation process
  (``generation``) or in a worker's job.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable

from .. import paths

N_SAMPLES = 5
ProgressFactory = Callable[[str], Any]
"""``api.prepare``'s: desc -> an object with ``update(n)`` and ``close()``."""


def table(users: list) -> dict[str, Any]:
    """The card's table (the rows of ``dataset.counts``), one column per account; a count the source
    could not tell is ``"unknown"``."""
    from ..dataset.counts import counts_table

    return {"header": ["Data"] + [f"@{u.handle}" for u in users],
            "rows": [[label] + ["unknown" if v is None else v for v in values]
                     for label, _, values in counts_table(users)]}


def samples(folder: Path, n: int = N_SAMPLES) -> list[dict[str, str]]:
    """A few training posts (each once: balancing copies left out), picked the same way every time."""
    from ..dataset.folder import DatasetFolder

    posts = [{"handle": row.get("handle", ""), "text": row["text"]}
             for row in DatasetFolder.open(folder).rows("train") if not row.get("copy")]
    return random.Random(0).sample(posts, min(n, len(posts)))


def prepare_dataset(folder: Path, specs: list[str], handle: str | None, out: Path,
                    progress: ProgressFactory | None = None) -> dict[str, Any]:
    """Fetch, clean and write the dataset of the session in ``folder`` to ``out``; return what the page
    shows of it (``{"bot", "folder", "users", "table", "samples", "warnings", "hash"}``).

    The posts go to the session's own store (``posts.sqlite``) and avatars to its own cache.

    Raises:
        HuggingTweetsError: the visitor's mistake, or too little data (the caller removes ``out``).
    """
    from ..api import prepare
    from ..sources import SourceOptions
    from ..store import Store

    store = Store(folder / "posts.sqlite")
    try:
        with paths.using_cache(folder / "cache"):  # the visitor's own avatar cache
            ds = prepare(specs, out, source_options=SourceOptions(handle=handle or None), store=store,
                         progress=progress)
    finally:
        store.close()
    users = ds.stats.users
    return {"bot": ds.name, "folder": out.name, "users": [
        {k: getattr(u, k) for k in ("handle", "name", "network", "downloaded", "retweets", "short", "kept")}
        for u in users], "table": table(users), "samples": samples(out), "warnings": list(ds.warnings),
        "hash": ds.hash}
