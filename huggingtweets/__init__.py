"""huggingtweets: turn someone's posts into a language model that writes new posts in their voice.

    import huggingtweets as ht
    ds = ht.prepare(["archive:twitter-archive.zip"], "data/jane")

Heavy libraries (torch, transformers) are imported only by the functions that train or generate.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Dataset, FetchResult, fetch, prepare
from .dataset.build import SplitSettings
from .dataset.clean import CleanOptions
from .errors import HuggingTweetsError
from .sources import SourceOptions, open_source

__all__ = [
    "CleanOptions", "Dataset", "FetchResult", "HuggingTweetsError", "SourceOptions", "SplitSettings",
    "fetch", "open_source", "prepare",
]
