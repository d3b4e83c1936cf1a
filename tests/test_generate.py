"""Generation: batched sampling cut at the first newline the bot writes, seeds, the copy check, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huggingtweets.errors import ModelFolderError, UsageError
from huggingtweets.generate import LINE_BREAKS, Bot, generate
from huggingtweets.training import resolve_config, train
from huggingtweets.training.copies import FILE, CopyIndex, words
from tiny_model import make_dataset, make_posts, tiny_model
from cli_runner import run_cli


@pytest.fixture(scope="module")
def bot_folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("bot")
    ds = make_dataset(tmp / "ds", make_posts(200, seed=5))
    cfg = resolve_config("quick", {"base_model": str(tiny_model()), "learning_rate": 1e-2, "batch_size": 2,
                                   "checkpoint_minutes": 0})
    return train(ds, tmp / "bot", cfg).output



def test_posts_start_with_the_prompt_and_a_seed_repeats_them(bot_folder):
    bot = Bot.load(bot_folder, dtype="fp32")
    a = bot.generate("my cat", n=4, seed=3, max_new_tokens=20)
    b = bot.generate("my cat", n=4, seed=3, max_new_tokens=20)
    assert [g.text for g in a] == [g.text for g in b] and len(a) == 4
    assert all(g.text.startswith("my cat") and "\n" not in g.text and 1 <= g.tokens <= 20 for g in a)
    assert bot.name == "tiny_poster"


def test_each_post_stops_at_its_first_newline(bot_folder):
    """With the newline made certain after the first tokens, every sample stops there, not at the maximum."""
    import torch

    bot = Bot.load(bot_folder, dtype="fp32")
    newline = bot.tokenizer.convert_tokens_to_ids("Ċ")  # byte-level BPE's "\n"
    assert newline in bot.stop_ids() and bot.eot_id in bot.stop_ids()
    head = bot.model.lm_head
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.zero_()
        biased.bias.zero_()
        biased.bias[newline] = 50.0
    bot.model.lm_head = biased
    out = bot.generate("rain", n=5, seed=0, max_new_tokens=40, min_new_tokens=3)
    assert [g.tokens for g in out] == [4] * 5, "three tokens, then the newline ends each sample"
    assert all("\n" not in g.text and g.text.startswith("rain") for g in out)


def test_copies_of_training_posts_are_marked_or_dropped(bot_folder):
    bot = Bot.load(bot_folder, dtype="fp32")
    assert (bot_folder / FILE).is_file() and bot.copies is not None
    first = bot.generate("the moon", n=3, seed=11, max_new_tokens=30)
    assert all(g.copy in (True, False) for g in first)
    # The same samples, checked against an index that holds them as if they were training posts.
    long_enough = [g.text for g in first if len(words(g.text)) >= 4]
    assert long_enough
    bot.copies = CopyIndex.build(long_enough)
    marked = bot.generate("the moon", n=3, seed=11, max_new_tokens=30, copies="mark")
    assert [g.text for g in marked] == [g.text for g in first]
    assert [g.copy for g in marked] == [len(words(g.text)) >= 4 for g in first]
    # With no more samples allowed than asked for, the copies are simply left out.
    dropped = bot.generate("the moon", n=3, seed=11, max_new_tokens=30, copies="drop", max_samples=3)
    assert [g.text for g in dropped] == [g.text for g in first if len(words(g.text)) < 4]
    assert (dropped.samples, dropped.dropped) == (3, 3 - len(dropped))
    kept = bot.generate("the moon", n=3, seed=11, max_new_tokens=30, copies="keep")
    assert all(g.copy is None for g in kept)


def test_copy_index_matches_long_overlaps_and_holds_no_text(tmp_path):
    posts = ["Wind north-east, force 10, barometer 1005 and falling; visibility moderate tonight",
             "Bosun was unimpressed by the comet", "ok then"]
    index = CopyIndex.build(posts)
    index.save(tmp_path)
    loaded = CopyIndex.load(tmp_path)
    assert loaded is not None and loaded.grams == index.grams
    data = (tmp_path / FILE).read_bytes().lower()
    assert b"barometer" not in data and b"bosun" not in data
    # 8 consecutive words of a long post, whatever the case and punctuation around them.
    assert loaded.copied("My dream is: FORCE 10 barometer 1005 and falling, visibility moderate!")
    assert not loaded.copied("My dream is force 10 barometer 1005 and rising")
    # 60% of a short post (6 words -> 4).
    assert loaded.copied("honestly Bosun was unimpressed by it")
    assert not loaded.copied("Bosun was happy by the comet")
    assert not loaded.copied("ok then"), "posts of under 4 words never count"
    assert CopyIndex.load(tmp_path / "missing") is None


def test_generate_function_and_bad_settings(bot_folder):
    posts = generate(bot_folder, "rain", n=2, seed=1, max_new_tokens=10)
    assert len(posts) == 2 and set(posts[0]) == {"text", "prompt", "copy", "tokens"}
    bot = Bot.load(bot_folder)
    with pytest.raises(UsageError) as e:
        bot.generate(n=0, temperature=0, copies="hide")
    assert str(e.value) == ("-n must be >= 1 (got 0); --temperature must be > 0 (got 0); --copies must be one "
                            "of mark, drop, keep (got 'hide')")


def test_cli_generate_json_and_text(bot_folder, capsys):
    code, out, _ = run_cli(["generate", bot_folder, "rain", "-n", "3", "--seed", "2", "--json",
                            "--max-new-tokens", "12"], capsys)
    assert code == 0
    posts = json.loads(out)
    assert len(posts) == 3 and all(p["text"].startswith("rain") and p["prompt"] == "rain" for p in posts)
    code, out, _ = run_cli(["generate", bot_folder, "-n", "2", "--seed", "2"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[0] == ("Generated by the bot tiny_poster (a language model trained on posts by "
                                      "@tiny_poster; not written by them):")
    assert lines[1].startswith("  1. My dream is") and lines[2].startswith("  2. My dream is")


def test_cli_generate_finds_a_bot_by_name_and_reports_a_missing_one(bot_folder, tmp_path, capsys, monkeypatch):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(bot_folder, home / "bots" / "tiny_poster")
    monkeypatch.setenv("HUGGINGTWEETS_HOME", str(home))
    code, out, _ = run_cli(["generate", "tiny_poster", "-n", "1", "--seed", "0"], capsys)
    assert code == 0 and "  1. My dream is" in out
    code, _, err = run_cli(["generate", "nobody"], capsys)
    assert code == 1 and err == (f"Error: nobody: no such model folder or bot; train one with `huggingtweets "
                                 f"train SOURCE` (bots live in {home / 'bots'})\n")
    with pytest.raises(ModelFolderError, match=r"is not a model folder \(no config.json\)"):
        Bot.load(tmp_path)


def test_sampling_keeps_the_candidates_transformers_would():
    import torch
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    from huggingtweets.generate import _pick

    torch.manual_seed(0)
    logits = torch.randn(3, 500) * 3
    for temperature, top_k, top_p in ((1.0, 50, 0.95), (0.7, 0, 0.5), (1.3, 10, 1.0)):
        scores = TemperatureLogitsWarper(temperature)(None, logits.clone())
        if top_k:
            scores = TopKLogitsWarper(top_k)(None, scores)
        if top_p < 1:
            scores = TopPLogitsWarper(top_p)(None, scores)
        allowed = [set(torch.isfinite(row).nonzero().flatten().tolist()) for row in scores]
        seen: list[set[int]] = [set(), set(), set()]
        for _ in range(400):
            for r, t in enumerate(_pick(logits, temperature, top_k, top_p).tolist()):
                seen[r].add(t)
        for r in range(3):
            assert seen[r] <= allowed[r]
            # The most likely candidates do come up; a rare one may not in 400 draws.
            assert scores[r].argmax().item() in seen[r]


def test_a_post_that_has_stopped_leaves_the_batch(bot_folder, monkeypatch):
    bot = Bot.load(bot_folder, dtype="fp32")
    batch_sizes = []
    forward = bot.model.forward

    def counting(*args, **kwargs):
        batch_sizes.append(kwargs["input_ids"].shape[0])
        return forward(*args, **kwargs)

    monkeypatch.setattr(bot.model, "forward", counting)
    posts = bot.generate("my cat", n=6, seed=1, max_new_tokens=40, min_new_tokens=1, copies="keep")
    lengths = sorted(p.tokens for p in posts)
    assert batch_sizes[0] == 6 and len(batch_sizes) == lengths[-1]
    # After each step, the batch holds exactly the samples that have not written their stop token yet.
    for step, size in enumerate(batch_sizes[1:], start=1):
        assert size == sum(1 for n in lengths if n > step)
    assert lengths[0] < lengths[-1]  # some stopped early, so the batch did shrink


def test_packed_weights_give_the_plain_models_logits_and_posts(bot_folder):
    """On a CPU in fp32 the loaded bot multiplies by oneDNN-packed weights; the numbers stay the same."""
    import torch

    from huggingtweets.packed_linear import PackedLinear, can_pack

    plain = Bot.load(bot_folder, dtype="fp32", pack=False)
    packed = Bot.load(bot_folder, dtype="fp32")
    if not can_pack(plain.model):
        pytest.skip("this PyTorch has no oneDNN packed linear")
    kinds = [type(m) for m in packed.model.modules()]
    assert PackedLinear in kinds and torch.nn.Linear not in kinds
    assert not any(type(m) is PackedLinear for m in plain.model.modules())
    ids = torch.randint(0, plain.model.config.vocab_size, (3, 12), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        a = plain.model(input_ids=ids).logits
        b = packed.model(input_ids=ids).logits
    assert a.shape == b.shape and torch.allclose(a, b, atol=1e-4, rtol=1e-4)
    args = dict(n=5, seed=2, max_new_tokens=25, copies="keep")
    assert [g.text for g in plain.generate("my cat", **args)] == [g.text for g in packed.generate("my cat", **args)]
    # bf16 weights keep plain linear layers (oneDNN computes those itself).
    half = Bot.load(bot_folder, dtype="bf16")
    assert not any(type(m) is PackedLinear for m in half.model.modules())
    assert half.generate("my cat", n=2, seed=0, max_new_tokens=5)


LOGBOOK = "Log, 12 March.\nWind"
"""A prompt with a line break of its own: the post is cut at the first one the bot writes after it."""


def test_a_line_break_in_the_prompt_stays_and_the_post_runs_past_it(bot_folder):
    """With "a" made likely and the newline certain once allowed, each sample writes "aaa" after the whole
    prompt, then stops at its own newline: not at the prompt's, and not before writing."""
    import torch

    bot = Bot.load(bot_folder, dtype="fp32")
    newline, a = bot.tokenizer.convert_tokens_to_ids(["Ċ", "a"])
    head = bot.model.lm_head
    biased = torch.nn.Linear(head.in_features, head.out_features, bias=True)
    with torch.no_grad():
        biased.weight.zero_()
        biased.bias.zero_()
        biased.bias[a] = 10.0  # e^10 against 49 others at e^0: top-p 0.95 keeps "a" alone
        biased.bias[newline] = 50.0
    bot.model.lm_head = biased
    out = bot.generate(LOGBOOK, n=3, seed=0, max_new_tokens=40, min_new_tokens=3, copies="keep")
    assert [g.text for g in out] == [LOGBOOK + "aaa"] * 3
    assert [g.tokens for g in out] == [4] * 3, "three tokens, then the bot's newline"


@pytest.mark.parametrize("prompt", ["Dear diary,\n\nToday", "Shopping list:\r\n- bread\n-", "Two lines\n"])
def test_other_prompts_with_line_breaks_keep_them_all(bot_folder, prompt):
    bot = Bot.load(bot_folder)
    for g in bot.generate(prompt, n=3, seed=2, max_new_tokens=20):
        written = g.text[len(prompt):]
        assert g.text.startswith(prompt) and not LINE_BREAKS.search(written), g.text


def test_posts_continue_a_prompt_with_a_line_break(bot_folder):
    bot = Bot.load(bot_folder, dtype="fp32")
    for g in bot.generate(LOGBOOK, n=4, seed=1, max_new_tokens=20):
        written = g.text[len(LOGBOOK):]
        assert g.text.startswith(LOGBOOK) and written.strip() and not LINE_BREAKS.search(written), g.text
        assert g.prompt == LOGBOOK and 3 <= g.tokens <= 20


def test_cli_generate_keeps_the_prompts_line_break(bot_folder, capsys):
    code, out, _ = run_cli(["generate", bot_folder, LOGBOOK, "-n", "2", "--seed", "4", "--json",
                            "--max-new-tokens", "12"], capsys)
    assert code == 0
    posts = json.loads(out)
    assert len(posts) == 2 and all(p["prompt"] == LOGBOOK for p in posts)
    for p in posts:
        written = p["text"][len(LOGBOOK):]
        assert p["text"].startswith(LOGBOOK) and written.strip() and not LINE_BREAKS.search(written), p["text"]
    code, out, _ = run_cli(["generate", bot_folder, LOGBOOK, "-n", "2", "--seed", "4", "--max-new-tokens", "12"],
                           capsys)
    # the prompt's line break stays, and the post's next line is indented under its number
    shown = [p["text"].replace("\n", "\n     ") for p in posts]
    assert code == 0 and f"  1. {shown[0]}" in out and f"  2. {shown[1]}" in out


def test_the_web_apps_worker_keeps_the_prompts_line_break(bot_folder):
    """The app's generation process (``runner generate``) answers with the same posts, prompt whole."""
    import io

    import orjson

    from huggingtweets.app.runner import run_generation

    events: list[dict] = []
    requests = io.StringIO(orjson.dumps({"prompt": LOGBOOK, "n": 2, "seed": 4}).decode() + "\n")
    assert run_generation(bot_folder, requests, events.append) == 0
    assert events[0] == {"event": "ready"}
    texts = [p["text"] for p in events[-1]["predictions"]]  # after one "post" event per post
    assert len(texts) == 2
    assert all(t.startswith(LOGBOOK) and t[len(LOGBOOK):].strip() for t in texts), texts
