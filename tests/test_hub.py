"""Publishing to the Hub, against a local Hub on 127.0.0.1 that speaks huggingface_hub's wire format."""

from __future__ import annotations

import json
import re

import pytest

from fake_hub import FakeHub
from test_card import PREDICTIONS, front_matter, make_bot_folder, run_cli

from huggingtweets.card import check_metadata, finalize_bot
from huggingtweets.errors import HubAuthError, HubError, InvalidRepoIdError, ModelFolderError
from huggingtweets.hub import check_repo_id, publish, repo_name, unpublish

TOKEN = "hf_fake_token_for_tests_0123456789"
EXPECTED = ["README.md", "config.json", "generation_config.json", "metrics.json", "model.safetensors",
            "predictions.png", "stats.json", "tokenizer.json", "tokenizer_config.json", "training_config.json"]


@pytest.fixture
def hub(monkeypatch):
    from huggingface_hub import constants

    with FakeHub(tokens={TOKEN: "jane"}, orgs={"jane": ["bots-org"]}) as fake:
        # The suite runs with HF_HUB_OFFLINE=1, which huggingface_hub reads once at import.
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield fake
        assert fake.unhandled == []


@pytest.fixture
def bot(tmp_path):
    folder = make_bot_folder(tmp_path, 3, extra_files=True)
    finalize_bot(folder, PREDICTIONS)
    return folder


def test_dry_run_lists_the_allowed_files_without_network(bot, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)  # no token needed, nothing is sent
    result = publish(bot, dry_run=True)
    assert result.repo_id == "USER/balcobops-liyrex_irl-waitforgot" and result.dry_run
    assert [f.path_in_repo for f in result.files] == EXPECTED
    assert set(result.skipped) == {"checkpoints/", "optimizer.pt", "rng_state.pt", "train.jsonl", "tracking.json",
                                   ".env", "predictions.json"}

    assert run_cli(["publish", str(bot), "--dry-run", "--repo-id", "jane/my-bot", "--private"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Would upload 10 files to jane/my-bot (private):"
    listed = re.findall(r"^  (\S+)  \(", out, re.M)
    assert listed == EXPECTED
    assert "Left out: .env, checkpoints/, optimizer.pt, predictions.json, rng_state.pt, tracking.json, train.jsonl" in out


def test_publish_uploads_one_commit_and_points_the_card_at_the_repo(bot, hub, capsys):
    result = publish(bot)
    assert result.repo_id == "jane/balcobops-liyrex_irl-waitforgot"
    repo = hub.repos[result.repo_id]
    assert len(repo.commits) == 1 and sorted(repo.files) == EXPECTED
    assert repo.files["model.safetensors"] == (bot / "model.safetensors").read_bytes()
    assert repo.files["predictions.png"][:8] == b"\x89PNG\r\n\x1a\n"

    card = repo.files["README.md"].decode()
    assert f"model='{result.repo_id}')" in card and str(bot) not in card
    assert front_matter(card)["thumbnail"] == f"{hub.url}/{result.repo_id}/resolve/main/predictions.png"
    # The local card now matches, and the folder remembers where it was published.
    assert (bot / "README.md").read_text() == card
    assert json.loads((bot / "hub.json").read_text())["repo_id"] == result.repo_id
    # Paths under the home folder do not leave the machine.
    assert "~/archive.zip" in repo.files["stats.json"].decode()
    assert str(bot.home()) not in repo.files["stats.json"].decode()
    # The token was sent as a header and is nowhere else: not in files, not in the request bodies.
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in hub.requests if r["path"] != "/api/validate-yaml")
    assert not any(TOKEN.encode() in r["body"] for r in hub.requests)
    assert not any(TOKEN in p.read_text(errors="ignore") for p in bot.rglob("*") if p.is_file())

    # Publishing again updates the same repository in a new commit.
    assert run_cli(["publish", str(bot), "--repo-id", "bots-org/cyborg"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Published 10 files to {hub.url}/bots-org/cyborg\n")
    assert TOKEN not in out
    assert len(hub.repos["bots-org/cyborg"].commits) == 1


def test_publish_uploads_the_avatar_and_points_the_thumbnail_at_the_repo(tmp_path, hub):
    from PIL import Image

    from huggingtweets import paths

    folder = make_bot_folder(tmp_path, 1)
    finalize_bot(folder, PREDICTIONS)
    assert front_matter((folder / "README.md").read_text())["thumbnail"] == "predictions.png"
    # Cached after training (a bot trained before avatars were copied): publishing copies it.
    (paths.cache_dir() / "avatars").mkdir(parents=True)
    Image.new("RGB", (64, 64), (250, 10, 10)).save(paths.cache_dir() / "avatars" / "x-waitforgot.png")
    assert "avatar-waitforgot.jpg" in [f.path_in_repo for f in publish(folder, dry_run=True).files]

    publish(folder, repo_id="jane/waitforgot")
    repo = hub.repos["jane/waitforgot"]
    assert repo.files["avatar-waitforgot.jpg"] == (folder / "avatar-waitforgot.jpg").read_bytes()
    card = repo.files["README.md"].decode()
    assert '<img src="avatar-waitforgot.jpg" alt="@waitforgot"' in card and "pbs.twimg.com" not in card
    assert front_matter(card)["thumbnail"] == f"{hub.url}/jane/waitforgot/resolve/main/predictions.png"
    assert check_metadata(front_matter(card)) == []
    assert "model='jane/waitforgot')" in card and "is the bot's folder" not in card

    unpublish("jane/waitforgot", folder=folder)  # back to a local card: the image beside it
    assert front_matter((folder / "README.md").read_text())["thumbnail"] == "predictions.png"


def test_unpublish_deletes_the_repo(bot, hub, capsys):
    publish(bot, repo_id="jane/to-delete")
    assert "jane/to-delete" in hub.repos
    assert run_cli(["unpublish", "jane/to-delete", "--yes"]) == 0
    assert "jane/to-delete" not in hub.repos
    assert capsys.readouterr().out == f"Deleted {hub.url}/jane/to-delete\n"

    assert run_cli(["unpublish", "jane/to-delete", "--yes"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: jane/to-delete: no such model repository on the Hub") and err.count("\n") == 1

    publish(bot, repo_id="jane/kept")
    unpublish("jane/kept", folder=bot)
    assert not (bot / "hub.json").exists()
    assert "model='jane/kept'" not in (bot / "README.md").read_text()


def test_unpublish_asks_first(bot, hub):
    from click.testing import CliRunner

    from huggingtweets.cli.main import cli

    publish(bot, repo_id="jane/asked")
    result = CliRunner().invoke(cli, ["unpublish", "jane/asked"], input="n\n")
    assert result.exit_code == 1 and "jane/asked" in hub.repos
    assert "cannot be undone" in result.output
    result = CliRunner().invoke(cli, ["unpublish", "jane/asked"], input="y\n")
    assert result.exit_code == 0 and "jane/asked" not in hub.repos


@pytest.mark.parametrize("args, code, message", [
    (["publish", "{empty}"], 1, "Error: {empty} is not a trained bot (missing config.json, model weights "
                                "(model.safetensors), stats.json); pass the folder that `huggingtweets train` wrote"),
    (["publish", "{bot}", "--repo-id", "just-a-name"], 2, "Error: invalid repo id 'just-a-name': it needs "
                                                          "exactly one '/' between namespace and name; write it as "
                                                          "NAMESPACE/NAME, for example --repo-id jane/jane-bot "
                                                          "(letters, digits, '-', '_', '.')"),
    (["publish", "{bot}", "--repo-id", "jane/bad name"], 2, None),
    (["unpublish", "a/b/c", "--yes"], 2, None),
    (["publish", "{bot}"], 1, "Error: no Hugging Face token found: run `hf auth login`, or set HF_TOKEN to a "
                              "token with write access (https://huggingface.co/settings/tokens)"),
])
def test_bad_input_is_one_line(bot, tmp_path, monkeypatch, capsys, args, code, message):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    # No saved login either (the path is fixed when huggingface_hub is first imported).
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf" / "token"))
    (tmp_path / "empty").mkdir()
    args = [a.format(bot=bot, empty=tmp_path / "empty") for a in args]
    assert run_cli(args) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err
    if message:
        assert err == message.format(empty=tmp_path / "empty") + "\n"


def test_hub_refusals_are_clear(bot, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrong_token_0000000000000000")
    with pytest.raises(HubAuthError, match="refused the token"):
        publish(bot)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(HubError, match="403 Forbidden.*--repo-id YOUR-NAME/x") as e:
        publish(bot, repo_id="someone-else/x")
    assert TOKEN not in str(e.value)


def test_offline_mode_is_named(bot, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set"):
        publish(bot)


def test_repo_ids():
    assert check_repo_id("jane/jane-bot") == "jane/jane-bot"
    for bad in ("jane", "jane/", "/x", "a/b/c", "jane/x--y", "jane/-x", "jane/x.git", "ja ne/x"):
        with pytest.raises(InvalidRepoIdError):
            check_repo_id(bad)
    assert repo_name("alice@mastodon.social-bob.bsky.social") == "alice-mastodon.social-bob.bsky.social"
    assert repo_name("--x..y--") == "x.y"


@pytest.mark.parametrize("good", ["jane/jane-bot", "Foo-BAR/foo.bar_123", "123/456", "x/a", "x/y.gitx",
                                  "bots-org/alice-mastodon.social", "x/" + "a" * 96, "a" * 96 + "/x"])
def test_good_repo_ids(good):
    assert check_repo_id(good) == good
    assert check_repo_id(f"jane/{repo_name(good)}")  # a name made from anything passes


@pytest.mark.parametrize("bad, why", [
    ("a//b", "exactly one '/'"),                  # our rule: NAMESPACE/NAME, one slash
    ("jane", "exactly one '/'"),
    ("a/b/c", "exactly one '/'"),
    ("-x/y", "cannot start or end with '-' or '.'"),
    ("x-/y", "cannot start or end"),
    ("x/y-", "cannot start or end"),
    ("x/.y", "cannot start or end"),
    ("x/y.", "cannot start or end"),
    ("x/y--z", "cannot have -- or .."),
    ("x/y..z", "cannot have -- or .."),
    ("x/y.git", "cannot end by '.git'"),
    ("x/" + "a" * 97, "maximum length is 96"),
    ("a" * 97 + "/x", "maximum length is 96"),
    ("jane/bad name", "alphanumeric"),
    ("x/café", "alphanumeric"),
    ("x/文件夹", "alphanumeric"),
    ("x/y\u00a0", "alphanumeric"),
    ("x/y\n", "alphanumeric"),
    ("jane/", "alphanumeric"),
    ("/x", "alphanumeric"),
])
def test_bad_repo_ids_are_one_line_that_says_what_to_do(bad, why):
    with pytest.raises(InvalidRepoIdError) as e:
        check_repo_id(bad)
    message = str(e.value)
    assert why in message
    assert message.startswith(f"invalid repo id {bad!r}: ") and "\n" not in message
    assert message.endswith("; write it as NAMESPACE/NAME, for example --repo-id jane/jane-bot "
                            "(letters, digits, '-', '_', '.')")
    assert message.count(repr(bad)) == 1  # the id once, not again from huggingface_hub's message


def test_a_repo_id_that_is_not_text_is_refused():
    with pytest.raises(InvalidRepoIdError, match="exactly one '/'"):
        check_repo_id(None)  # type: ignore[arg-type]


def test_folder_by_bot_name_and_missing_weights(tmp_path, monkeypatch):
    from huggingtweets import paths

    folder = make_bot_folder(paths.bots_dir(), 1, weights=False)
    with pytest.raises(ModelFolderError, match=r"missing model weights"):
        publish(folder.name, dry_run=True)
    (folder / "model.safetensors").write_bytes(b"w")
    assert publish(folder.name, dry_run=True).repo_id == "USER/waitforgot"


def test_metadata_refused_by_the_hub_is_one_clear_error(tmp_path, hub):
    base = tmp_path / "my-base"  # a local base model whose own card names a license the Hub does not know
    base.mkdir()
    (base / "README.md").write_text("---\nlicense: Not A License!\n---\n# base\n")
    folder = make_bot_folder(tmp_path, 1, training_config={
        "base_model": {"name": str(base), "kind": "folder", "location": str(base)}})
    finalize_bot(folder, PREDICTIONS)
    with pytest.raises(HubError, match=r"^the Hub refused the card's metadata: .*license"):
        publish(folder, repo_id="jane/bad-meta")
    assert hub.repos["jane/bad-meta"].commits == []  # nothing was committed


def test_a_web_app_bot_publishes_no_path_of_its_visitors_folder(hub):
    from huggingtweets.paths import app_sessions_dir

    session = app_sessions_dir() / ("f00d" * 16)  # a visitor's folder: its name identifies the visitor
    folder = make_bot_folder(session / "bots", 1)
    stats = json.loads((folder / "stats.json").read_text())
    stats["settings"]["sources"] = [f"file:{session}/uploads/posts.csv"]
    (folder / "stats.json").write_text(json.dumps(stats))
    config = json.loads((folder / "training_config.json").read_text())
    config["dataset"] = {"path": str(session / "datasets" / "a1b2"), "bot": "x"}
    (folder / "training_config.json").write_text(json.dumps(config))
    finalize_bot(folder, PREDICTIONS)
    repo = hub.repos[publish(folder, repo_id="jane/web-bot").repo_id]
    published = b"".join(repo.files[name] for name in ("stats.json", "training_config.json", "README.md"))
    assert b"f00d" * 16 not in published and str(session).encode() not in published
    assert json.loads(repo.files["stats.json"])["settings"]["sources"] == ["file:uploads/posts.csv"]
    assert json.loads(repo.files["training_config.json"])["dataset"]["path"] == "datasets/a1b2"
