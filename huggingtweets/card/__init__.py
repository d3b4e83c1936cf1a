"""How the card is written: the model card (``card.py`` + ``model_card.md.jinja``), the preview
image (``preview.py``), the accounts' avatars beside them (``avatars.py``), and ``finalize_bot``, which
writes them at the end of training.

    from huggingtweets.card import finalize_bot
    finalize_bot("~/.huggingtweets/bots/jane", ["My dream is to ...", "My dream is ..."])

Pillow and Jinja2 are imported when a card or an image is drawn, not on import.
"""

from __future__ import annotations

from ..bot_folder import CARD_FILE, PREDICTIONS_FILE, PREVIEW_FILE
from .card import check_metadata, render_card, write_card
from .facts import Account, CardData, card_data_from_folder, load_predictions
from .finalize import finalize_bot, redraw_preview, save_predictions
from .preview import draw_preview

__all__ = [
    "CARD_FILE", "PREDICTIONS_FILE", "PREVIEW_FILE", "Account", "CardData", "card_data_from_folder",
    "check_metadata", "draw_preview", "finalize_bot", "load_predictions", "redraw_preview", "render_card",
    "save_predictions", "write_card",
]
