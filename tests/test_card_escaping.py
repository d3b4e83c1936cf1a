"""The card escapes every text a user controls, for the place it lands: YAML front matter, Markdown prose
and table cells, HTML text and attributes, fenced code blocks and the Python snippet."""

from __future__ import annotations

import json
import re

import pytest

from huggingtweets.card import finalize_bot
from test_card import PREDICTIONS, SEED_SECTIONS, front_matter, make_bot_folder, sections

# Everything that could leave its place: backticks and a fence, HTML that ends a code span or runs script,
# an attribute break-out, YAML's document marker and key separator, newlines, and a heading of its own.
NASTY = ("a `tick` and ``` and </code> <script>alert(1)</script> \"><img src=x onerror=alert(1)>"
         "\n---\nkey: value\n```\n## Owned\n\n<script>alert(2)</script>")
RAW_TAG = re.compile(r"(?<!\\)</?(script|img src=x|code)", re.I)
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _fenced_and_rest(card: str) -> tuple[list[list[str]], str]:
    """The card's fenced blocks (their lines) and the text outside them, read the way CommonMark does:
    a block closes at a fence line of the same character, at least as long as the opening one."""
    blocks, rest, open_fence = [], [], None
    for line in card.splitlines():
        m = FENCE.match(line)
        if open_fence is None and m:
            open_fence, block = m.group(1), []
        elif open_fence is not None and m and m.group(1)[0] == open_fence[0] \
                and len(m.group(1)) >= len(open_fence) and not line.strip().strip(open_fence[0]):
            blocks.append(block)
            open_fence = None
        elif open_fence is not None:
            block.append(line)
        else:
            rest.append(line)
    assert open_fence is None, "every code fence is closed"
    return blocks, "\n".join(rest)


def _card(tmp_path, where: str) -> tuple[str, str, str]:
    """The card of a bot whose ``where`` (prompt, name, handle or prediction) is NASTY, and of the same bot
    with plain text there."""
    cards, prompts = [], []
    for i, value in enumerate((NASTY, "plain")):
        folder = make_bot_folder(tmp_path / str(i), 1)
        stats = json.loads((folder / "stats.json").read_text())
        user = stats["users"][0]
        if where == "name":
            user["name"] = value
        elif where == "handle":
            user["handle"] = stats["bot"] = value
        (folder / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
        prompt = value if where == "prompt" else "My dream is"
        predictions = [f"{prompt} {value}"] + PREDICTIONS[:2] if where == "prediction" else PREDICTIONS[:2]
        finalize_bot(folder, predictions, prompt=prompt)
        prompts.append(prompt)
        cards.append((folder / "README.md").read_text(encoding="utf-8"))
    return cards[0], cards[1], prompts[0]


@pytest.mark.parametrize("where", ["prompt", "name", "handle", "prediction"])
def test_user_text_stays_where_the_card_puts_it(tmp_path, where):
    from huggingface_hub import ModelCard

    card, plain, prompt = _card(tmp_path, where)
    meta = front_matter(card)
    assert set(meta) == set(front_matter(plain))
    assert meta["widget"] == [{"text": prompt}]
    loaded = ModelCard.load(next((tmp_path / "0").iterdir()) / "README.md")
    assert loaded.data.to_dict()["widget"] == [{"text": prompt}]
    assert sections(card) == SEED_SECTIONS
    blocks, rest = _fenced_and_rest(card)
    # The same two blocks as a plain card, each as many lines long: nothing closed one early.
    assert [len(b) for b in blocks] == [len(b) for b in _fenced_and_rest(plain)[0]] == [2, 4]
    # Outside the front matter (YAML, checked above) and the code blocks, a tag of the user's is escaped.
    body = rest[rest.index("\n---\n", 4) + 5:]
    assert not RAW_TAG.findall(body)


def test_the_snippet_holds_the_prompt_as_a_python_string(tmp_path):
    import ast

    card, _, prompt = _card(tmp_path, "prompt")
    python = _fenced_and_rest(card)[0][1]
    call = ast.parse("\n".join(python)).body[-1].value
    assert call.args[0].value == prompt
    pipeline = _fenced_and_rest(card)[0][0][1]
    assert pipeline.endswith("generate (" + json.dumps(prompt, ensure_ascii=False) + ")")
