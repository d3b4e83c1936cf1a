"""``huggingtweets evaluate``: each metric on hand-made posts with known values, the command on a tiny bot
trained for real (old-style folders and missing datasets too), the evaluation at the end of ``train``, the
card's Evaluation table, and one slow test on the embedded model."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
from pathlib import Path

import pytest

from huggingtweets.card import card_data_from_folder, finalize_bot, render_card
from huggingtweets.errors import BotDatasetError, DatasetError, UsageError
from huggingtweets.evaluation import (Score, TextStats, bits_per_char, degenerate, distinct_n, evaluate,
                                      median_words, repeat_share)
from huggingtweets.training import resolve_config, train
from test_card import PREDICTIONS, SEED_SECTIONS, make_bot_folder, sections
from tiny_model import make_dataset, make_posts, tiny_model
from cli_runner import run_cli



# -- the metrics, on hand-made posts ---------------------------------------------------------------------


def test_distinct_n_counts_distinct_ngrams_over_all_ngrams_of_the_set():
    assert distinct_n(["the cat sat", "the cat ran"], 1) == pytest.approx(4 / 6)  # the, cat, sat, ran
    assert distinct_n(["the cat sat", "the cat ran"], 2) == pytest.approx(3 / 4)  # "the cat" twice
    assert distinct_n(["a b", "c d"], 2) == 1.0, "no n-gram across two posts (no 'b c')"
    assert distinct_n(["The CAT!", "the cat..."], 1) == 0.5, "case and punctuation are not variety"
    assert distinct_n(["same same same same"], 1) == 0.25
    assert distinct_n(["one", ""], 2) is None and distinct_n([], 1) is None


def test_repeat_share_counts_posts_that_repeat_an_earlier_one():
    assert repeat_share(["a", "a", "b"]) == pytest.approx(1 / 3)
    assert repeat_share(["x", "x", "x", "x"]) == 0.75
    assert repeat_share(["a post ", "a post", "A post"]) == pytest.approx(1 / 3), "exact, ends' spaces aside"
    assert repeat_share(["a", "b"]) == 0 and repeat_share([]) is None


@pytest.mark.parametrize("text, prompt, reason", [
    ("My dream is", "My dream is", "empty"),
    ("My dream is ...!", "My dream is", "empty"),
    ("", "", "empty"),
    ("🙂", "", None),  # an emoji is something written
    ("My dream is my dream is", "My dream is", "prompt only"),
    ("My dream is. MY DREAM IS", "My dream is", "prompt only"),
    ("My dream is my dream", "My dream is", None),
    ("My dream is to row across the lake", "My dream is", None),
    # one word more than half of 8+ words, with no run of it
    ("cat dog cat bird cat fish cat eel cat", "", "repetition"),  # 5 of 9
    ("cat dog cat bird cat fish cat eel", "", None),  # 4 of 8: half, not more
    ("cat dog cat bird cat fish cat", "", None),  # 4 of 7: under 8 words
    # the same n-gram (1 to 4 words) 4 times in a row
    ("so so so so tired", "", "repetition"),
    ("so so so tired", "", None),
    ("go team go team go team go team", "", "repetition"),
    ("go team go team go team", "", None),
    ("a b c d a b c d a b c d a b c d", "", "repetition"),
    ("a b c d e a b c d e a b c d e a b c d e", "", None),  # a 5-gram is not looked for
    # one character 20 times in a row
    ("wow" + "!" * 20, "", "repetition"),
    ("wow" + "!" * 19, "", None),
    ("@dana ha, same. The 7:40 was late again so I walked https://example.org/x", "", None),
])
def test_degenerate_posts(text, prompt, reason):
    assert degenerate(text, prompt) == reason


def test_median_words_counts_words_as_prepare_does():
    # links, mentions and hashtags are not words (the short-post rule's count): 3, 2, 4, 1 -> 2.5
    assert median_words(["one two three", "a b", "x y z w", "@jane hi https://example.org #tag"]) == 2.5
    assert median_words(["今日は朝から雨が降っていた"]) == 7  # a script without spaces, by its letters
    assert median_words([]) is None


def test_bits_per_char_and_scores_of_several_accounts_add_nats_not_ratios():
    assert bits_per_char(120 * math.log(2), 60) == pytest.approx(2.0)
    a = Score(posts=5, loss=2.0, bits_per_char=bits_per_char(20, 20), tokens=10, chars=20)
    b = Score(posts=7, loss=1.0, bits_per_char=bits_per_char(30, 40), tokens=30, chars=40)
    both = Score.combine([a, b])
    # 2.0 * 10 + 1.0 * 30 = 50 nats over 40 tokens and 60 characters
    assert (both.posts, both.tokens, both.chars) == (12, 40, 60)
    assert both.loss == pytest.approx(1.25)
    assert both.bits_per_char == pytest.approx(50 / math.log(2) / 60)
    assert both.bits_per_char != pytest.approx((a.bits_per_char + b.bits_per_char) / 2)
    assert Score.combine([]) is None


def test_text_stats_leave_the_prompt_out_of_distinct_n():
    s = TextStats.of(["My dream is a boat", "My dream is a boat", "My dream is a", "My dream is"], "My dream is")
    assert s.posts == 4 and s.repeats == 1 and s.repeat_share == 0.25
    assert s.distinct_1 == pytest.approx(2 / 5)  # a, boat / a boat a boat a
    assert s.distinct_2 == pytest.approx(1 / 2)  # "a boat" twice
    assert s.degenerate == {"empty": 1, "prompt only": 0, "repetition": 0} and s.degenerate_share == 0.25


# -- the command, on a tiny bot trained for real -----------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """(bot folder, dataset folder): tests copy them before changing anything."""
    tmp = tmp_path_factory.mktemp("evaluate")
    ds = make_dataset(tmp / "ds", make_posts(200, seed=5))
    cfg = resolve_config("quick", {"base_model": str(tiny_model()), "learning_rate": 1e-2, "batch_size": 2,
                                   "checkpoint_minutes": 0})
    return train(ds, tmp / "bot", cfg).output, ds


KEYS = {"bot", "model", "dataset", "validation", "accounts", "generated", "real", "dtype", "seconds", "posts"}
GENERATED_KEYS = {"posts", "prompt", "seed", "sampling", "copies", "copy_share", "copy_index", "distinct_1",
                  "distinct_2", "repeats", "repeat_share", "degenerate_posts", "degenerate_share", "degenerate",
                  "median_words"}


def test_cli_json_reports_every_metric(trained, capsys):
    bot, ds = trained
    code, out, err = run_cli(["evaluate", bot, "-n", "6", "--json"], capsys)
    assert code == 0, err
    ev = json.loads(out)
    assert set(ev) == KEYS and set(ev["generated"]) == GENERATED_KEYS
    assert ev["bot"] == "tiny_poster" and ev["model"] == str(bot)
    assert ev["dataset"] == {"path": str(ds.resolve()), "hash": json.loads((ds / "stats.json").read_text())["hash"],
                             "trained_on": True}
    # The same scoring code as training: the number training saved, from the saved model.
    metrics = json.loads((bot / "metrics.json").read_text())
    assert ev["validation"]["bits_per_char"] == pytest.approx(metrics["eval_bits_per_char"], rel=1e-4)
    assert ev["validation"]["posts"] == len((ds / "valid.jsonl").read_text().splitlines())
    assert list(ev["accounts"]) == ["tiny_poster"]
    assert ev["accounts"]["tiny_poster"]["validation"] == ev["validation"]
    gen = ev["generated"]
    assert gen["posts"] == 6 and gen["prompt"] == "" and gen["seed"] == 0 and gen["copy_index"] == "model folder"
    assert gen["sampling"] == {"temperature": 1.0, "top_p": 0.95, "top_k": 50, "max_new_tokens": 100}
    assert 0 < gen["distinct_1"] <= 1 and 0 < gen["distinct_2"] <= 1 and gen["median_words"] > 0
    assert len(ev["posts"]) == 6 and set(ev["posts"][0]) == {"text", "copy", "degenerate", "tokens"}
    assert gen["copies"] == sum(p["copy"] for p in ev["posts"])
    assert gen["degenerate_posts"] == sum(p["degenerate"] is not None for p in ev["posts"])
    assert ev["real"]["posts"] == 200 and ev["real"]["sample"]["posts"] == 6


def test_cli_table(trained, capsys):
    bot, ds = trained
    code, out, _ = run_cli(["evaluate", bot, "-n", "4", "--seed", "3"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[:4] == ["Evaluation of the bot tiny_poster", f"Model:   {bot}",
                         f"Dataset: {ds.resolve()} (the dataset it was trained on)", ""]
    assert lines[4].startswith("Validation (18 held-out posts)") and lines[4].split()[-2:] == ["bits/char",
                                                                                             "loss/token"]
    assert lines[5].startswith("  all posts ")
    start = lines.index(next(line for line in lines if line.startswith("Generated posts")))
    assert lines[start].startswith("Generated posts (4, empty prompt, seed 3)") and \
        lines[start].endswith("bot  real posts (4)")
    labels = [line[:42].strip() for line in lines[start + 1:start + 7]]
    assert labels == ["copies of a training post", "distinct-1 (distinct words / words)",
                      "distinct-2 (distinct word pairs / pairs)", "exact repeats of another post",
                      "median words per post", "degenerate posts"]
    assert lines[-2:] == ["  (real posts: 4 drawn from the dataset; median words over all 200)",
                          "  (copies checked against the model folder's copy index)"]


def test_same_seed_same_numbers_and_validation_only(trained):
    bot, _ = trained
    a, b = evaluate(bot, n=5, seed=7), evaluate(bot, n=5, seed=7)
    assert a.posts == b.posts and a.generated == b.generated and a.real == b.real
    only = evaluate(bot, n=0)
    assert only.generated is None and only.posts == [] and only.bits_per_char == pytest.approx(a.bits_per_char)
    with pytest.raises(UsageError, match=r"^-n must be >= 0 \(got -1\)$"):
        evaluate(bot, n=-1)


def test_prompt_and_a_bot_found_by_name(trained, capsys):
    bot, _ = trained
    shutil.copytree(bot, Path(os.environ["HUGGINGTWEETS_HOME"]) / "bots" / "tiny_poster")
    code, out, _ = run_cli(["evaluate", "tiny_poster", "-n", "3", "--prompt", "my cat", "--json"], capsys)
    ev = json.loads(out)
    assert code == 0 and ev["generated"]["prompt"] == "my cat"
    assert all(p["text"].startswith("my cat") for p in ev["posts"])


def _old_style(bot: Path, tmp: Path, name: str = "old") -> Path:
    """A copy of ``bot`` as training wrote it before evaluation existed: no dataset path, no copy index."""
    old = tmp / name
    shutil.copytree(bot, old)
    (old / "copy_index.bin").unlink()
    tc = json.loads((old / "training_config.json").read_text())
    del tc["dataset"]["path"]
    (old / "training_config.json").write_text(json.dumps(tc))
    return old


def test_an_old_bot_finds_its_dataset_in_the_default_folder_and_builds_a_copy_index(trained, tmp_path, capsys):
    bot, ds = trained
    old = _old_style(bot, tmp_path)
    shutil.copytree(ds, Path(os.environ["HUGGINGTWEETS_HOME"]) / "datasets" / "tiny_poster")
    code, out, err = run_cli(["evaluate", old, "-n", "3", "--json"], capsys)
    assert code == 0, err
    ev = json.loads(out)
    assert ev["dataset"]["path"] == str(Path(os.environ["HUGGINGTWEETS_HOME"]) / "datasets" / "tiny_poster")
    assert ev["dataset"]["trained_on"] is True and ev["generated"]["copy_index"] == "dataset"
    assert all(p["copy"] in (True, False) for p in ev["posts"])
    assert not (old / "copy_index.bin").exists(), "evaluate writes nothing into the folder"
    # A folder with none of training's records at all: the dataset must be named.
    for f in ("training_config.json", "stats.json", "metrics.json"):
        (old / f).unlink()
    code, _, err = run_cli(["evaluate", old, "-n", "2"], capsys)
    assert code == 1 and err == (f"Error: old: the model folder does not say which dataset it was trained on; "
                                 f"pass --dataset DIR, a dataset folder from `huggingtweets prepare`\n")
    ev = evaluate(old, dataset=ds, n=2)
    assert ev.trained_on_dataset is None and ev.bot == "tiny_poster" and ev.bits_per_char > 0


def test_a_missing_dataset_is_one_line_naming_the_flag(trained, tmp_path, capsys):
    bot, _ = trained
    moved = tmp_path / "bot"
    shutil.copytree(bot, moved)
    tc = json.loads((moved / "training_config.json").read_text())
    tc["dataset"]["path"] = str(tmp_path / "gone")
    (moved / "training_config.json").write_text(json.dumps(tc))
    code, out, err = run_cli(["evaluate", moved], capsys)
    default = Path(os.environ["HUGGINGTWEETS_HOME"]) / "datasets" / "tiny_poster"
    assert code == 1 and out == ""
    assert err == (f"Error: tiny_poster: the dataset it was trained on is gone (looked in {tmp_path / 'gone'}, "
                   f"{default}); pass --dataset DIR, a dataset folder from `huggingtweets prepare`\n")
    code, _, err = run_cli(["evaluate", moved, "--dataset", tmp_path / "nope"], capsys)
    assert code == 1 and err == (f"Error: {tmp_path / 'nope'}: no such dataset folder; create one with "
                                 f"`huggingtweets prepare SOURCE -o {tmp_path / 'nope'}`\n")
    with pytest.raises(BotDatasetError) as e:
        evaluate(moved)
    assert isinstance(e.value, DatasetError) and e.value.looked == [str(tmp_path / "gone"), str(default)]


def test_another_dataset_in_the_recorded_place_is_refused_unless_named(trained, tmp_path, capsys):
    bot, _ = trained
    moved = tmp_path / "bot"
    shutil.copytree(bot, moved)
    other = make_dataset(tmp_path / "other", make_posts(60, seed=9))
    tc = json.loads((moved / "training_config.json").read_text())
    tc["dataset"]["path"] = str(other)
    (moved / "training_config.json").write_text(json.dumps(tc))
    code, _, err = run_cli(["evaluate", moved, "-n", "1"], capsys)
    found = json.loads((other / "stats.json").read_text())["hash"]
    assert code == 1 and err == (f"Error: {other} holds another dataset than the one tiny_poster was trained on "
                                 f"({found[:19]}, not {tc['dataset']['hash'][:19]}); pass --dataset DIR, a "
                                 f"dataset folder from `huggingtweets prepare`\n")
    code, out, _ = run_cli(["evaluate", moved, "-n", "1", "--dataset", other], capsys)
    assert code == 0 and f"Dataset: {other} (not the dataset it was trained on: it may have trained on these " \
                         f"validation posts)" in out


def test_a_cyborg_dataset_is_scored_per_account(trained, tmp_path, capsys):
    from huggingtweets.dataset.build import AccountData, SplitSettings, write_dataset

    bot, _ = trained
    accounts = [AccountData(h, h, "file", f"file:{h}.txt", [(f"{h}{i}", t) for i, t in enumerate(make_posts(80, s))],
                            {"downloaded": 80, "kept": 80}) for h, s in (("ann", 1), ("bob", 2))]
    ds = tmp_path / "cyborg"
    write_dataset(ds, accounts, {}, SplitSettings(valid_fraction=0.2))
    ev = evaluate(bot, dataset=ds, n=2)
    assert [a.handle for a in ev.accounts] == ["ann", "bob"] and ev.trained_on_dataset is False
    assert ev.validation == Score.combine([a.validation for a in ev.accounts])
    assert ev.validation.posts == sum(a.validation.posts for a in ev.accounts) == \
        len((ds / "valid.jsonl").read_text().splitlines())
    assert ev.real_posts == 160, "a cyborg's repeated training posts count once"
    code, out, _ = run_cli(["evaluate", bot, "--dataset", ds, "-n", "0"], capsys)
    lines = out.splitlines()
    assert code == 0 and lines[5].startswith("  all accounts ")
    assert lines[6].startswith(f"  @ann ({ev.accounts[0].validation.posts} posts) ")
    assert lines[7].startswith(f"  @bob ({ev.accounts[1].validation.posts} posts) ")
    assert "Generated posts" not in out


# -- at the end of train: metrics.json, the W&B summary, the card --------------------------------------------


def test_train_writes_the_evaluation_into_metrics_the_run_summary_and_the_card(tmp_path, capsys):
    from test_tracking import wandb_records

    ds = make_dataset(tmp_path / "ds")
    code, out, err = run_cli(["train", ds, "-o", tmp_path / "bot", "--base-model", tiny_model(), "--max-steps", "2",
                              "--lr", "0.01", "--eval-posts", "3", "-q"], capsys)
    assert code == 0, err
    assert out.splitlines()[-1].startswith("Trained: ")
    metrics = json.loads((tmp_path / "bot" / "metrics.json").read_text())
    ev = metrics["evaluation"]
    assert ev["generated"]["posts"] == 3 and "posts" not in ev, "no generated text in metrics.json"
    assert ev["validation"]["bits_per_char"] == pytest.approx(metrics["eval_bits_per_char"], rel=1e-4)
    assert f"Evaluation: validation {ev['validation']['bits_per_char']:.4f} bits/char; 3 posts: " in err

    (run,) = (Path(os.environ["HUGGINGTWEETS_HOME"]) / "wandb").glob("offline-run-*")
    summary = {}
    for r in wandb_records(next(run.glob("run-*.wandb"))):
        if r.WhichOneof("record_type") == "summary":
            for item in r.summary.update:
                summary[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    assert summary["evaluation/validation/bits_per_char"] == pytest.approx(ev["validation"]["bits_per_char"])
    assert summary["evaluation/generated/distinct_2"] == pytest.approx(ev["generated"]["distinct_2"])
    assert summary["evaluation/generated/posts"] == 3 and "eval_loss" in summary

    card = (tmp_path / "bot" / "README.md").read_text()
    assert "### Evaluation" in card and "| Validation bits per character | " in card
    assert sections(card) == SEED_SECTIONS

    code, _, err = run_cli(["train", ds, "-o", tmp_path / "bot2", "--base-model", tiny_model(), "--max-steps", "1",
                            "--eval-posts", "0", "--no-card", "--tracker", "none", "-q"], capsys)
    assert code == 0 and "Evaluation:" not in err
    assert "evaluation" not in json.loads((tmp_path / "bot2" / "metrics.json").read_text())


EVALUATION = {
    "bot": "waitforgot",
    "validation": {"posts": 40, "loss": 2.1, "bits_per_char": 0.6833, "tokens": 900, "chars": 2700},
    "accounts": {"waitforgot": {"validation": {"posts": 40, "loss": 2.1, "bits_per_char": 0.6833}}},
    "generated": {"posts": 20, "prompt": "", "seed": 0, "copies": 1, "copy_share": 0.05, "distinct_1": 0.4123,
                  "distinct_2": 0.8034, "repeats": 0, "repeat_share": 0.0, "degenerate_posts": 2,
                  "degenerate_share": 0.1, "median_words": 14.5,
                  "sampling": {"temperature": 1.0, "top_p": 0.95, "top_k": 50, "max_new_tokens": 100}},
    "real": {"posts": 412, "median_words": 16, "sample": {"posts": 20, "distinct_1": 0.455, "distinct_2": 0.861}},
}


def test_card_evaluation_table(tmp_path):
    folder = make_bot_folder(tmp_path, 1, metrics={"eval_loss": 3.2, "eval_bits_per_char": 1.2345,
                                                   "evaluation": EVALUATION})
    finalize_bot(folder, PREDICTIONS)
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert sections(card) == SEED_SECTIONS, "a subsection of Training procedure"
    table = card[card.index("### Evaluation"):card.index("## How to use")].strip().splitlines()
    assert table == [
        "### Evaluation",
        "",
        "Measured with `huggingtweets evaluate` on the validation posts and on 20 posts the bot wrote from an "
        "empty prompt (temperature 1, top-p 0.95, top-k 50); real posts: as many drawn from the dataset.",
        "",
        "| Measure | Value | What it means |",
        "| --- | --- | --- |",
        "| Validation bits per character | 0.6833 | how well the bot predicts the 40 posts held out from "
        "training, per character: lower is better |",
        "| Copies of a training post | 1 of 20 (5%) | generated posts that repeat 8 words in a row of a training "
        "post, or most of a short one |",
        "| Distinct-1 / distinct-2 | 0.412 / 0.803 (real posts: 0.455 / 0.861) | distinct words and word pairs "
        "over all of them (Li et al. 2016): higher is more varied |",
        "| Exact repeats | 0 of 20 (0%) | generated posts identical to another one |",
        "| Median words | 14.5 (real posts: 16) | the length of a typical generated post, against the account's "
        "posts |",
        "| Degenerate posts | 2 of 20 (10%) | empty, only the prompt, or a word or phrase repeated over and over |",
    ]
    # the training metrics table is unchanged by the evaluation's keys
    assert "| Validation bits per character | 1.2345 |" in card


def test_card_without_or_with_a_broken_evaluation(tmp_path):
    old = make_bot_folder(tmp_path / "old", 1)  # metrics.json as older versions wrote it
    finalize_bot(old, PREDICTIONS)
    assert "Evaluation" not in (old / "README.md").read_text()
    for i, broken in enumerate(["oops", {"generated": {"posts": "many"}, "validation": [1]},
                                {"validation": {"bits_per_char": None}, "accounts": {"a": 3, "b": None}}]):
        folder = make_bot_folder(tmp_path / str(i), 1, metrics={"evaluation": broken})
        data = card_data_from_folder(folder)
        assert data.evaluation == [] and data.evaluation_note is None and data.metrics == {}
        assert "Evaluation" not in render_card(data)
    cyborg = dict(EVALUATION, generated=None, accounts={
        "waitforgot": {"validation": {"bits_per_char": 0.7}}, "balcobops": {"validation": {"bits_per_char": 0.65}}})
    data = card_data_from_folder(make_bot_folder(tmp_path / "cyborg", 2, metrics={"evaluation": cyborg}))
    assert data.evaluation_note == "Measured with `huggingtweets evaluate` on the validation posts."
    assert [(label, value) for label, value, _ in data.evaluation] == [
        ("Validation bits per character", "0.6833"), ("Validation bits per character, @waitforgot", "0.7000"),
        ("Validation bits per character, @balcobops", "0.6500")]
    assert r"| Validation bits per character, @waitforgot | 0.7000 |" in render_card(data)


# -- slow: the embedded model, on posts that read like a real account ---------------------------------------


def realistic_posts(n: int, seed: int = 0) -> list[str]:
    """Made-up posts of a made-up account (a cycling mechanic in a rainy town): replies, links, hashtags,
    emoji, numbers, one-liners and longer posts, as a real timeline mixes them."""
    rng = random.Random(seed)
    friends = ["@dana_k", "@thepedalshed", "@jo_rides", "@mika.builds", "@ferrytimes", "@oldtownbakery"]
    parts = ["derailleur hanger", "chain", "rear hub", "brake pads", "headset", "bottom bracket", "spoke",
             "tubeless valve", "cable housing", "front wheel"]
    bikes = ["a 1987 steel tourer", "a cargo bike with a dead battery", "someone's commuter", "a kid's BMX",
             "a folding bike that was folded wrong", "the shop's demo gravel bike"]
    feelings = ["honestly made my day", "took three coffees", "was not the plan", "went better than expected",
                "is why I keep spare parts", "still smells of chain lube"]
    weather = ["rain again", "fog on the river", "sun for twenty minutes", "wind from the west", "hail, briefly"]
    sites = ["example.org/blog", "notes.example.net", "example.com/workshop"]
    templates = [
        lambda: f"{rng.choice(friends)} ha, same. {rng.choice(weather)} here too",
        lambda: f"{rng.choice(friends)} yes! bring it by on {rng.choice(['Tuesday', 'Thursday', 'Saturday'])}, "
                f"I'll look at the {rng.choice(parts)}",
        lambda: f"{rng.choice(friends)} no idea tbh, maybe the {rng.choice(parts)}?",
        lambda: f"Fixed {rng.choice(bikes)} today. The {rng.choice(parts)} {rng.choice(feelings)}.",
        lambda: f"New post: how to true a wheel without a stand https://{rng.choice(sites)}/{rng.randint(10, 99)}",
        lambda: f"wrote up the {rng.choice(parts)} thing, photos inside "
                f"https://{rng.choice(sites)}/p/{rng.randint(100, 999)}",
        lambda: f"{rng.choice(weather)}. {rng.randint(3, 14)} bikes in for repair. #workshoplife",
        lambda: f"Reminder that a {rng.choice(parts)} costs less than a new frame 🔧",
        lambda: rng.choice(["closing early today", "ok who left a wheel outside", "Monday. 🙃", "back tomorrow",
                            "kettle's on", "new tyres arrived!!"]) + f" ({rng.randint(1, 9)})",
        lambda: f"Long day. Started with {rng.choice(bikes)}, moved on to {rng.choice(bikes)}, and ended with a "
                f"{rng.choice(parts)} that {rng.choice(feelings)}. {rng.choice(weather).capitalize()} the whole "
                f"time, and the radio only played one song. Tomorrow: {rng.choice(parts)}s.",
        lambda: f"Q for the timeline: {rng.choice(parts)} or {rng.choice(parts)} first when both are worn? "
                f"asking for {rng.choice(friends)}",
    ]
    return [rng.choice(templates)() for _ in range(n)]


@pytest.mark.slow
def test_training_the_embedded_model_lowers_its_validation_bits_per_char(tmp_path):
    from huggingtweets import prepare
    from huggingtweets.pipeline import train_bot
    from huggingtweets.sources import SourceOptions
    from huggingtweets.training.base_models import embedded_folder

    posts = tmp_path / "marta.txt"
    posts.write_text("\n".join(realistic_posts(180, seed=3)) + "\n", encoding="utf-8")
    ds = prepare([f"file:{posts}"], tmp_path / "ds", source_options=SourceOptions(handle="marta_spokes"),
                 min_chars=0)
    result = train_bot(ds, tmp_path / "bot", resolve_config("quick", {"max_steps": 6, "checkpoint_minutes": 0}),
                       tracker="none", card=False, eval_posts=8)
    trained = result.evaluation
    untrained = evaluate(embedded_folder(), dataset=ds.path, n=0)  # the base model, converted by training
    print(f"\nvalidation bits/char: untrained {untrained.bits_per_char:.4f}, trained {trained.bits_per_char:.4f} "
          f"({trained.validation.posts} posts); {trained.summary()}")
    assert untrained.trained_on_dataset is None and trained.trained_on_dataset is True
    assert trained.bits_per_char < untrained.bits_per_char
    assert trained.n == 8 and len(trained.posts) == 8 and trained.generated.distinct_1 > 0
