import json
import subprocess
import sys

import pytest

from huggingtweets import sources
from huggingtweets.cli.main import main

from memory_source import ACCOUNTS, make_account


@pytest.fixture(autouse=True)
def mem_scheme(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    ACCOUNTS.clear()


def run(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


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
