"""The model card (``README.md`` of a bot's folder), in the format of the cards the original published.

The card is rendered from ``model_card.md.jinja`` with the facts ``card.facts.card_data_from_folder``
gathers from the folder; its front matter is ``huggingface_hub.ModelCardData``. ``check_metadata``
checks it offline against the rules the Hub applies.

A link is written only when it resolves: no W&B link for an offline run, no Hub link before the push.
"""

from __future__ import annotations

import colorsys
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any, Mapping

from ..bot_folder import CARD_FILE
from ..dataset.counts import counts_table
from .avatars import store_avatars
from .facts import Account, CardData, card_data_from_folder, escape_md, is_repo_id, is_url

PROJECT_URL = "https://github.com/borisdayma/huggingtweets"
REPORT_URL = ("https://wandb.ai/wandb/huggingtweets/reports/"
              "HuggingTweets-Train-a-Model-to-Generate-Tweets--VmlldzoxMTY5MjI")

# --- rendering ---------------------------------------------------------------------------------------


def handle_colour(handle: str) -> tuple[int, int, int]:
    """A stable, readable colour for an account without an avatar (the card and the preview agree)."""
    h = hashlib.sha256(handle.lower().encode()).digest()
    r, g, b = colorsys.hsv_to_rgb(h[0] / 255, 0.55, 0.72)
    return round(r * 255), round(g * 255), round(b * 255)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def _html(s: Any) -> str:
    # One line: a blank line would end the card's HTML block, and what follows it would be read as Markdown.
    return html.escape(" ".join(str(s).split()), quote=True)


def _one_line(s: Any) -> str:
    """Text on one line, for a fenced block: a line of its own could close the fence."""
    return " ".join(str(s).split())


def _json_str(s: Any) -> str:
    # A JSON string is also a valid Python string literal for the text it holds.
    return json.dumps(str(s), ensure_ascii=False)


def _py_str(s: Any) -> str:
    return repr(str(s))


def _code(s: Any) -> str:
    """Inline Markdown code for any text: the fence is longer than any run of backticks in it."""
    s = " ".join(str(s).split())
    fence = "`" * (max((len(r) for r in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def card_metadata(data: CardData):
    """The card's front matter as ``huggingface_hub.ModelCardData`` (the Hub's model-card metadata)."""
    from huggingface_hub import ModelCardData

    meta = ModelCardData(language=data.language, tags=["huggingtweets"], widget=[{"text": data.prompt}],
                         library_name="transformers", pipeline_tag="text-generation")
    if data.thumbnail:
        meta.thumbnail = data.thumbnail
    if data.base_model_id:
        meta.base_model = data.base_model_id
    if data.license:
        meta.license = data.license
    return meta


def table_rows(accounts: list[Account]) -> list[tuple[str, str, list[int | None]]]:
    """The seeds' table: (label, stats key, one count per account), in the seeds' row order; the replies
    and duplicates this version also drops get a row when any account has some."""
    # None: a count the source could not tell (its format carries no sign of it), shown "unknown"
    return counts_table(accounts)


def _table_lines(accounts: list[Account]) -> list[str]:
    lines = ["| Data | " + " | ".join(escape_md(a.name) for a in accounts) + " |",
             "| --- | " + " | ".join("---" for _ in accounts) + " |"]
    for label, _, values in table_rows(accounts):
        lines.append(f"| {label} | " + " | ".join("unknown" if v is None else str(v) for v in values) + " |")
    return lines


def _environment():
    import jinja2

    env = jinja2.Environment(autoescape=False, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(html=_html, md=escape_md, json_str=_json_str, py_str=_py_str, hex=_hex, code=_code,
                       one_line=_one_line)
    return env


def render_card(data: CardData) -> str:
    """The card's Markdown (with its YAML front matter) for ``data``."""
    from importlib.resources import files

    template = (files("huggingtweets.card") / "model_card.md.jinja").read_text(encoding="utf-8")
    env = _environment()
    # The avatar copied beside the card, linked by its file name; else the profile image's URL; else the initial.
    avatars = [{"account": a, "file": data.avatar_files.get(a.handle), "url": a.avatar_url,
                "colour": handle_colour(a.handle)} for a in data.accounts]
    return env.from_string(template).render(
        d=data, metadata=card_metadata(data).to_yaml(), avatars=avatars,
        table_lines=_table_lines(data.accounts), project_url=PROJECT_URL,
        report_url=REPORT_URL,
    )


def write_card(folder: str | Path, data: CardData | None = None) -> Path:
    """Render the card of ``folder`` (or of ``data``) into ``folder/README.md``; return its path.

    The accounts' avatars are copied beside it first (``avatars.store_avatars``), so that it links them.
    """
    folder = Path(folder)
    data = data or card_data_from_folder(folder)
    data.avatar_files = store_avatars(folder, data.accounts)
    path = folder / CARD_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_card(data), encoding="utf-8")
    tmp.replace(path)
    return path


# --- checking ----------------------------------------------------------------------------------------

# License ids the Hub accepts in ``license:`` (a subset: those a base model of this tool may carry).
HUB_LICENSES = {
    "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "c-uda", "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0",
    "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0",
    "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0",
    "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0",
    "epl-2.0", "etalab-2.0", "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl",
    "lgpl-2.1", "lgpl-3.0", "isc", "h-research", "intel-research", "lppl-1.3c", "ms-pl", "apple-ascl",
    "apple-amlr", "mpl-2.0", "odc-by", "odbl", "openmdw-1.0", "openrail++", "osl-3.0", "postgresql", "ofl-1.1",
    "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr", "deepfloyd-if-license", "fair-noncommercial-research-license",
    "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "unknown", "other",
}


def check_metadata(meta: Mapping[str, Any], folder: str | Path | None = None) -> list[str]:
    """Problems in a card's metadata that the Hub would reject or that break the card's promises.

    An empty list means valid. Checked offline, on the rules the Hub applies to model cards (license
    ids, ``base_model`` as a repo id, a ``pipeline_tag``) and on what every bot card carries.

    ``thumbnail`` is a URL (what the Hub takes for a model's social preview, and what a published card
    carries) or, for a card not yet published, the name of a file beside it in ``folder``.
    """
    problems = []
    lic = meta.get("license")
    if lic is not None and lic not in HUB_LICENSES:
        problems.append(f"license {lic!r} is not a Hub license id")
    base = meta.get("base_model")
    for b in ([base] if isinstance(base, str) else base or []):
        if not (isinstance(b, str) and is_repo_id(b, owner_required=True)):
            problems.append(f"base_model {b!r} is not a Hub repo id (OWNER/NAME)")
    if meta.get("pipeline_tag") not in (None, "text-generation"):
        problems.append(f"pipeline_tag {meta.get('pipeline_tag')!r} is not text-generation")
    if "huggingtweets" not in (meta.get("tags") or []):
        problems.append("tags do not include huggingtweets")
    widget = meta.get("widget")
    if not (isinstance(widget, list) and widget and isinstance(widget[0], dict) and widget[0].get("text")):
        problems.append("widget has no text prompt")
    lang = meta.get("language")
    for code in ([lang] if isinstance(lang, str) else lang or []):
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", str(code)):
            problems.append(f"language {code!r} is not an ISO 639 code")
    thumb = meta.get("thumbnail")
    if thumb is not None and not is_url(thumb) and not _is_file_of(folder, thumb):
        problems.append(f"thumbnail {thumb!r} is neither a URL nor a file of the bot's folder")
    return problems


def _is_file_of(folder: str | Path | None, name: Any) -> bool:
    """Whether ``name`` is a plain file name (no folder, no ``..``) of a file in ``folder``."""
    if folder is None or not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", name):
        return False
    return (Path(folder) / name).is_file()
