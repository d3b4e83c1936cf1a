"""Training: recipes, packing, evaluation, the loop (full and LoRA), checkpoints, resume, and bad input.

Every model here is a 2-layer model with hidden size 32 and a tokenizer trained on the test posts
(tests/tiny_model.py), really trained for a few steps.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from huggingtweets.errors import (BaseModelError, BaseModelUnavailableError, CheckpointError, LoraTargetError,
                                  TrainingDataError, TrainingDivergedError, TrainingInterrupted, UsageError)
from huggingtweets.training import TrainConfig, resolve_config, train
from huggingtweets.training.data import _stream, build_schedule, fit_block_size
from tiny_model import make_dataset, make_posts, save_tiny_model, tiny_model
from cli_runner import run_cli

TESTS = Path(__file__).parent


def tiny_config(recipe: str = "default", model: Path | None = None, **over):
    base = {"base_model": str(model or tiny_model()), "learning_rate": 5e-3, "batch_size": 2,
            "checkpoint_minutes": 0}
    return resolve_config(recipe, {**base, **over})



# -- recipes ----------------------------------------------------------------------------------------------


def test_huggingtweets_recipe_is_the_original():
    cfg = resolve_config("huggingtweets")
    assert (cfg.data.block_size, cfg.data.epochs, cfg.data.packing, cfg.data.drop_remainder) == \
        (1024, 4, "stream", True)
    assert (cfg.optim.batch_size, cfg.optim.learning_rate, cfg.optim.schedule, cfg.optim.warmup_ratio) == \
        (1, 1.372e-4, "cosine", 0.0)
    assert cfg.run.precision == "fp32" and cfg.model.lora is False


def test_flags_override_the_recipe_and_the_config_round_trips():
    cfg = resolve_config("quick", {"learning_rate": 2e-3, "lora": True, "max_steps": None, "seed": 7})
    assert cfg.recipe == "quick" and cfg.optim.learning_rate == 2e-3 and cfg.model.lora
    assert cfg.run.max_steps == 0 and cfg.run.seed == 7
    assert TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.fingerprint() != resolve_config("quick", {"learning_rate": 3e-3}).fingerprint()
    assert cfg.fingerprint() == resolve_config("quick", {"learning_rate": 2e-3, "lora": True, "seed": 7,
                                                          "keep_checkpoints": True}).fingerprint()


def test_bad_settings_are_all_reported_with_their_flags():
    with pytest.raises(UsageError) as e:
        resolve_config("default", {"learning_rate": -1.0, "batch_size": 0, "precision": "fp8"})
    assert str(e.value) == ("--lr must be > 0 (got -1.0); --batch-size must be >= 1 (got 0); --precision must "
                            "be one of auto, bf16, fp16, fp32 (got 'fp8')")
    with pytest.raises(UsageError, match=r"^unknown recipe 'fast': use --recipe with one of huggingtweets, "
                                         r"default, quick$"):
        resolve_config("fast")


# -- packing ----------------------------------------------------------------------------------------------


def test_every_post_follows_an_end_of_text_token():
    posts = [[5, 6], [7], [8, 9, 10]]
    stream = _stream(posts, 0, random.Random(1))
    assert len(stream) == 1 + 6 + 3 and stream[0] == 0 and stream[-1] == 0
    pieces = [tuple(p) for p in _split_on(stream[1:-1], 0)]
    assert sorted(pieces) == sorted(tuple(p) for p in posts)


def _split_on(seq, sep):
    part = []
    for x in seq:
        if x == sep:
            yield part
            part = []
        else:
            part.append(x)
    yield part


def test_stream_packing_joins_all_epochs_then_cuts_like_the_original():
    posts = [[i + 1] * (i % 3 + 1) for i in range(30)]
    s = build_schedule(posts, 0, 8, 4, "stream", True, seed=3)
    assert len(s.epochs) == 1  # one pass over the 4-epoch text
    text_len = 1 + 4 * (sum(len(p) for p in posts) + len(posts))
    assert s.n_blocks == text_len // 8 and all(len(b) == 8 for b in s.epochs[0])
    tokens = [t for b in s.epochs[0] for t in b if t]
    assert len(tokens) > 3 * sum(len(p) for p in posts)  # every post about 4 times
    assert build_schedule(posts, 0, 8, 4, "stream", True, seed=3).epochs == s.epochs


def test_epoch_packing_reshuffles_each_epoch_and_pads_the_last_block():
    posts = [[i + 1, i + 1] for i in range(50)]
    s = build_schedule(posts, 0, 16, 2, "epoch", False, seed=0)
    assert len(s.epochs) == 2 and s.epochs[0] != s.epochs[1]
    assert sorted(t for b in s.epochs[0] for t in b) == sorted(t for b in s.epochs[1] for t in b)
    assert len(s.epochs[0][-1]) == (1 + 50 * 3) % 16  # kept, to be padded
    assert build_schedule(posts, 0, 16, 2, "epoch", False, seed=1).epochs[0] != s.epochs[0]


def _posts_in(block: list[int]) -> list[tuple[int, ...]]:
    """The posts of a block packed whole: the runs of tokens between end-of-text tokens (0)."""
    assert block[0] == 0 and block[-1] == 0
    out, run = [], []
    for t in block[1:]:
        if t == 0:
            out.append(tuple(run))
            run = []
        else:
            run.append(t)
    return out


def test_posts_packing_keeps_every_post_whole_in_one_block_and_reshuffles_each_epoch():
    rng = random.Random(5)
    posts = [[rng.randint(1, 9) for _ in range(rng.choice([1, 3, 7, 12, 20, 29]))] for _ in range(300)]
    s = build_schedule(posts, 0, 32, 2, "posts", False, seed=0)
    for epoch in s.epochs:
        assert all(len(b) <= 32 for b in epoch)
        assert sorted(p for b in epoch for p in _posts_in(b)) == sorted(tuple(p) for p in posts)
        padding = sum(32 - len(b) for b in epoch) / (32 * len(epoch))
        assert padding < 0.1  # first fit over 16 open blocks leaves little room unused
    assert s.epochs[0] != s.epochs[1]
    assert build_schedule(posts, 0, 32, 2, "posts", False, seed=0).epochs == s.epochs


def test_posts_packing_cuts_only_a_post_longer_than_a_block():
    long = list(range(1, 41))
    s = build_schedule([long, [7, 8]], 0, 16, 1, "posts", False, seed=0)
    blocks = s.epochs[0]
    assert [0, 7, 8, 0] in blocks
    pieces = [b for b in blocks if b != [0, 7, 8, 0]]
    assert sorted(pieces) == [[0] + long[:15], long[15:31], long[31:] + [0]]


def test_block_size_is_fitted_to_the_posts():
    assert fit_block_size([[1] * 40] * 10, 1024) == 128
    assert fit_block_size([[1] * 10] * 10, 1024) == 64
    assert fit_block_size([[1] * 100] * 10, 1024) == 256
    assert fit_block_size([[1] * 200] * 10, 100) == 100


def test_too_little_text_for_one_block():
    with pytest.raises(TrainingDataError, match=r"^the training split has 1 posts, 4 tokens: not one "
                                                r"1024-token block; add posts"):
        build_schedule([[1, 2, 3]], 0, 1024, 1, "stream", True, seed=0)


# -- the end-of-text token ----------------------------------------------------------------------------------


def _tokenizer(eos: str, template: str | None):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator(make_posts(50), trainers.BpeTrainer(vocab_size=200, special_tokens=specials))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=eos)
    fast.chat_template = template
    return fast


def test_end_of_text_is_the_eos_of_a_base_model_and_not_the_chat_turn_end_of_an_instruct_one():
    from huggingtweets.training.base_models import end_of_text_token

    base = _tokenizer("<|endoftext|>", None)
    assert end_of_text_token(base) == ("<|endoftext|>", 0, "the tokenizer's eos token")
    chat = "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}"
    instruct = _tokenizer("<|im_end|>", chat)
    token, id_, why = end_of_text_token(instruct)
    assert (token, id_) == ("<|endoftext|>", 0) and "chat turns" in why


# -- the loop -----------------------------------------------------------------------------------------------


def test_full_training_writes_a_complete_model_folder_that_pipeline_loads(tmp_path, monkeypatch):
    from transformers import pipeline

    monkeypatch.setenv("X_BEARER_TOKEN", "secret-bearer-0123456789")
    ds = make_dataset(tmp_path / "ds")
    logs = []
    result = train(ds, tmp_path / "bot", tiny_config(epochs=3), on_log=logs.append)
    out = result.output
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "stats.json",
            "training_config.json", "metrics.json", "copy_index.bin"} <= names
    assert "checkpoints" not in names and not list(out.glob("adapter_*"))
    for path in out.iterdir():
        assert b"secret-bearer" not in path.read_bytes(), path.name

    m = json.loads((out / "metrics.json").read_text())
    first_loss = next(r["loss"] for r in m["log_history"] if "loss" in r)
    assert m["eval_loss"] < first_loss - 1.0, "the tiny model should learn the grammar"
    valid = [json.loads(line)["text"] for line in (ds / "valid.jsonl").read_text().splitlines()]
    assert m["eval_chars"] == sum(len(t) + 1 for t in valid)
    nats = m["eval_loss"] * m["eval_tokens"]
    assert m["eval_bits_per_char"] == pytest.approx(nats / math.log(2) / m["eval_chars"])
    assert m["steps"] == result.metrics["steps"] > 0 and m["tokens_per_second"] > 0 and m["seed"] == 42
    evals = [r for r in logs if "eval_loss" in r]
    assert len(evals) == 3, "one evaluation per epoch"
    best = min(evals, key=lambda r: r["eval_loss"])
    assert m["best_step"] == best["step"] and m["eval_loss"] == pytest.approx(best["eval_loss"], abs=1e-5)

    saved = json.loads((out / "training_config.json").read_text())
    assert saved["config"]["recipe"] == "default" and saved["config"]["run"]["seed"] == 42
    assert saved["config"]["data"]["block_size"] in (64, 128) and saved["config"]["run"]["precision"] != "auto"
    assert saved["end_of_text"]["text"] == "<|endoftext|>"
    assert (out / "stats.json").read_bytes() == (ds / "stats.json").read_bytes()

    pipe = pipeline("text-generation", model=str(out))
    assert pipe.prefix == "<|endoftext|>"
    gen = pipe.model.generation_config
    assert (gen.do_sample, gen.top_p, gen.temperature, gen.min_length) == (True, 0.95, 1.0, 10)
    samples = pipe("my cat", num_return_sequences=2, max_new_tokens=5)
    assert len(samples) == 2 and all(s["generated_text"].startswith("my cat") for s in samples)


def test_lora_on_gpt2_trains_adapters_only_and_saves_them_merged(tmp_path):
    from safetensors.torch import load_file

    base = tiny_model("gpt2")
    ds = make_dataset(tmp_path / "ds")
    out = train(ds, tmp_path / "bot", tiny_config(model=base, lora=True, lora_r=4, epochs=1,
                                                  learning_rate=2e-2)).output
    before, after = load_file(base / "model.safetensors"), load_file(out / "model.safetensors")
    assert set(after) == set(before), "merged: plain GPT-2 weights, no adapter keys"
    assert (after["transformer.wte.weight"] == before["transformer.wte.weight"]).all()
    assert not (after["transformer.h.0.attn.c_attn.weight"] == before["transformer.h.0.attn.c_attn.weight"]).all()
    assert json.loads((out / "training_config.json").read_text())["config"]["model"]["lora"] is True


@pytest.mark.filterwarnings("ignore:Full backward hook")
def test_freeze_layers_fixes_the_lowest_blocks_and_backward_stops_above_them(tmp_path):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from huggingtweets.training.strategy import freeze_lower_layers, transformer_blocks

    base = save_tiny_model(tmp_path / "base", layers=3)
    model = AutoModelForCausalLM.from_pretrained(base)
    freeze_lower_layers(model, 2)
    reached = []
    for i, block in enumerate(transformer_blocks(model)):
        block.register_full_backward_hook(lambda *_, i=i: reached.append(i))
    model(input_ids=torch.tensor([[1, 2, 3, 4]]), labels=torch.tensor([[1, 2, 3, 4]])).loss.backward()
    assert reached == [2], "backward runs through the trained block only"

    ds = make_dataset(tmp_path / "ds")
    out = train(ds, tmp_path / "bot", tiny_config(model=base, freeze_layers=2, epochs=1)).output
    before, after = load_file(base / "model.safetensors"), load_file(out / "model.safetensors")
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert not any(k.startswith(("model.layers.0.", "model.layers.1.")) for k in changed)
    assert any(k.startswith("model.layers.2.") for k in changed)
    assert "model.embed_tokens.weight" in changed, "tied to the output layer, which still learns"
    with pytest.raises(UsageError, match="--freeze-layers 3: the model has 3 transformer blocks"):
        train(ds, tmp_path / "bot2", tiny_config(model=base, freeze_layers=3))


def test_lora_without_linear_layers_names_the_modules_found(tmp_path, capsys):
    flat = save_tiny_model(tmp_path / "flat", layers=0)
    ds = make_dataset(tmp_path / "ds")
    with pytest.raises(LoraTargetError) as e:
        train(ds, tmp_path / "bot", tiny_config(model=flat, lora=True))
    assert "Embedding" in e.value.found and "--lora found no linear layers" in str(e.value)
    code, _, err = run_cli(["train", ds, "--base-model", flat, "--lora", "-q", "-o", tmp_path / "bot"], capsys)
    assert code == 1 and err.startswith("Error: --lora found no linear layers to adapt in this llama model "
                                        "(module types found: ")


def test_evaluation_scores_each_post_on_its_own(tmp_path):
    import torch
    import torch.nn.functional as F
    from transformers import AutoModelForCausalLM

    from huggingtweets.training.evaluate import evaluate

    model = AutoModelForCausalLM.from_pretrained(tiny_model())
    posts = [[5, 6, 7, 8, 9], [10, 11]]
    result = evaluate(model, posts, 0, chars=20, batch_tokens=64)
    total = 0.0
    for p in posts:
        ids = torch.tensor([[0] + p + [0]])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, :-1]
        total += F.cross_entropy(logits.float(), ids[0, 1:], reduction="sum").item()
    assert result.tokens == 5 + 1 + 2 + 1
    assert result.loss == pytest.approx(total / 9, rel=1e-5)
    assert result.bits_per_char == pytest.approx(total / math.log(2) / 20, rel=1e-5)


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_isolated_posts_are_scored_in_a_block_as_they_are_alone(kind):
    """With ``isolate_posts`` a post packed after another (or after the block's padding) gets exactly the
    logits it gets alone after the end-of-text token; without it, the post before changes them."""
    import torch
    from transformers import AutoModelForCausalLM

    from huggingtweets.training.loop import collate

    model = AutoModelForCausalLM.from_pretrained(tiny_model(kind)).eval()
    blocks = [[0, 5, 6, 7, 0, 8, 9, 10], [0, 8, 9, 10, 0, 11]]
    batch = collate(blocks, 0, isolate_posts=True)
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 0, 1, 2, 3], [0, 1, 2, 3, 0, 1, 0, 0]]
    assert batch["labels"][1, 6:].tolist() == [-100, -100]
    batch.pop("labels")
    with torch.no_grad():
        packed = model(**batch, use_cache=False).logits
        alone = model(input_ids=torch.tensor([[0, 8, 9, 10]])).logits[0]
        shared = collate(blocks, 0)
        shared.pop("labels")
        mixed = model(**shared, use_cache=False).logits
    assert torch.allclose(packed[0, 4:], alone, atol=1e-5)
    assert torch.allclose(packed[1, :4], alone, atol=1e-5)
    assert not torch.allclose(mixed[0, 4:], alone, atol=1e-3)


def test_evaluation_batches_posts_of_similar_length_within_the_token_budget():
    from huggingtweets.training.evaluate import MAX_WIDTH_RATIO, length_batches

    seqs = sorted([[1] * n for n in (3, 4, 4, 5, 9, 10, 11, 11, 30, 31, 40, 200)], key=len)
    batches = length_batches(seqs, batch_tokens=64)
    assert [s for b in batches for s in b] == seqs  # every post once, in order
    for b in batches:
        assert len(b) == 1 or len(b) * len(b[-1]) <= 64
        assert len(b[-1]) <= MAX_WIDTH_RATIO * len(b[0])
    assert [len(b) for b in batches] == [1, 3, 4, 2, 1, 1]


# -- interruptions ------------------------------------------------------------------------------------------


def test_ctrl_c_saves_a_checkpoint_and_resume_finishes_the_run(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    out = tmp_path / "bot"
    cfg = tiny_config(epochs=2)

    def press_ctrl_c(record):
        if record.get("step") == 3 and "loss" in record:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as e:
        train(ds, out, cfg, on_log=press_ctrl_c)
    ckpt = out / "checkpoints" / "step-00000003"
    assert str(e.value) == (f"training interrupted at step 3; checkpoint saved in {ckpt}; run the same command "
                            f"with --resume to continue") and e.value.exit_code == 130
    assert (ckpt / "state.pt").is_file() and not (out / "model.safetensors").exists()

    with pytest.raises(CheckpointError, match="has a checkpoint of an unfinished run \\(step-00000003\\): add "
                                              "--resume to continue it"):
        train(ds, out, cfg)
    with pytest.raises(CheckpointError, match="was made with other settings or another dataset"):
        train(ds, out, tiny_config(epochs=2, learning_rate=1e-3), resume=True)

    result = train(ds, out, cfg, resume=True)
    assert (out / "model.safetensors").is_file() and not (out / "checkpoints").exists()
    steps = [r["step"] for r in result.metrics["log_history"] if "loss" in r]
    assert steps == sorted(set(steps)) and steps[-1] == result.metrics["steps"]


def test_output_folder_must_be_new_empty_or_a_model_folder(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match=f"^{tmp_path} exists and is not a model folder written by "
                                         f"huggingtweets; pass a new or empty folder with -o$"):
        train(ds, tmp_path, tiny_config())
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_resume_without_a_checkpoint(tmp_path, capsys):
    ds = make_dataset(tmp_path / "ds")
    code, _, err = run_cli(["train", ds, "--base-model", tiny_model(), "-o", tmp_path / "bot", "--resume", "-q"],
                           capsys)
    assert code == 1
    assert err == (f"Error: --resume: no checkpoint in {tmp_path / 'bot' / 'checkpoints'}; run without --resume "
                   f"to start training\n")


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    out = tmp_path / "bot"
    cfg = tiny_config(learning_rate=1e30, schedule="constant", warmup_ratio=0.0, precision="fp32",
                      checkpoint_steps=1, max_grad_norm=0.0)
    with pytest.raises(TrainingDivergedError) as e:
        train(ds, out, cfg)
    step = e.value.step
    good = out / "checkpoints" / f"step-{step - 1:08d}"
    assert step >= 2 and e.value.checkpoint == str(good) and (good / "state.pt").is_file()
    assert str(e.value).startswith(f"training loss became {e.value.loss} at step {step}: train again with a "
                                   f"lower learning rate (--lr)")
    assert not (out / "model.safetensors").exists()


def test_resume_after_a_killed_process_ends_as_an_uninterrupted_run(tmp_path):
    """Kill -9 a training process after its second checkpoint, resume, compare with a run never stopped."""
    from safetensors.torch import load_file

    ds = make_dataset(tmp_path / "ds")
    overrides = {"base_model": str(tiny_model()), "learning_rate": 5e-3, "batch_size": 2, "epochs": 3,
                 "checkpoint_steps": 4, "checkpoint_minutes": 0}
    killed = tmp_path / "killed"
    script = (f"import sys, time\nsys.path.insert(0, {str(TESTS)!r})\n"
              f"from huggingtweets.training import resolve_config, train\n"
              f"train({str(ds)!r}, {str(killed)!r}, resolve_config('default', {overrides!r}),\n"
              f"      on_log=lambda r: time.sleep(0.3))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "OMP_NUM_THREADS": str(_threads())})
    try:
        deadline = time.monotonic() + 120
        while not (killed / "checkpoints" / "step-00000008").is_dir():
            assert proc.poll() is None, "the training process ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert not (killed / "model.safetensors").exists()

    resumed = train(ds, killed, resolve_config("default", overrides), resume=True)
    whole = train(ds, tmp_path / "whole", resolve_config("default", overrides))
    a, b = load_file(killed / "model.safetensors"), load_file(tmp_path / "whole" / "model.safetensors")
    assert set(a) == set(b)
    for k in a:
        assert (a[k] - b[k]).abs().max().item() < 1e-4, k
    assert resumed.metrics["eval_loss"] == pytest.approx(whole.metrics["eval_loss"], rel=1e-4)
    assert resumed.metrics["steps"] == whole.metrics["steps"]


def _threads() -> int:
    import torch

    return torch.get_num_threads()


# -- bad input ----------------------------------------------------------------------------------------------


def test_base_model_folder_without_weights(tmp_path):
    from huggingtweets.training.base_models import resolve

    empty = tmp_path / "half"
    empty.mkdir()
    (empty / "config.json").write_text("{}")
    with pytest.raises(BaseModelError, match=r"half has no model weights \(model.safetensors or "
                                             r"pytorch_model.bin\); save the model there"):
        resolve(str(empty))
    with pytest.raises(BaseModelError, match="does not exist"):
        resolve(str(tmp_path / "nope"))
    with pytest.raises(BaseModelError, match=r"is not a model folder \(no config.json\)"):
        resolve(str(tmp_path))


def test_hub_model_offline_names_the_embedded_default_and_the_folder_option(tmp_path, capsys):
    ds = make_dataset(tmp_path / "ds")
    code, _, err = run_cli(["train", ds, "--base-model", "distilgpt2", "-q"], capsys)
    assert code == 1
    assert err == ("Error: could not get base model 'distilgpt2' from the Hugging Face Hub (offline, or no such "
                   "model); leave out --base-model to use the embedded smollm2-135m-instruct, or pass a local "
                   "folder saved with save_pretrained (--base-model ./my-model)\n")
    with pytest.raises(BaseModelUnavailableError):
        from huggingtweets.training.base_models import load

        load("HuggingFaceTB/SmolLM2-135M")


def test_missing_or_malformed_dataset_folder(tmp_path, capsys):
    code, _, err = run_cli(["train", tmp_path / "nothing", "-q"], capsys)
    assert code == 1 and err == (f"Error: {tmp_path / 'nothing'}: no such dataset folder; create one with "
                                 f"`huggingtweets prepare SOURCE -o {tmp_path / 'nothing'}`\n")
    ds = make_dataset(tmp_path / "ds")
    (ds / "stats.json").write_text("{not json")
    code, _, err = run_cli(["train", ds, "-q"], capsys)
    assert code == 1 and err == (f"Error: {ds}/stats.json is malformed; recreate the folder with "
                                 f"`huggingtweets prepare`\n")


def test_too_little_data_on_the_command_line(tmp_path, capsys):
    ds = make_dataset(tmp_path / "ds", ["my cat wrote", "rain found"], valid_fraction=0.0)
    code, _, err = run_cli(["train", ds, "--base-model", tiny_model(), "--recipe", "huggingtweets", "-q",
                            "-o", tmp_path / "bot"], capsys)
    assert code == 1
    assert err.startswith("Error: the training split has 2 posts, ") and \
        err.endswith("not one 128-token block; add posts (a fuller archive) or pass a smaller --block-size\n")


# -- the command line ---------------------------------------------------------------------------------------


def test_cli_train_on_a_dataset_prints_the_final_line(tmp_path, capsys):
    ds = make_dataset(tmp_path / "ds")
    code, out, _ = run_cli(["train", ds, "--base-model", tiny_model(), "--max-steps", "2", "--lr", "0.01", "-q"],
                           capsys)
    bot = Path(os.environ["HUGGINGTWEETS_HOME"]) / "bots" / "tiny_poster"
    assert code == 0 and (bot / "model.safetensors").is_file()
    lines = out.splitlines()
    assert lines[-1].startswith("Trained: validation loss ") and lines[-1].endswith(f"-> {bot}")
    saved = json.loads((bot / "training_config.json").read_text())["config"]
    assert saved["run"]["max_steps"] == 2 and saved["optim"]["learning_rate"] == 0.01
    # train ends with sample posts, the card and the preview, and an offline W&B run
    assert lines[0] == f"Model card and preview: {bot / 'README.md'}, {bot / 'predictions.png'}"
    card = (bot / "README.md").read_text()
    assert "| Tweets kept |" in card and "My dream is" in card
    assert len(json.loads((bot / "predictions.json").read_text())["predictions"]) >= 1
    assert (bot / "predictions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    runs = list((Path(os.environ["HUGGINGTWEETS_HOME"]) / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and json.loads((bot / "tracking.json").read_text())["runs"]["train"]


def test_cli_train_without_card_or_tracker(tmp_path, capsys):
    ds = make_dataset(tmp_path / "ds")
    code, out, _ = run_cli(["train", ds, "-o", tmp_path / "bot", "--base-model", tiny_model(), "--max-steps", "1",
                            "--no-card", "--tracker", "none", "-q"], capsys)
    assert code == 0 and out.startswith("Trained: ")
    assert (tmp_path / "bot" / "model.safetensors").is_file()
    assert not (tmp_path / "bot" / "README.md").exists() and not (tmp_path / "bot" / "predictions.png").exists()
    assert not (Path(os.environ["HUGGINGTWEETS_HOME"]) / "wandb").exists()


def test_cli_run_prepares_trains_and_writes_posts(tmp_path, capsys):
    posts = tmp_path / "posts.txt"
    posts.write_text("\n".join(make_posts(150, seed=4)) + "\n")
    code, out, _ = run_cli(["run", f"file:{posts}", "--handle", "tiny_poster", "--base-model", tiny_model(),
                            "--max-steps", "2", "--min-chars", "0", "-q", "-n", "3", "--generate-seed", "1"],
                           capsys)
    home = Path(os.environ["HUGGINGTWEETS_HOME"])
    assert code == 0, out
    lines = out.splitlines()
    start = lines.index("Generated by the bot tiny_poster (a language model trained on posts by @tiny_poster; "
                        "not written by them):")
    assert [line[:5] for line in lines[start + 1:start + 4]] == ["  1. ", "  2. ", "  3. "]
    assert all("My dream is" in line for line in lines[start + 1:start + 4])
    assert f"Dataset: {home / 'datasets' / 'tiny_poster'}" in lines
    assert f"Model:   {home / 'bots' / 'tiny_poster'}" in lines
    assert not (home / "bots" / "tiny_poster" / "train.jsonl").exists(), "posts stay out of the model folder"


@pytest.mark.slow
def test_embedded_model_trains_and_loads_with_pipeline(tmp_path):
    from transformers import pipeline

    posts = make_posts(120, seed=2)
    ds = make_dataset(tmp_path / "ds", posts)
    result = train(ds, tmp_path / "bot", resolve_config("quick", {"max_steps": 2, "checkpoint_minutes": 0}))
    saved = json.loads((result.output / "training_config.json").read_text())
    assert saved["base_model"]["kind"] == "embedded" and saved["end_of_text"]["text"] == "<|endoftext|>"
    assert result.metrics["eval_bits_per_char"] > 0
    pipe = pipeline("text-generation", model=str(result.output))
    assert pipe.prefix == "<|endoftext|>"
    out = pipe("My dream is", num_return_sequences=2, max_new_tokens=8)
    assert len(out) == 2 and all(o["generated_text"].startswith("My dream is") for o in out)
