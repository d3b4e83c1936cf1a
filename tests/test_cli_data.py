import json
import subprocess
import sys

import pytest

from huggingtweets import sources
from huggingtweets.cli.main import main

from memory_source import ACCOUNTS, make_account
from cli_runner import run


@pytest.fixture(autouse=True)
def mem_scheme(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    ACCOUNTS.clear()



def test_fetch_prints_new_counts(capsys):
    make_account("jane", 30)
    code, out, err = run(capsys, "fetch", "mem:jane", "-q")
    assert code == 0 and out == "@jane (mem): 30 new, 30 stored\n"
    code, out, _ = run(capsys, "fetch", "mem:jane", "-q")
    assert out == "@jane (mem): 0 new, 30 stored\n"


def test_prepare_prints_the_seed_table(capsys, tmp_path):
    make_account("jane", 400)
    make_account("bob", 300)
    code, out, err = run(capsys, "prepare", "mem:jane", "mem:bob", "-o", str(tmp_path / "d"), "-q")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["Data", "@jane", "@bob"]
    assert lines[2].split()[-2:] == ["400", "300"] and lines[2].startswith("Tweets downloaded")
    assert [l.split("  ")[0] for l in lines[2:6]] == ["Tweets downloaded", "Retweets", "Short tweets", "Tweets kept"]
    assert "Dataset bob-jane:" in out and f"Written to {tmp_path / 'd'}" in out
    stats = json.loads((tmp_path / "d" / "stats.json").read_text())
    assert [u["handle"] for u in stats["users"]] == ["jane", "bob"]
    assert "Warning: @bob" in err  # under 40,000 characters


@pytest.mark.parametrize("args, code, message", [
    (["prepare", "ftp:x"], 2, "Error: unknown source 'ftp:x': write it as SCHEME:VALUE with one of"),
    (["prepare", "mem:nobody"], 1, "Error: mem:nobody: no such file or folder; check the path"),
    (["prepare", "mem:tiny"], 1, "Error: @tiny: only "),
    (["prepare", "mem:tiny", "--min-chars", "-5"], 2, "Invalid value for '--min-chars'"),
])
def test_bad_input_is_one_line(capsys, args, code, message):
    make_account("tiny", 10)
    got, out, err = run(capsys, *args)
    assert got == code
    assert message in err
    assert "Traceback" not in err
    if got == 1 or "unknown source" in err:
        assert len(err.strip().splitlines()) == 1


def test_debug_variable_shows_traceback(monkeypatch):
    monkeypatch.setenv("HUGGINGTWEETS_DEBUG", "1")
    from huggingtweets.errors import UnknownSchemeError
    with pytest.raises(UnknownSchemeError):
        main(["prepare", "ftp:x"])


def test_help_and_module_entry_point_do_not_import_torch():
    code = ("import sys; from huggingtweets.cli.main import cli; "
            "import click.testing as t; r = t.CliRunner().invoke(cli, ['prepare', '--help']); "
            "assert r.exit_code == 0, r.output; "
            "assert not any(m in sys.modules for m in ('torch', 'transformers')), 'heavy import'")
    subprocess.run([sys.executable, "-c", code], check=True)
    r = subprocess.run([sys.executable, "-m", "huggingtweets", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "prepare" in r.stdout


def _store_digest():
    import hashlib
    import sqlite3

    from huggingtweets import paths
    db = sqlite3.connect(paths.store_path())
    rows = db.execute("SELECT network, account, id, text, kind, raw FROM posts ORDER BY 1, 2, 3").fetchall()
    rows += db.execute("SELECT network, account, handle, name, profile FROM accounts ORDER BY 1, 2").fetchall()
    rows += db.execute("SELECT * FROM fetch_state ORDER BY 1, 2, 3").fetchall()
    db.close()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def test_bad_input_leaves_the_store_as_it_was(capsys, tmp_path, monkeypatch):
    import zipfile

    code, _, err = run(capsys, "fetch", "archive:examples/sample-archive.zip", "-q")
    assert code == 0, err
    before = _store_digest()
    assert before[0] > 400 + 1

    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("data/like.js", "window.YTD.like.part0 = []")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("data/account.js", 'window.YTD.account.part0 = [{"account": {"username": "tollan_keeper", "accountId": "1102938475610293847", "accountDisplayName": "Changed"}}]')
        z.writestr("data/tweets.js", "window.YTD.tweets.part0 = [ {oops")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/account.js", 'window.YTD.account.part0 = [{"account": {"username": "tollan_keeper", "accountId": "1102938475610293847", "accountDisplayName": "Changed"}}]')
        z.writestr("data/tweets.js", "window.YTD.tweets.part0 = [" + " " * 3_000_000 + "]")
    nocol = tmp_path / "posts.csv"
    nocol.write_text("id,date\n1,2024-01-01\n")
    monkeypatch.setenv("HUGGINGTWEETS_MAX_UNZIP_BYTES", "1000000")
    cases = [(f"archive:{tmp_path / 'missing.zip'}", "missing.zip: no such file"),
             (f"archive:{corrupt}", "corrupt.zip"), (f"archive:{empty}", "empty.zip"),
             (f"archive:{broken}", "tweets.js"), (f"archive:{bomb}", "limit"),
             (f"file:{nocol}", "--text-column"), ("nope:x", "unknown source")]
    for spec, expected in cases:
        extra = ["--handle", "someone"] if spec.startswith("file:") else []
        code, out, err = run(capsys, "prepare", spec, *extra, "-o", str(tmp_path / "ds"), "-q")
        assert code != 0, spec
        assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert expected in err, (spec, err)
        assert _store_digest() == before, spec
    assert not (tmp_path / "ds").exists()
