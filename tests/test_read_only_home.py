"""A home that cannot be written still prepares the posts already stored (issue 17: "on a read-only home
even posts already stored cannot be prepared").

The store opens for reading (``Store.read_only``), ``prepare`` uses what is stored with one warning,
``fetch`` and writes into the home end in one line with the fix, and the store's file is not changed.
One test mounts a real read-only tmpfs (skipped where mounting is not allowed); the other simulates
the read-only folder, since tests run as root and permissions do not stop root.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import memory_source
from cli_runner import run
from huggingtweets import paths, sources
from huggingtweets.store import Store

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample-archive.zip"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_only_home(monkeypatch) -> Path:
    """Make every write under the home fail as on a read-only file system; return the home."""
    home = paths.home().resolve()
    real_mkdir, real_access = Path.mkdir, os.access

    def mkdir(self, *a, **k):
        if Path(self).resolve().is_relative_to(home):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *a, **k)

    def access(path, mode, *a, **k):
        if mode & os.W_OK and Path(path).resolve().is_relative_to(home):
            return False
        return real_access(path, mode, *a, **k)

    monkeypatch.setattr("pathlib.Path.mkdir", mkdir)
    monkeypatch.setattr("os.access", access)
    return home


def test_simulated_read_only_home_prepares_stored_posts(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    memory_source.make_account("keeper", 60, words_per_post=30)
    assert run(capsys, "fetch", "mem:keeper", "-q")[0] == 0
    before = _sha(paths.store_path())
    _read_only_home(monkeypatch)

    code, out, err = run(capsys, "prepare", "mem:keeper", "-o", tmp_path / "ds", "--min-chars", "1")
    assert code == 0, err
    assert "cannot be written (read-only): using the 60 posts of @keeper already stored" in err
    assert (tmp_path / "ds" / "train.jsonl").stat().st_size > 0

    code, out, err = run(capsys, "prepare", "mem:keeper", "--min-chars", "1")
    assert code == 1 and "Traceback" not in err
    assert "pass --output FOLDER to write it elsewhere" in err.splitlines()[-1]

    code, out, err = run(capsys, "fetch", "mem:keeper")
    assert code == 1 and err.startswith("Error: cannot write the post store") and "(read-only)" in err
    assert "Traceback" not in err

    memory_source.make_account("stranger", 20)
    code, out, err = run(capsys, "prepare", "mem:stranger", "-o", tmp_path / "ds2")
    assert code == 1 and "holds no posts of @stranger" in err and "HUGGINGTWEETS_HOME" in err
    assert _sha(paths.store_path()) == before
    with Store() as store:
        assert store.read_only and [a[-1] for a in store.accounts()] == [60]


def test_store_opened_read_only_refuses_writes(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    memory_source.make_account("keeper", 10)
    from huggingtweets import api
    from huggingtweets.errors import StoreWriteError

    api.fetch(["mem:keeper"])
    _read_only_home(monkeypatch)
    with Store() as store:
        assert store.read_only
        (network, account, *_), = store.accounts()
        with pytest.raises(StoreWriteError, match="cannot be written"):
            store.delete_account(network, account)
        assert store.count(network, account) == 10


def _mount(point: Path, size: str):
    """A real tmpfs of ``size`` at ``point``; skipped where mounting is not allowed."""
    point.mkdir()
    if not shutil.which("mount") or os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs is not allowed here")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture
def read_only_mount(tmp_path):
    """A real tmpfs, remounted read-only by the test."""
    yield from _mount(tmp_path / "mnt", "32m")


def test_a_full_file_system_at_the_stores_creation_is_one_line(tmp_path, monkeypatch, capsys):
    """A home on a file system with 12 KiB free: SQLite cannot even create the store."""
    for point in _mount(tmp_path / "full", "12k"):
        monkeypatch.setenv("HUGGINGTWEETS_HOME", str(point / "home"))
        code, out, err = run(capsys, "fetch", f"archive:{SAMPLE}", "-q")
        assert code == 1 and err.startswith("Error: ") and err.count("\n") == 1, err
        assert "free space" in err and "Traceback" not in err


def test_real_read_only_file_system(read_only_mount, monkeypatch, capsys, tmp_path):
    home = read_only_mount / "home"
    monkeypatch.setenv("HUGGINGTWEETS_HOME", str(home))
    assert run(capsys, "fetch", f"archive:{SAMPLE}", "-q")[0] == 0
    before = _sha(home / "posts.sqlite")
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    with pytest.raises(OSError):
        (home / "probe").write_text("x")

    code, out, err = run(capsys, "prepare", f"archive:{SAMPLE}", "-o", tmp_path / "ds")
    assert code == 0, err
    assert "already stored" in err and "Tweets kept" in out
    code, out, err = run(capsys, "fetch", f"archive:{SAMPLE}")
    assert code == 1 and "(read-only)" in err and "Traceback" not in err
    assert _sha(home / "posts.sqlite") == before
