"""The model card and the preview image, checked against the structure of the cards the original published."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from huggingtweets.card import (CardData, card_data_from_folder, check_metadata, draw_preview, finalize_bot,
                                redraw_preview, render_card)
from huggingtweets.card import preview as preview_mod
from huggingtweets.cli.main import main

# The sections of the original's cards (shared/seeds: the latest layout, also used for cyborgs), in order.
SEED_SECTIONS = ["How does it work?", "Training data", "Training procedure", "How to use",
                 "Limitations and bias", "About"]
SEED_ROWS = ["Tweets downloaded", "Retweets", "Short tweets", "Tweets kept"]

ACCOUNTS = [
    {"handle": "waitforgot", "name": "Wait Forgot", "downloaded": 3194, "retweets": 1294, "replies": 0,
     "short": 285, "duplicates": 0, "kept": 1615, "network": "x", "source": "x:waitforgot",
     "avatar_url": "https://pbs.twimg.com/profile_images/1/avatar_400x400.jpg", "url": "https://x.com/waitforgot"},
    {"handle": "balcobops", "name": "Balco - Special Boperative", "downloaded": 1171, "retweets": 129,
     "replies": 0, "short": 122, "duplicates": 0, "kept": 920, "network": "x", "source": "x:balcobops",
     "avatar_url": None, "url": "https://x.com/balcobops"},
    {"handle": "liyrex_irl", "name": "Liyrex | *the* one 🦊", "downloaded": 3189, "retweets": 1587,
     "replies": 0, "short": 279, "duplicates": 0, "kept": 1323, "network": "x", "source": "x:liyrex_irl",
     "avatar_url": None, "url": None},
]
PREDICTIONS = [
    "My dream is to finally finish my thesis 🎓 and move to Lisbon 🇵🇹 with my cat 🐈‍⬛",
    "My dream is a world where every coffee is free ☕️ and nobody asks about deadlines, ever, at all, "
    "not even on Mondays, which would honestly be the best thing that could happen to anyone anywhere",
    "My dream is 👩‍💻 shipping on Fridays",
    "My dream is simple",
]


def make_bot_folder(root: Path, n_accounts: int = 1, *, training_config: dict | None = None,
                    metrics: dict | None = None, weights: bool = True, extra_files: bool = False) -> Path:
    """A trained bot's folder as training writes it, with a small stand-in for the weights."""
    users = [dict(u) for u in ACCOUNTS[:n_accounts]]
    folder = root / ("bot-" + "-".join(sorted(u["handle"] for u in users)))
    folder.mkdir(parents=True)
    stats = {"format": 1, "hash": "sha256:" + "ab" * 32, "bot": "-".join(sorted(u["handle"] for u in users)),
             "users": users, "settings": {"sources": [f"archive:{Path.home()}/archive.zip"]}}
    (folder / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
    tc = training_config if training_config is not None else {
        "huggingtweets_version": "0.1.0",
        "config": {"recipe": "quick", "model": {"base_model": "smollm2-135m-instruct", "lora": False},
                   "data": {"block_size": 0, "epochs": 2},
                   "optim": {"learning_rate": 2e-4, "schedule": "cosine", "warmup_ratio": 0.05, "batch_size": 8},
                   "run": {"seed": 42, "precision": "bf16", "max_steps": 0}},
        "base_model": {"name": "smollm2-135m-instruct", "kind": "embedded", "location": "/cache/smollm2"},
        "block_size": 256,
    }
    (folder / "training_config.json").write_text(json.dumps(tc), encoding="utf-8")
    m = metrics if metrics is not None else {"eval_loss": 3.2101, "eval_bits_per_char": 1.2345,
                                             "wall_seconds": 812.4, "steps": 500, "log_history": [{"step": 1}]}
    (folder / "metrics.json").write_text(json.dumps(m), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "prefix": "<|endoftext|>"}))
    (folder / "generation_config.json").write_text(json.dumps({"do_sample": True, "top_p": 0.95}))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "tokenizer_config.json").write_text("{}")
    if weights:
        (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    if extra_files:
        (folder / "checkpoints" / "step-100").mkdir(parents=True)
        (folder / "checkpoints" / "step-100" / "optimizer.pt").write_bytes(b"opt")
        (folder / "optimizer.pt").write_bytes(b"opt")
        (folder / "rng_state.pt").write_bytes(b"rng")
        (folder / "train.jsonl").write_text('{"text": "a raw post"}\n')
        (folder / "tracking.json").write_text("{}")
        (folder / ".env").write_text("HF_TOKEN=hf_should_never_leave\n")
    return folder


def run_cli(args: list[str]) -> int:
    """The exit code of ``huggingtweets ARGS`` run in this process."""
    try:
        main(args)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def sections(card: str) -> list[str]:
    return re.findall(r"^## (.+)$", card, re.M)


def front_matter(card: str) -> dict:
    import yaml

    m = re.match(r"^---\n(.*?)\n---\n", card, re.S)
    assert m, "the card starts with YAML front matter"
    return yaml.safe_load(m.group(1))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]  # "\|" stays in a cell


def card_table(card: str) -> tuple[list[str], dict[str, list[int]]]:
    lines = card[card.index("| Data |"):].splitlines()
    header = _cells(lines[0])
    rows = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = _cells(line)
        rows[cells[0]] = [int(c) for c in cells[1:]]
    return header, rows


@pytest.mark.parametrize("n", [1, 3])
def test_card_follows_the_seeds(tmp_path, n):
    folder = make_bot_folder(tmp_path, n)
    finalize_bot(folder, PREDICTIONS)
    card = (folder / "README.md").read_text(encoding="utf-8")

    assert sections(card) == SEED_SECTIONS
    meta = front_matter(card)
    assert meta["tags"] == ["huggingtweets"] and meta["widget"] == [{"text": "My dream is"}]
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["license"] == "apache-2.0" and meta["language"] == "en"
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-generation"
    assert meta["thumbnail"] == "predictions.png"  # not pushed yet: the image beside the card
    assert '![Posts the bot wrote from "My dream is"](predictions.png)' in card

    label = "🤖 AI CYBORG 🤖" if n > 1 else "🤖 AI BOT 🤖"
    other = "🤖 AI BOT 🤖" if n > 1 else "🤖 AI CYBORG 🤖"
    assert label in card and other not in card
    # One avatar per account: the profile image when known, else an initial on a colour.
    assert card.count("border-radius: 50%") == n
    assert "url(&#39;https://pbs.twimg.com/profile_images/1/avatar_400x400.jpg&#39;)" in card
    for u in ACCOUNTS[:n]:
        assert f"@{u['handle']}" in card

    header, rows = card_table(card)
    stats = json.loads((folder / "stats.json").read_text())
    assert header[0] == "Data" and len(header) == 1 + n
    assert list(rows) == SEED_ROWS
    for label_, key in zip(SEED_ROWS, ["downloaded", "retweets", "short", "kept"]):
        assert rows[label_] == [u[key] for u in stats["users"]]
    if n == 3:
        assert r"Liyrex \| \*the\* one 🦊" in header  # a name cannot break the table

    # The real base model, never GPT-2 by habit, and no dead links before the push.
    assert "GPT-2" not in card and "gpt2" not in card
    assert "[SmolLM2-135M-Instruct](https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct)" in card
    assert "/runs/" not in card and "/resolve/main/" not in card
    assert f"model={folder.name!r})" in card and str(tmp_path) not in card
    assert "I am an AI, not @" in card and "must not be presented as their words" in card
    assert "Validation bits per character | 1.2345" in card and "Learning rate: 0.0002" in card


def test_model_card_loads_and_metadata_validates(tmp_path):
    from huggingface_hub import ModelCard, ModelCardData

    folder = make_bot_folder(tmp_path, 3)
    finalize_bot(folder, PREDICTIONS)
    card = ModelCard.load(folder / "README.md")
    meta = card.data.to_dict()
    assert meta["thumbnail"] == "predictions.png" and check_metadata(meta, folder) == []
    assert ModelCardData(**meta).to_dict() == meta
    # A relative thumbnail is the name of a file beside the card, nothing else.
    for bad, where in [("predictions.png", None), ("missing.png", folder), ("../predictions.png", folder),
                       (str(folder / "predictions.png"), folder)]:
        assert check_metadata({**meta, "thumbnail": bad}, where) == [
            f"thumbnail {bad!r} is neither a URL nor a file of the bot's folder"]
    assert sections(card.text) == SEED_SECTIONS
    assert check_metadata({**meta, "license": "GPL v3", "base_model": "smollm2"}, folder) == [
        "license 'GPL v3' is not a Hub license id", "base_model 'smollm2' is not a Hub repo id (OWNER/NAME)"]


def test_published_card_links_repo_thumbnail_and_online_runs(tmp_path):
    folder = make_bot_folder(tmp_path, 1)
    (folder / "tracking.json").write_text(json.dumps({"tracker": "wandb", "mode": "online", "runs": {
        "preprocess": {"id": "pre1", "url": "https://wandb.ai/jane/huggingtweets/runs/pre1"},
        "train": {"id": "tr1", "url": "https://wandb.ai/jane/huggingtweets/runs/tr1"}}}))
    finalize_bot(folder, PREDICTIONS)
    data = card_data_from_folder(folder)
    data.repo_id = "jane/waitforgot"
    card = render_card(data)
    assert front_matter(card)["thumbnail"] == "https://huggingface.co/jane/waitforgot/resolve/main/predictions.png"
    assert "model='jane/waitforgot')" in card and str(folder) not in card
    assert "[Explore the data](https://wandb.ai/jane/huggingtweets/runs/pre1/artifacts)" in card
    assert "[W&B training run](https://wandb.ai/jane/huggingtweets/runs/tr1)" in card
    assert "[the final model](https://wandb.ai/jane/huggingtweets/runs/tr1/artifacts)" in card


def test_offline_tracking_is_mentioned_without_links(tmp_path):
    folder = make_bot_folder(tmp_path, 1)
    (folder / "tracking.json").write_text(json.dumps({"tracker": "wandb", "mode": "offline", "runs": {
        "train": {"id": "tr1", "url": None, "dir": "/somewhere/offline-run-tr1"}}}))
    finalize_bot(folder, ["My dream is x"])
    card = (folder / "README.md").read_text()
    assert "offline" in card and "`wandb sync`" in card and "/runs/" not in card


def test_card_data_reads_typed_fields_and_survives_missing_or_broken_files(tmp_path):
    folder = make_bot_folder(tmp_path, 1, training_config={
        "base_model": {"name": "gpt2", "kind": "hub", "location": "gpt2"},
        "config": {"optim": {"learning_rate": 1e-4, "batch_size": "eight"}, "data": {"epochs": 3},
                   "model": {"lora": True, "lora_r": 8}},
        # names the card does not read: no alias tables guess at other tools' files
        "lr": 5, "num_train_epochs": 9}, metrics={"eval_loss": 2.5, "wall_seconds": 42, "val_loss": 9})
    data = card_data_from_folder(folder)
    assert (data.base_model_id, data.license) == ("openai-community/gpt2", "mit")
    assert data.hyperparameters == {"Learning rate": "0.0001", "Epochs": "3"}
    assert data.fine_tuning == "LoRA (r=8)"
    assert data.metrics["Validation loss (per token)"] == "2.5000" and data.metrics["Wall time"] == "42 s"

    (folder / "metrics.json").write_text(json.dumps({"eval_loss": "2.5", "steps": True}))
    assert card_data_from_folder(folder).metrics == {}  # wrong types are left out, not shown

    (folder / "training_config.json").write_text("not json")
    (folder / "metrics.json").write_text("[1, 2]")
    data = card_data_from_folder(folder)
    assert data.base_model_id is None and data.hyperparameters == {} and data.metrics == {}
    card = render_card(data)
    meta = front_matter(card)
    assert "base_model" not in meta and "license" not in meta and check_metadata(meta) == []
    assert "pre-trained language model" in card and sections(card) == SEED_SECTIONS

    local = make_bot_folder(tmp_path / "local", 1, training_config={
        "base_model": {"name": str(tmp_path / "my-base"), "kind": "folder", "location": str(tmp_path / "my-base")}})
    (tmp_path / "my-base").mkdir()
    (tmp_path / "my-base" / "README.md").write_text("---\nlicense: mit\n---\n# base\n")
    data = card_data_from_folder(local)
    assert (data.base_model_name, data.base_model_id, data.license) == ("my-base", None, "mit")
    assert str(tmp_path) not in render_card(data).split("## How to use")[0]


def test_not_a_bot_folder_is_a_clear_error(tmp_path):
    from huggingtweets.errors import ModelFolderError

    with pytest.raises(ModelFolderError, match="no readable stats.json"):
        card_data_from_folder(tmp_path)


def _colours(image) -> int:
    return len(image.convert("RGB").getcolors(maxcolors=1 << 20))


@pytest.mark.parametrize("n", [1, 3])
def test_preview_is_a_1200x628_png(tmp_path, n):
    from PIL import Image

    folder = make_bot_folder(tmp_path, n)
    finalize_bot(folder, PREDICTIONS)
    with Image.open(folder / "predictions.png") as im:
        assert im.format == "PNG" and im.size == (1200, 628)
        assert _colours(im) > 50  # avatars, text and emoji, not a blank canvas
    saved = json.loads((folder / "predictions.json").read_text())
    assert saved == {"prompt": "My dream is", "predictions": PREDICTIONS}


def test_preview_draws_posts_with_control_characters(tmp_path):
    # A sampled post can hold control characters; the layout engine fails on some of them.
    data = card_data_from_folder(make_bot_folder(tmp_path, 1))
    im = draw_preview(data, None, ["My dream is\x1c to sail\x1e away\r now", "bell \x7f rings"])
    assert im.size == (1200, 628)


def test_preview_uses_a_local_avatar(tmp_path):
    from PIL import Image

    folder = make_bot_folder(tmp_path, 1)
    avatar = tmp_path / "face.png"
    Image.new("RGB", (64, 64), (250, 10, 10)).save(avatar)
    data = card_data_from_folder(folder)
    data.accounts[0].avatar_path = str(avatar)
    im = draw_preview(data, None, ["My dream is x"])
    # The avatar's centre (56 + 66, 44 + 66) is the image's red, not the handle's colour.
    assert im.getpixel((122, 110)) == (250, 10, 10)
    data.accounts[0].avatar_path = None
    assert draw_preview(data, None, ["My dream is x"]).getpixel((122, 110)) != (250, 10, 10)


def test_preview_without_fonts_warns_and_still_draws(tmp_path, monkeypatch):
    folder = make_bot_folder(tmp_path, 1)
    data = card_data_from_folder(folder)
    monkeypatch.setattr(preview_mod, "_EMOJI_FONTS", [])
    monkeypatch.setattr(preview_mod, "_fc", lambda args: [])
    monkeypatch.delenv("HUGGINGTWEETS_EMOJI_FONT", raising=False)
    for f in (preview_mod.find_fonts, preview_mod._emoji_font):
        f.cache_clear()
    try:
        with pytest.warns(preview_mod.PreviewWarning, match="fonts-noto-color-emoji"):
            im = draw_preview(data, tmp_path / "p.png", ["My dream is 🤖 and more"])
        assert im.size == (1200, 628) and _colours(im) > 20
    finally:
        for f in (preview_mod.find_fonts, preview_mod._emoji_font):
            f.cache_clear()


def test_wrap_breaks_lines_and_ends_with_an_ellipsis():
    w = preview_mod.Writer(26, set())
    long = "word " * 200
    lines = preview_mod.wrap(w, [(long, False)], 500, 3)
    assert len(lines) == 3
    assert all(w.width(line) <= 500 for line in lines)
    assert lines[-1][-1].text == "…"
    one_word = preview_mod.wrap(w, [("x" * 300, False)], 400, 5)
    assert len(one_word) > 1 and all(w.width(line) <= 400 for line in one_word)
    assert [p for p, is_emoji in preview_mod.clusters("a👩‍💻b🇵🇹☕️c") if is_emoji] == ["👩‍💻", "🇵🇹", "☕️"]


def test_preview_command_redraws_from_chosen_posts(tmp_path, capsys):
    folder = make_bot_folder(tmp_path, 1)
    finalize_bot(folder, PREDICTIONS)
    before = (folder / "predictions.png").read_bytes()
    assert run_cli(["preview", str(folder), "--pick", "4,2"]) == 0
    assert (folder / "predictions.png").read_bytes() != before
    assert json.loads((folder / "predictions.json").read_text())["picked"] == [4, 2]
    assert card_data_from_folder(folder).predictions == [PREDICTIONS[3], PREDICTIONS[1]]

    generated = tmp_path / "posts.json"  # `huggingtweets generate --json` output
    generated.write_text(json.dumps([{"text": "Hello there 🌍", "prompt": "Hello", "copy": False, "tokens": 3},
                                     {"text": "Hello world", "prompt": "Hello", "copy": None, "tokens": 2}]))
    assert run_cli(["preview", str(folder), "--predictions", str(generated), "--pick", "2"]) == 0
    saved = json.loads((folder / "predictions.json").read_text())
    assert saved == {"prompt": "Hello", "predictions": ["Hello there 🌍", "Hello world"], "picked": [2]}

    capsys.readouterr()
    assert run_cli(["preview", str(folder), "--pick", "7"]) == 2
    assert capsys.readouterr().err == "Error: --pick 7: there are 2 posts, numbered 1 to 2\n"


def test_redraw_without_posts_says_what_to_pass(tmp_path):
    from huggingtweets.errors import UsageError

    folder = make_bot_folder(tmp_path, 1)
    with pytest.raises(UsageError, match="--predictions FILE"):
        redraw_preview(folder)


def test_card_data_is_plain(tmp_path):
    data = CardData(bot="x", accounts=[])
    assert data.label == "🤖 AI BOT 🤖" and data.model_ref == "x" and data.thumbnail_url is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_metadata({"tags": ["huggingtweets"], "widget": [{"text": "My dream is"}]}) == []


def test_the_cards_snippet_runs_on_a_real_model_folder(tmp_path, monkeypatch):
    """The card promises three lines of transformers code: run them, as written in the card, beside the
    folder (the card names the folder, never its absolute path)."""
    from tiny_model import save_tiny_model

    folder = make_bot_folder(tmp_path, 1, weights=False)
    monkeypatch.chdir(folder.parent)
    save_tiny_model(folder)
    finalize_bot(folder, PREDICTIONS[:2])
    card = (folder / "README.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    scope: dict = {}
    exec(snippet.replace("num_return_sequences=5", "num_return_sequences=2, max_new_tokens=5"), scope)
    out = scope["generator"]("My dream is", num_return_sequences=2, max_new_tokens=5)
    assert len(out) == 2 and all(o["generated_text"].startswith("My dream is") for o in out)


def _save_image(path: Path, size=(64, 64), colour=(250, 10, 10)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def _set_user(folder: Path, **values) -> None:
    """Change the first account of the folder's ``stats.json``."""
    stats = json.loads((folder / "stats.json").read_text())
    stats["users"][0].update(values)
    (folder / "stats.json").write_text(json.dumps(stats))


def test_card_links_the_accounts_own_avatar_copied_beside_it(tmp_path):
    from PIL import Image

    from huggingtweets import paths
    from huggingtweets.bot_folder import publishable_files
    from huggingtweets.card import write_card

    cached = _save_image(paths.cache_dir() / "avatars" / "x-waitforgot.png", (1000, 800))  # an archive import's
    folder = make_bot_folder(paths.bots_dir(), 2)
    _save_image(folder / "avatar-someone-else.jpg")  # of an account the bot no longer has: not published
    finalize_bot(folder, PREDICTIONS)
    card = (folder / "README.md").read_text()
    assert sorted(p.name for p in folder.glob("avatar-*")) == ["avatar-waitforgot.jpg"]

    # The image the preview draws, copied beside the card and linked by its name; the other account has none.
    assert '<img src="avatar-waitforgot.jpg" alt="@waitforgot"' in card
    assert "pbs.twimg.com" not in card and ">B</div>" in card and card.count("border-radius: 50%") == 2
    with Image.open(folder / "avatar-waitforgot.jpg") as im:
        assert im.format == "JPEG" and im.size == (400, 320) and not im.getexif()
        assert all(abs(a - b) < 8 for a, b in zip(im.getpixel((200, 160)), (250, 10, 10)))
    with Image.open(folder / "predictions.png") as im:  # the preview shows the same face (centre of its disc)
        assert all(abs(a - b) < 8 for a, b in zip(im.convert("RGB").getpixel((112, 110)), (250, 10, 10)))
    assert folder / "avatar-waitforgot.jpg" in publishable_files(folder)[0]
    # Before publishing, "How to use" names the folder, relative to the home.
    assert f"model={folder.name!r})" in card and f"(`bots/{folder.name}` in the huggingtweets home)" in card

    # The folder keeps its copy when the original is gone (the bot moved to another machine).
    cached.unlink()
    write_card(folder)
    assert '<img src="avatar-waitforgot.jpg"' in (folder / "README.md").read_text()
    assert card_data_from_folder(folder).accounts[0].avatar_path == str(folder / "avatar-waitforgot.jpg")


def test_only_real_images_are_copied_and_never_the_default_silhouette(tmp_path, monkeypatch):
    from huggingtweets import paths

    silhouette = "https://abs.twimg.com/sticky/default_profile_images/default_profile_400x400.png"
    folder = make_bot_folder(tmp_path, 1)
    _set_user(folder, avatar_url=silhouette,
              avatar_path=str(_save_image(tmp_path / "default_profile_400x400.png")))
    cache = paths.cache_dir() / "avatars"
    cache.mkdir(parents=True)
    (cache / "x-waitforgot.jpg").write_bytes(b"<html>not an image</html>")
    with pytest.warns(preview_mod.PreviewWarning, match="avatar x-waitforgot.jpg"):
        finalize_bot(folder, PREDICTIONS)
    card = (folder / "README.md").read_text()
    assert "default_profile" not in card and "<img" not in card and ">W</div>" in card  # the initial
    assert not list(folder.glob("avatar-*"))

    from huggingtweets.card import avatars

    (cache / "x-waitforgot.jpg").unlink()
    _save_image(cache / "x-waitforgot.png", (300, 300))
    monkeypatch.setattr(avatars, "MAX_SOURCE_BYTES", 100)  # too large a file is not taken either
    assert avatars.store_avatars(folder, card_data_from_folder(folder).accounts) == {}
    monkeypatch.setattr(avatars, "MAX_SOURCE_PIXELS", 300 * 299)
    monkeypatch.setattr(avatars, "MAX_SOURCE_BYTES", 10 << 20)
    assert avatars.store_avatars(folder, card_data_from_folder(folder).accounts) == {}

    assert avatars.avatar_file_name("Alice@Mastodon.Social") == "avatar-alice-mastodon.social.jpg"
    assert avatars.avatar_file_name("../../etc/x") == "avatar-etc-x.jpg"
    two = [preview_mod.Account(handle="a@b"), preview_mod.Account(handle="A-B")]
    assert avatars.avatar_file_names(two) == {"a@b": "avatar-a-b.jpg", "A-B": "avatar-a-b-2.jpg"}


def test_card_never_names_the_home_or_a_session_folder(tmp_path):
    """A web-app session's folder name is its login secret: the card names the bot's folder by its name."""
    import secrets

    from huggingtweets import paths

    session_id = secrets.token_urlsafe(32)  # as the web app names a visitor's folder
    session = paths.home() / "app" / "sessions" / session_id
    (session / "my-base").mkdir(parents=True)
    folder = make_bot_folder(session / "bots", 1, training_config={
        "base_model": {"name": str(session / "my-base"), "kind": "folder", "location": str(session / "my-base")}})
    _set_user(folder, avatar_path=str(_save_image(session / "uploads" / "face.png")))
    finalize_bot(folder, PREDICTIONS)
    card = (folder / "README.md").read_text()
    for private in (session_id, str(paths.home()), str(Path.home()), str(tmp_path), str(folder.resolve())):
        assert private not in card
    assert '<img src="avatar-waitforgot.jpg"' in card and f"model={folder.name!r})" in card
    assert "in the huggingtweets home" not in card  # not a bot of the home: its name alone
