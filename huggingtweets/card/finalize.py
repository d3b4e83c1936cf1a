"""The end of training: store the sample posts, write the card and draw the preview.

``finalize_bot`` is what ``train`` and ``run`` call once the model folder is saved; ``redraw_preview``
is what ``huggingtweets preview`` calls to draw the preview again from chosen posts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import UsageError
from ..bot_folder import DEFAULT_PROMPT, PREDICTIONS_FILE, PREVIEW_FILE
from .card import write_card
from .facts import card_data_from_folder, load_predictions
from .preview import draw_preview


def _posts(predictions: Iterable[Any]) -> list[tuple[str, bool]]:
    """(text, copies a training post) of each post, from strings or from ``generate``'s dicts
    (``{"text": ..., "copy": ...}``), blank ones dropped."""
    out = []
    for p in predictions:
        text = p.get("text") if isinstance(p, dict) else p
        if isinstance(text, str) and text.strip():
            copied = bool(p.get("copy")) if isinstance(p, dict) else False
            out.append((" ".join(text.split()) if "\n" in text else text.strip(), copied))
    return out


def _texts(predictions: Iterable[Any]) -> list[str]:
    """Post texts from strings or from ``generate``'s dicts, blank ones and copies of a training post left
    out: a copy is never stored, drawn or logged, since the folder and the run may be published."""
    return [text for text, copied in _posts(predictions) if not copied]


def save_predictions(folder: str | Path, predictions: Iterable[Any], prompt: str = DEFAULT_PROMPT,
                     picked: Sequence[int] | None = None) -> Path:
    """Write ``predictions.json``: the prompt, the posts, and which of them the preview shows.

    ``picked`` holds 1-based numbers into the posts stored (copies of a training post are not stored).
    """
    texts = _texts(predictions)
    data: dict[str, Any] = {"prompt": prompt, "predictions": texts}
    if picked:
        data["picked"] = list(picked)
    path = Path(folder) / PREDICTIONS_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def finalize_bot(folder: str | Path, predictions: Iterable[Any], prompt: str = DEFAULT_PROMPT,
                 tracker: Any = None) -> None:
    """Write ``predictions.json``, the card (``README.md``) and the preview (``predictions.png``).

    Args:
        folder: the trained model folder (with its ``stats.json``).
        predictions: posts generated from ``prompt`` (strings, or ``generate``'s dicts: those marked
            ``copy`` are left out of the file, the preview and the tracker's table; with none left, the
            preview shows the prompt alone).
        prompt: the prompt they answer; it becomes the card's widget text.
        tracker: the train run, if any: the predictions are logged to it as a table, and its run
            links go into the card (only for an online run).
    Raises:
        ModelFolderError: the folder has no readable ``stats.json``.
    Warns:
        PreviewWarning: a font is missing (the preview is drawn without it).
    """
    folder = Path(folder)
    texts = _texts(predictions)
    save_predictions(folder, texts, prompt)
    if tracker is not None:
        tracker.log_predictions(prompt, texts)
        from ..tracking import write_tracking_info

        write_tracking_info(folder, tracker.info())
    data = card_data_from_folder(folder)
    draw_preview(data, folder / PREVIEW_FILE)
    data.preview_available = True
    write_card(folder, data)


def read_predictions_file(path: str | Path) -> tuple[str | None, list[dict[str, Any]]]:
    """(prompt if the file says, posts) from ``generate --json`` output, a JSON list, JSONL or text.

    The posts are ``{"text", "copy"}`` dicts, numbered as ``generate`` printed them: those that copy a
    training post stay in the list, marked, so that ``redraw_preview`` can refuse them by number.

    Raises:
        UsageError: the file cannot be read or holds no posts.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the predictions file ({e.__class__.__name__}); pass a JSON, "
                         f"JSONL or text file of posts") from None
    prompt = None
    items: list[Any]
    try:
        data = json.loads(raw)
        items = data.get("predictions", []) if isinstance(data, dict) else data
        if isinstance(data, dict):
            prompt = data.get("prompt")
        if not isinstance(items, list):
            items = []
    except ValueError:
        lines = [line for line in raw.splitlines() if line.strip()]
        try:
            items = [json.loads(line) for line in lines]
        except ValueError:
            items = lines
    for item in items:
        if prompt is None and isinstance(item, dict) and isinstance(item.get("prompt"), str):
            prompt = item["prompt"]
    posts = _posts(items)
    if not posts:
        raise UsageError(f"{path}: no posts found; pass the output of `huggingtweets generate --json`, "
                         f"a JSON list of strings, or a text file with one post per line")
    return prompt, [{"text": text, "copy": copied} for text, copied in posts]


def redraw_preview(folder: str | Path, pick: Sequence[int] | None = None,
                   predictions: Iterable[Any] | None = None, prompt: str | None = None) -> Path:
    """Draw ``predictions.png`` again from chosen posts; return its path.

    Args:
        folder: the bot's folder.
        pick: 1-based numbers of the posts to show, in that order (default: the first that fit),
            counting those that copy a training post, as ``generate`` numbers them.
        predictions: new posts to choose from (default: the folder's ``predictions.json``); they are
            stored in ``predictions.json``, except those that copy a training post (``generate``'s dicts
            marked ``copy``), which are never drawn.
        prompt: the prompt of new posts (default: the stored one).
    Raises:
        UsageError: no posts to draw, a number in ``pick`` out of range, or one that names a copy.
    """
    folder = Path(folder)
    data = card_data_from_folder(folder)
    stored_prompt, stored, _ = load_predictions(folder)
    posts = _posts(predictions) if predictions is not None else [(t, False) for t in stored]
    prompt = prompt or stored_prompt
    if not posts:
        raise UsageError(f"{folder} has no generated posts to draw; pass --predictions FILE (for example "
                         f"the output of `huggingtweets generate {folder} --json`)")
    pick = list(pick or [])
    bad = [n for n in pick if not 1 <= n <= len(posts)]
    if bad:
        raise UsageError(f"--pick {','.join(map(str, bad))}: there are {len(posts)} posts, numbered 1 to "
                         f"{len(posts)}")
    _refuse_copies(posts, pick, folder)
    # Numbers among the posts kept: a copy is not stored, so the ones after it move up.
    number = {i: k for k, i in enumerate((i for i, (_, c) in enumerate(posts, 1) if not c), 1)}
    texts = [text for text, copied in posts if not copied]
    pick = [number[n] for n in pick]
    save_predictions(folder, texts, prompt, pick or None)
    chosen = [texts[n - 1] for n in pick] if pick else texts
    path = folder / PREVIEW_FILE
    draw_preview(data, path, chosen, prompt)
    return path


def _refuse_copies(posts: list[tuple[str, bool]], pick: list[int], folder: Path) -> None:
    copies = [n for n in pick if posts[n - 1][1]]
    if copies:
        which = ", ".join(map(str, copies))
        raise UsageError(f"--pick {which}: {'that post copies' if len(copies) == 1 else 'those posts copy'} a "
                         f"training post, and copies are never shown; pick another")
    if all(copied for _, copied in posts):
        raise UsageError(f"every post given copies a training post, and copies are never shown; write "
                         f"others with `huggingtweets generate {folder} --copies drop --json`")
