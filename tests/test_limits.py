"""Bounds with clear errors: a prompt longer than the bot takes, a "post" longer than any network allows,
a table whose header names the text column twice."""

from __future__ import annotations

import pytest

from huggingtweets.errors import PromptTooLongError, UsageError
from huggingtweets.generate import MAX_PROMPT_TOKENS, Bot
from tiny_model import tiny_model
from cli_runner import run_cli


@pytest.fixture(scope="module")
def bot() -> Bot:
    return Bot.load(tiny_model(), dtype="fp32")


def test_a_prompt_longer_than_the_context_allows_is_refused_before_sampling(bot, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("sampled a prompt that is too long")

    monkeypatch.setattr(bot, "_sample", never)
    prompt = "rain " * 20_000  # 100 KB
    tokens = len(bot.tokenizer(prompt)["input_ids"])
    with pytest.raises(PromptTooLongError) as e:
        bot.generate(prompt, n=2, max_new_tokens=20)
    # The tiny model's context is 128 tokens: 128 - 20 new tokens - 1 end-of-text token = 107.
    assert isinstance(e.value, UsageError) and (e.value.tokens, e.value.limit) == (tokens, 107)
    assert str(e.value) == (f"the prompt is {tokens:,} tokens long; this bot takes at most 107 (its context of "
                            f"128 tokens less --max-new-tokens 20 and the end-of-text token): shorten the prompt")


def test_the_prompt_cap_holds_whatever_the_context(bot, monkeypatch):
    monkeypatch.setattr(bot.model.config, "max_position_embeddings", 1_000_000)
    assert bot.prompt_limit(100) == (MAX_PROMPT_TOKENS, "the prompt is the start of a post")
    with pytest.raises(PromptTooLongError, match=r"takes at most 512 \(the prompt is the start of a post\)"):
        bot.generate("rain " * 20_000, n=1)


def test_a_prompt_at_the_limit_still_writes(bot):
    limit, _ = bot.prompt_limit(5)
    ids = bot.tokenizer("rain " * 500)["input_ids"][:limit]
    prompt = bot.tokenizer.decode(ids)
    posts = bot.generate(prompt, n=1, max_new_tokens=5, seed=0)
    assert len(posts) == 1


def test_cli_generate_says_the_limit_in_one_line(capsys):
    code, out, err = run_cli(["generate", str(tiny_model()), "rain " * 20_000, "-n", "1",
                              "--max-new-tokens", "27"], capsys)
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == "Error: the prompt is 60,000 tokens long; this bot takes at most 100 (its context of 128 tokens " \
        "less --max-new-tokens 27 and the end-of-text token): shorten the prompt"


def test_a_table_naming_its_text_column_twice_is_refused(tmp_path):
    from huggingtweets.errors import DuplicateColumnError
    from huggingtweets.sources import SourceOptions, open_source

    path = tmp_path / "posts.csv"
    path.write_text("id,text,Text\n1,first column,second column\n", encoding="utf-8")
    with pytest.raises(DuplicateColumnError) as e:
        src = open_source(f"file:{path}", SourceOptions(handle="jane"))
        list(src.posts())
    assert str(e.value) == (f"{path}: the header names the column 'text' twice; rename one of them, or pass "
                            f"--text-column NAME with a column named once")


@pytest.mark.parametrize("body", ["x" * 200_000 + "\n", ("word " * 9_000 + "\n") * 3])
def test_a_file_of_posts_longer_than_any_platform_allows_is_not_posts(tmp_path, body):
    from huggingtweets.errors import NotPostsError
    from huggingtweets.sources import SourceOptions, open_source

    path = tmp_path / "book.txt"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(NotPostsError, match=r"too long to be posts \(\d+ of its first \d+ \"posts\" are over "
                                            r"40,000 characters"):
        open_source(f"file:{path}", SourceOptions(handle="jane"))
    path.write_text("a normal post about the harbour\n" * 3 + "x" * 50_000 + "\n", encoding="utf-8")
    open_source(f"file:{path}", SourceOptions(handle="jane"))  # one long line among posts: still posts


@pytest.mark.parametrize("kind", ["txt", "jsonl", "csv"])
def test_a_single_post_longer_than_any_platform_allows_is_left_out_and_counted(tmp_path, capsys, kind):
    """Among real posts, one "post" over ``MAX_POST_CHARS`` (a pasted log, a stray blob) is not trained
    on: it is counted as ``too_long``, shown as its own row, and the other posts are kept."""
    import json

    from huggingtweets import api
    from huggingtweets.dataset.folder import DatasetFolder
    from huggingtweets.sources import SourceOptions

    posts = [f"post number {i} about the harbour and the lamp" for i in range(40)]
    blob = "word " * 9_000  # 45,000 characters: longer than any network's post
    texts = posts[:20] + [blob] + posts[20:]
    path = tmp_path / f"posts.{kind}"
    if kind == "txt":
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    elif kind == "jsonl":
        path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    else:
        path.write_text("text\n" + "".join(f"{t}\n" for t in texts), encoding="utf-8")
    ds = api.prepare([f"file:{path}"], tmp_path / "ds", min_chars=1, source_options=SourceOptions(handle="jane"))
    user = DatasetFolder.open(ds.path).stats.users[0]
    assert (user.too_long, user.kept, user.downloaded) == (1, 40, 41)
    rows = (ds.path / "train.jsonl").read_text() + (ds.path / "valid.jsonl").read_text()
    assert "word word word" not in rows
    code, out, err = run_cli(["prepare", f"file:{path}", "--handle", "jane", "-o", tmp_path / "ds2",
                              "--min-chars", "1"], capsys)
    assert code == 0 and "Too long to be posts" in out
