"""huggingtweets: turn someone's posts into a language model that writes new posts in their voice.

    import huggingtweets as ht
    bot = ht.make_bot(["archive:twitter-archive.zip"])      # fetch, clean, fine-tune, card and preview
    print(ht.Bot.load(bot.output).generate("My dream is", n=3))
    print(ht.evaluate(bot.output, n=100).summary())          # measure it

Heavy libraries (torch, transformers) are imported only by the functions that train or generate.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Dataset, FetchResult, fetch, prepare
from .dataset.build import SplitSettings
from .dataset.clean import CleanOptions
from .errors import HuggingTweetsError
from .sources import SourceOptions, open_source

# Imported on first use: they pull in torch, transformers, wandb or huggingface_hub.
_LAZY = {
    "make_bot": "huggingtweets.pipeline",
    "train_bot": "huggingtweets.pipeline",
    "update_bot": "huggingtweets.update",
    "rollback": "huggingtweets.update",
    "resolve_config": "huggingtweets.training",
    "train": "huggingtweets.training",
    "Bot": "huggingtweets.generate",
    "evaluate": "huggingtweets.evaluation",
    "Evaluation": "huggingtweets.evaluation",
    "publish": "huggingtweets.hub",
    "unpublish": "huggingtweets.hub",
    # Housekeeping: light, but kept out of ``import huggingtweets``.
    "list_bots": "huggingtweets.manage",
    "list_datasets": "huggingtweets.manage",
    "list_accounts": "huggingtweets.manage",
    "bot_info": "huggingtweets.manage",
    "delete_bot": "huggingtweets.manage",
    "delete_dataset": "huggingtweets.manage",
    "delete_account": "huggingtweets.manage",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'huggingtweets' has no attribute {name!r}")


__all__ = [
    "Bot", "CleanOptions", "Dataset", "Evaluation", "FetchResult", "HuggingTweetsError", "SourceOptions",
    "SplitSettings", "evaluate", "fetch", "make_bot", "open_source", "prepare", "publish", "resolve_config",
    "rollback", "train", "train_bot", "unpublish", "update_bot",
    "bot_info", "delete_account", "delete_bot", "delete_dataset", "list_accounts", "list_bots", "list_datasets",
]
