"""``list``, ``info`` and ``delete``, and no silent overwrite in ``prepare``, ``train`` and ``run``.

Real components made small: posts from the ``mem:`` source plugin in a real store, dataset folders
written by ``prepare``, bots really trained for two steps from the tiny model (tests/tiny_model.py).
"""

from __future__ import annotations

import io
import json
import shutil
import sys

import pytest

import huggingtweets as ht
from huggingtweets import manage, paths, sources
from huggingtweets.bot_folder import bot_path
from huggingtweets.card.finalize import save_predictions
from huggingtweets.cli.data import format_table
from huggingtweets.errors import AmbiguousNameError, FolderExistsError, UsageError
from huggingtweets.pipeline import train_bot
from huggingtweets.sources.base import Post, Profile
from huggingtweets.store import Store
from huggingtweets.training import resolve_config

from cli_runner import run
from memory_source import ACCOUNTS, MemorySource, make_account
from tiny_model import make_dataset, tiny_model

MARKER = "quokkaphone"
"""A word only jane's posts hold: after deleting her account the store file must not hold it."""


class OtherMemorySource(MemorySource):
    """The same accounts on a second network, to make a handle ambiguous."""

    scheme = "mem2"
    network = "mem2"


@pytest.fixture(autouse=True)
def mem_scheme(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    monkeypatch.setitem(sources.REGISTRY, "mem2", "test_manage:OtherMemorySource")
    ACCOUNTS.clear()


def tiny_cfg(**over):
    return resolve_config("default", {"base_model": str(tiny_model()), "max_steps": 2, "batch_size": 2,
                                      "checkpoint_minutes": 0, **over})


def make_jane(n: int = 120) -> None:
    posts = [Post(id=str(5000 + i), text=f"the {MARKER} rings at dawn over the harbour wall number {i} again",
                  created_at=f"2024-02-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z") for i in range(n)]
    ACCOUNTS["jane"] = (Profile(handle="jane", name="Jane", account_id="id-jane"), posts)


def quick_bot(ds, output=None, **kw):
    return train_bot(ds, output, tiny_cfg(), tracker="none", card=False, eval_posts=kw.pop("eval_posts", None),
                     **kw)


def tty(monkeypatch, answers: str) -> None:
    """Make stdin an interactive terminal that answers ``answers``."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(answers))


# -- 2. no silent overwrite -------------------------------------------------------------------------------


def test_prepare_keeps_a_taken_default_folder_and_says_which_it_writes(capsys):
    make_account("jane", 500)
    first = paths.datasets_dir() / "jane"
    code, _, err = run(capsys, "prepare", "mem:jane", "-q")
    assert code == 0 and "exists" not in err
    before = (first / "stats.json").read_bytes()
    # The same posts again: nothing would be replaced, so the dataset already there is reused.
    code, out, err = run(capsys, "prepare", "mem:jane", "-q")
    assert code == 0 and err == "" and out.endswith(f"Already in {first} (the same posts, nothing written)\n")
    assert not (paths.datasets_dir() / "jane-2").exists()
    make_account("jane", 550)  # more posts: another dataset
    code, out, err = run(capsys, "prepare", "mem:jane", "-q")
    assert code == 0
    assert err == f"{first} exists: writing {first}-2 (pass --overwrite to replace it)\n"
    assert out.endswith(f"Written to {first}-2\n")
    assert (first / "stats.json").read_bytes() == before, "the first dataset is kept as it was"
    code, out, err = run(capsys, "prepare", "mem:jane", "-q", "--overwrite")
    assert code == 0 and err == "" and out.endswith(f"Written to {first}\n")
    assert not (paths.datasets_dir() / "jane-3").exists()

    make_account("jane", 600)
    ds = ht.prepare(["mem:jane"])
    assert ds.path == paths.datasets_dir() / "jane-3" and ds.instead_of == first


def test_prepare_refuses_an_explicit_folder_that_holds_a_dataset(capsys, tmp_path):
    make_account("jane", 400)
    out_dir = tmp_path / "d"
    assert run(capsys, "prepare", "mem:jane", "-q", "-o", out_dir)[0] == 0
    code, _, err = run(capsys, "prepare", "mem:jane", "-q", "-o", out_dir)
    assert code == 2
    assert err == (f"Error: {out_dir} already holds a dataset: pass --overwrite to replace it, or another folder "
                   f"with -o\n")
    assert run(capsys, "prepare", "mem:jane", "-q", "-o", out_dir, "--overwrite")[0] == 0
    with pytest.raises(FolderExistsError):
        ht.prepare(["mem:jane"], out_dir)

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run(capsys, "prepare", "mem:jane", "-q", "-o", mine, "--overwrite")
    assert code == 2 and err == (f"Error: {mine} exists and is not a dataset folder written by huggingtweets; "
                                 f"pass a new or empty folder with -o\n")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_train_keeps_a_taken_default_bot_and_refuses_an_explicit_one(tmp_path):
    ds = ht.Dataset.open(make_dataset(tmp_path / "ds"))
    first = quick_bot(ds)
    default = paths.bots_dir() / "tiny_poster"
    assert first.output == default and first.instead_of is None
    (default / "predictions.json").write_text('{"predictions": ["mine"], "picked": [1]}')

    records = []
    second = quick_bot(ds, on_progress=records.append)
    assert second.output == paths.bots_dir() / "tiny_poster-2" and second.instead_of == default
    assert {"stage": "output", "output": second.output, "instead_of": default} in records
    assert json.loads((default / "predictions.json").read_text())["picked"] == [1], "the chosen preview stays"

    with pytest.raises(FolderExistsError, match=f"^{default} already holds a trained bot: pass --overwrite to "
                                                f"replace it, or another folder with -o$"):
        quick_bot(ds, default)
    again = quick_bot(ds, default, overwrite=True)
    assert again.output == default and not (default / "predictions.json").exists()
    assert not (paths.bots_dir() / "tiny_poster-3").exists()


def test_resume_never_replaces_a_preview_chosen_by_hand(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    out = tmp_path / "bot"
    train_bot(ds, out, tiny_cfg(keep_checkpoints=True, checkpoint_steps=1), tracker="none", card=False,
              eval_posts=None)
    assert (out / "checkpoints").is_dir()
    save_predictions(out, ["one post", "another post"], picked=[2])
    with pytest.raises(UsageError, match="its preview was chosen by hand"):
        train_bot(ds, out, tiny_cfg(keep_checkpoints=True, checkpoint_steps=1), resume=True, tracker="none",
                  card=False)
    with pytest.raises(UsageError, match="^--resume continues a run and --overwrite starts it over"):
        train_bot(ds, out, tiny_cfg(), resume=True, overwrite=True, tracker="none", card=False)
    assert json.loads((out / "predictions.json").read_text())["picked"] == [2]


def test_train_cli_says_which_folder_it_writes_and_refuses_an_explicit_bot(capsys, tmp_path):
    ds = make_dataset(tmp_path / "ds")
    args = ["train", ds, "--base-model", tiny_model(), "--max-steps", "1", "--batch-size", "2", "-q",
            "--tracker", "none", "--no-card", "--eval-posts", "0"]
    default = paths.bots_dir() / "tiny_poster"
    assert run(capsys, *args)[0] == 0
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert f"{default} exists: writing {default}-2 (pass --overwrite to replace it)\n" in err
    assert f"-> {default}-2\n" in out
    code, _, err = run(capsys, *args, "-o", default)
    assert code == 2 and err == (f"Error: {default} already holds a trained bot: pass --overwrite to replace "
                                 f"it, or another folder with -o\n")
    code, out, _ = run(capsys, *args, "-o", default, "--overwrite")
    assert code == 0 and f"-> {default}\n" in out


# -- 1. list, info, delete -----------------------------------------------------------------------------------


def test_list_says_none_yet_and_creates_no_store(capsys):
    code, out, err = run(capsys, "list")
    assert code == 0 and err == ""
    assert out == ("Bots: none yet (make one with `huggingtweets run SOURCE`)\n\n"
                   "Datasets: none yet (make one with `huggingtweets prepare SOURCE`)\n\n"
                   "Stored accounts: none yet (fetch posts with `huggingtweets fetch SOURCE`)\n")
    assert not paths.store_path().exists()
    code, out, _ = run(capsys, "list", "--json")
    assert json.loads(out) == {"bots": [], "datasets": [], "accounts": []}


def test_list_shows_bots_datasets_accounts_and_web_app_bots_with_sizes(capsys):
    make_jane()
    ds = ht.prepare(["mem:jane"], min_chars=0)
    bot = quick_bot(ds)
    webapp = paths.app_sessions_dir() / ("s" * 43) / "bots" / "webby"
    shutil.copytree(bot.output, webapp)

    code, out, _ = run(capsys, "list", "--json")
    data = json.loads(out)
    assert [(b["name"], b["web_app"], b["trained"], b["accounts"]) for b in data["bots"]] == \
        [("jane", False, True, ["jane"]), ("webby", True, True, ["jane"])]
    assert data["bots"][0]["bytes"] == paths.folder_bytes(bot.output) > 10_000
    assert [(d["name"], d["accounts"]) for d in data["datasets"]] == [("jane", ["jane"])]
    [acc] = data["accounts"]
    assert (acc["spec"], acc["posts"]) == ("mem:jane", 120) and acc["bytes"] > 120 * 40

    code, out, _ = run(capsys, "list", "accounts")
    assert out == f"Stored accounts (1, {manage.human_size(acc['bytes'])}):\n  mem:jane  120 posts  " \
                  f"{manage.human_size(acc['bytes'])}\n"
    code, out, _ = run(capsys, "list", "bots")
    size = manage.human_size(data["bots"][0]["bytes"])
    assert out.splitlines()[1] == f"  jane   @jane  {size}  {bot.output}"
    assert out.splitlines()[2] == f"  webby  @jane  {size}  {webapp}  (web app)"
    assert [b.name for b in ht.list_bots()] == ["jane", "webby"] and ht.list_datasets()[0].train_rows > 0


def test_a_web_app_bot_is_reachable_by_name_and_an_ambiguous_name_lists_the_folders(capsys, tmp_path):
    bot = quick_bot(make_dataset(tmp_path / "ds"), tmp_path / "bot")
    a = paths.app_sessions_dir() / ("a" * 43) / "bots" / "webby"
    shutil.copytree(bot.output, a)
    assert bot_path("webby") == a
    code, out, _ = run(capsys, "info", "webby")
    assert code == 0 and f"Folder:     {a} (made in the web app), " in out
    code, out, _ = run(capsys, "generate", "webby", "my cat", "-n", "1", "--max-new-tokens", "3", "--json")
    assert code == 0 and json.loads(out)[0]["text"].startswith("my cat")

    b = paths.app_sessions_dir() / ("b" * 43) / "bots" / "webby"
    shutil.copytree(bot.output, b)
    code, _, err = run(capsys, "info", "webby")
    assert code == 2 and err == f"Error: 'webby' names 2 web-app bots: pass one of {a}, {b}\n"
    with pytest.raises(AmbiguousNameError):
        ht.bot_info("webby")
    shutil.copytree(bot.output, paths.bots_dir() / "webby")
    assert bot_path("webby") == paths.bots_dir() / "webby", "a bot under bots/ is the one its name means"


def test_info_shows_data_settings_metrics_versions_and_where_it_is_published(capsys):
    make_jane()
    ds = ht.prepare(["mem:jane"], min_chars=0)
    bot = quick_bot(ds, eval_posts=0)
    metrics = json.loads((bot.output / "metrics.json").read_text())
    code, out, _ = run(capsys, "info", "jane")
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == ["Bot:        jane", f"Folder:     {bot.output}, {manage.human_size(paths.folder_bytes(bot.output))}",
                         "Sources:    mem:jane"]
    assert format_table(ds.stats.users) in out
    assert f"Settings:   recipe default: {tiny_model()} " in out and ", seed 42, max 2 steps\n" in out
    assert f"Dataset:    {ds.path}" in lines
    assert f"Metrics:    validation {metrics['eval_bits_per_char']:.4f} bits/char (loss {metrics['eval_loss']:.4f}), " \
           f"2 steps, " in out
    assert f"Evaluation: validation {metrics['evaluation']['validation']['bits_per_char']:.4f} bits/char" in out
    assert "Versions:   huggingtweets 0.1.0, torch " in out
    assert lines[-1] == "Published:  not published (`huggingtweets publish jane`)"

    (bot.output / "hub.json").write_text(json.dumps({"repo_id": "me/jane-bot"}))
    code, out, _ = run(capsys, "info", "jane", "--json")
    data = json.loads(out)
    assert data["bits_per_char"] == metrics["eval_bits_per_char"] and data["recipe"] == "default"
    assert data["hub_url"] == "https://huggingface.co/me/jane-bot" and data["sources"] == ["mem:jane"]
    assert [c["label"] for c in data["counts"]][-1] == "Tweets kept" and data["accounts"][0]["kept"] == 120
    assert data["versions"]["huggingtweets"] == ht.__version__ and data["bytes"] > 0
    assert ht.bot_info("jane").hub_repo == "me/jane-bot"


def _offline_run(root, name):
    run_dir = root / "wandb" / f"offline-run-{name}"
    (run_dir / "files").mkdir(parents=True)
    (run_dir / "run.wandb").write_bytes(b"x" * 100)
    return run_dir


def test_delete_bot_asks_and_removes_its_own_offline_runs_only(capsys, monkeypatch, tmp_path):
    ds = make_dataset(paths.datasets_dir() / "tiny_poster")
    bot = quick_bot(ds).output
    own, shared = _offline_run(paths.home(), "own"), _offline_run(paths.home(), "shared")
    outside = _offline_run(tmp_path, "outside")
    runs = {k: {"id": k, "url": None, "dir": str(d)} for k, d in
            (("train", own), ("preprocess", shared), ("other", outside))}
    (bot / "tracking.json").write_text(json.dumps({"mode": "offline", "runs": runs}))
    (ds / "tracking.json").write_text(json.dumps({"mode": "offline", "runs": {"preprocess": runs["preprocess"]}}))

    code, _, err = run(capsys, "delete", "bot", "tiny_poster")
    assert code == 2 and err == ("Error: nothing deleted: the input is not a terminal, so the deletion cannot be "
                                 "confirmed; pass --yes to delete without asking\n")
    tty(monkeypatch, "n\n")
    code, _, err = run(capsys, "delete", "bot", "tiny_poster")
    assert code == 1 and err.endswith("Delete? [y/N] Nothing was deleted.\n") and bot.is_dir()
    assert f"  bot tiny_poster ({manage.human_size(paths.folder_bytes(bot))}, {bot})\n" in err
    assert f"  W&B offline run offline-run-own (100 B, {own})\n" in err

    tty(monkeypatch, "y\n")
    code, out, _ = run(capsys, "delete", "bot", "tiny_poster")
    assert code == 0 and out.startswith("Deleted bot tiny_poster (") and "\nFreed about " in out
    assert not bot.exists() and not own.exists()
    assert shared.is_dir(), "the dataset that stays records it"
    assert outside.is_dir(), "never outside $HUGGINGTWEETS_HOME unless named"
    assert ds.is_dir()


def test_delete_refuses_folders_that_are_not_bots_or_datasets(capsys, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = run(capsys, "delete", "bot", mine, "--yes")
    assert code == 2 and err == (f"Error: {mine} is not a bot folder (no config.json, model weights and "
                                 f"stats.json, and no checkpoints), so it is not deleted; delete it yourself if "
                                 f"you are sure\n")
    bot = quick_bot(make_dataset(tmp_path / "ds"), tmp_path / "bot").output
    code, _, err = run(capsys, "delete", "dataset", bot, "--yes")
    assert code == 2 and f"Error: {bot} is not a dataset folder (" in err
    code, _, err = run(capsys, "delete", "dataset", "nobody", "--yes")
    assert code == 1 and err == "Error: nobody: no such dataset; run `huggingtweets list datasets` to see them\n"
    assert (mine / "notes.txt").is_file() and bot.is_dir()

    deleted = ht.delete_dataset(tmp_path / "ds")
    assert [t.kind for t in deleted] == ["dataset"] and not (tmp_path / "ds").exists()


def test_delete_account_removes_its_posts_and_offers_what_was_built_from_them(capsys, monkeypatch):
    make_jane()
    make_account("bob", 400)
    jane_ds = ht.prepare(["mem:jane"], min_chars=0)
    bob_ds = ht.prepare(["mem:bob"])
    jane_bot = quick_bot(jane_ds).output
    cyborg = ht.prepare(["mem:jane", "mem:bob"], min_chars=0)

    tty(monkeypatch, "y\nn\n")
    code, out, err = run(capsys, "delete", "account", "mem:jane")
    assert code == 0, err
    assert "  account mem:jane (120 posts, " in err and "Made from these posts:\n" in err
    assert "  bot jane (" in err and f"  dataset {cyborg.path.name} (" in err
    assert out.startswith("Deleted account mem:jane (120 posts, ")
    assert jane_bot.is_dir() and jane_ds.path.is_dir() and cyborg.path.is_dir(), "the offer was declined"
    with Store() as store:
        assert store.count("mem", "id-jane") == 0 and store.profile("mem", "id-jane") is None
        assert store.fetch_state("mem", "id-jane") == {} and store.count("mem", "id-bob") == 400
    stored = b"".join(p.read_bytes() for p in paths.home().glob("posts.sqlite*"))
    assert MARKER.encode() not in stored, "the raw records are gone from the file"

    ht.fetch(["mem:jane"])
    avatars = paths.cache_dir() / "avatars"  # where an export leaves the account's picture
    avatars.mkdir(parents=True, exist_ok=True)
    (avatars / "mem-jane.jpg").write_bytes(b"\xff\xd8\xff")
    (avatars / "mem-bob.jpg").write_bytes(b"\xff\xd8\xff")
    deleted = ht.delete_account("jane", built=True)
    assert not (avatars / "mem-jane.jpg").exists() and (avatars / "mem-bob.jpg").exists()
    assert sorted((t.kind, t.name) for t in deleted) == [
        ("account", "jane"), ("bot", "jane"), ("dataset", "bob-jane"), ("dataset", "jane")]
    assert not jane_bot.exists() and not cyborg.path.exists() and bob_ds.path.is_dir()


def test_delete_account_with_yes_deletes_what_was_built_unless_kept(capsys):
    code, _, err = run(capsys, "delete", "account", "mem:jane", "--yes")
    assert code == 2 and "no stored account matches 'mem:jane'" in err and not paths.store_path().exists()
    make_jane()
    ds = ht.prepare(["mem:jane"], min_chars=0)
    ht.fetch(["mem2:jane"])
    code, _, err = run(capsys, "delete", "account", "jane", "--yes")
    assert code == 2 and err == "Error: 'jane' names 2 stored accounts: pass one of mem:jane, mem2:jane\n"
    code, _, err = run(capsys, "delete", "account", "x:nobody", "--yes")
    assert code == 2 and err.startswith("Error: no stored account matches 'x:nobody': write it as NETWORK:HANDLE")

    code, out, _ = run(capsys, "delete", "account", "mem2:jane", "--yes", "--keep-built")
    assert code == 0 and ds.path.is_dir()
    code, out, _ = run(capsys, "delete", "account", "mem:jane", "--yes", "--json")
    data = json.loads(out)
    assert [(t["kind"], t["name"]) for t in data["deleted"]] == [("account", "jane"), ("dataset", "jane")]
    assert data["bytes"] == sum(t["bytes"] for t in data["deleted"]) and not ds.path.exists()
    assert [a.spec for a in ht.list_accounts()] == []


def test_the_api_is_exported_lazily():
    for name in ("list_bots", "list_datasets", "list_accounts", "bot_info", "delete_bot", "delete_dataset",
                 "delete_account"):
        assert name in ht.__all__ and getattr(ht, name) is getattr(manage, name)
