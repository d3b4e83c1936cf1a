"""How the model is trained: base models, recipes, the training loop (``loop``), evaluation.

Importing this package imports no deep-learning library; ``train`` does, when called.

    from huggingtweets.training import resolve_config, train
    result = train("datasets/jane", config=resolve_config("quick"))
    print(result.summary())
"""

from __future__ import annotations

from .loop import TrainResult, train
from .recipes import DEFAULT_RECIPE, EMBEDDED, RECIPES, TrainConfig, resolve_config

__all__ = ["DEFAULT_RECIPE", "EMBEDDED", "RECIPES", "TrainConfig", "TrainResult", "resolve_config", "train"]
