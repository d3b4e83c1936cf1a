"""The store's faults end in one typed line and leave the store as it was (issue 17, point 2).

Real components: a real SQLite file, a full disk simulated by SQLite's own ``PRAGMA max_page_count``
on the store's connection, a real second process holding the write lock.
"""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap

import pytest

import memory_source
from cli_runner import run
from huggingtweets import api, paths, sources
from huggingtweets.cli.main import os_error_message
from huggingtweets.errors import HomeWarning, StoreBusyError, StoreFullError, StoreWriteError
from huggingtweets.sources import _archive_base
from huggingtweets.store import Store


@pytest.fixture(autouse=True)
def _mem(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    memory_source.make_account("keeper", 30, words_per_post=400)  # ~2.5 kB per post, pages of 7


def _snapshot(store: Store) -> tuple:
    return (store.accounts(), store.db.execute("SELECT COUNT(*) FROM fetch_state").fetchone()[0])


def test_disk_full_rolls_back_and_names_the_store():
    memory_source.make_account("first", 3)
    with Store() as store:
        api.fetch(["mem:first"], store=store)
        before = _snapshot(store)
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        # A full disk as SQLite sees one: the file may not grow past a few more pages (4 kB each),
        # less than the first page of @keeper (7 posts of ~2.5 kB).
        store.db.execute(f"PRAGMA max_page_count={pages + 2}")
        with pytest.raises(StoreFullError) as err:
            api.fetch(["mem:keeper"], store=store)
        assert _snapshot(store) == before  # no account row without posts, no fetch state
        assert not [a for a in store.accounts() if a[2] == "keeper"]
    msg = str(err.value)
    path = paths.store_path()
    assert msg.startswith(f"no space left to write the post store {path}: the last page was not saved, the ")
    assert "already stored is kept; free at least 1.0 MB on the disk of" in msg
    assert f"or set HUGGINGTWEETS_HOME to a folder on a disk with more room (move {path.parent} there" in msg
    assert "\n" not in msg


def test_disk_error_is_a_typed_write_error(monkeypatch):
    """An I/O error from the disk (EIO) during a page rolls it back and names the store."""
    memory_source.make_account("first", 3)
    with Store() as store:
        original = store._upsert_profile

        def failing(db, *a):
            original(db, *a)  # the profile row is written, then the disk fails within the page
            raise OSError(errno.EIO, "Input/output error")

        monkeypatch.setattr(store, "_upsert_profile", failing)
        with pytest.raises(StoreWriteError, match="cannot write the post store .*: Input/output error; the "
                                                  "last page was not saved"):
            api.fetch(["mem:first"], store=store)
        assert store.accounts() == []


LOCKER = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.read()  # hold the write lock until the test closes our stdin
""")


@pytest.fixture
def locked_store():
    with Store():
        pass  # the file and schema exist, as for any user who fetched before
    path = paths.store_path()
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    yield path, proc
    if not proc.stdin.closed:
        proc.stdin.close()
    proc.wait(timeout=10)


def test_locked_store_waits_with_countdown_then_says_who(locked_store, monkeypatch):
    locked_store, _ = locked_store
    monkeypatch.setenv("HUGGINGTWEETS_STORE_WAIT", "2")
    seen: list[float] = []
    with Store(on_wait=seen.append) as store:
        with pytest.raises(StoreBusyError) as err:
            api.fetch(["mem:keeper"], store=store)
        assert store.accounts() == []
    assert seen and seen[-1] == 0.0 and all(s > 0 for s in seen[:-1])
    assert str(err.value) == (
        f"another huggingtweets process is using the post store {locked_store} (waited 2 s): find it with "
        f"`fuser {locked_store}` or `lsof {locked_store}`, and try again when it ends "
        f"(HUGGINGTWEETS_STORE_WAIT=SECONDS waits longer)")


def test_locked_store_cli_prepare_one_line(locked_store, monkeypatch, capsys, tmp_path):
    locked_store, _ = locked_store
    monkeypatch.setenv("HUGGINGTWEETS_STORE_WAIT", "1.5")
    code, out, err = run(capsys, "prepare", "mem:keeper", "-o", tmp_path / "ds", "-q")
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == (f"another huggingtweets process is using the post store {locked_store}; waiting 1 s "
                        f"more (Ctrl-C to stop)")  # not a terminal: the first line of the countdown only
    assert lines[-1].startswith(f"Error: another huggingtweets process is using the post store {locked_store}")
    assert "Traceback" not in err and len(lines) == 2


def test_store_free_after_wait(locked_store, monkeypatch):
    """The other process ends during the wait: the fetch goes on and saves everything."""
    path, proc = locked_store
    monkeypatch.setenv("HUGGINGTWEETS_STORE_WAIT", "20")
    seen: list[float] = []

    def release_once(left: float) -> None:
        seen.append(left)
        if len(seen) == 1:
            proc.stdin.close()

    with Store(on_wait=release_once) as store:
        [r] = api.fetch(["mem:keeper"], store=store)
    assert r.total == 30 and seen[-1] == 0.0


def test_os_error_names_path_and_fix():
    """EROFS and ENOSPC on the home become one line with the path and the fix."""
    home = paths.home()
    message = os_error_message(OSError(errno.EROFS, "Read-only file system", str(home)))
    assert message == (f"Read-only file system: {home}; huggingtweets cannot write {home}: make it "
                          f"writable, or set HUGGINGTWEETS_HOME to a writable folder with free space (now {home})")
    full = os_error_message(OSError(errno.ENOSPC, "No space left on device", str(home / "x")))
    assert full.startswith(f"No space left on device: {home / 'x'}; huggingtweets cannot write {home / 'x'}: "
                           f"free space there, or set HUGGINGTWEETS_HOME")


def test_read_only_home_cli_one_line(monkeypatch, capsys, tmp_path):
    """EROFS while the store's folder is created (simulated: root ignores permissions) -> one line."""
    home = paths.home()

    def read_only(self, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr("pathlib.Path.mkdir", read_only)
    code, out, err = run(capsys, "fetch", "mem:keeper", "-q")
    assert code == 1
    assert err == (f"Error: Read-only file system: {home}; huggingtweets cannot write {home}: make it "
                   f"writable, or set HUGGINGTWEETS_HOME to a writable folder with free space (now {home})\n")


def test_avatar_skipped_on_read_only_cache(monkeypatch):
    """The avatar cache cannot be written (EROFS, simulated by a monkeypatched write since tests run as
    root): the avatar is skipped with a warning, and the profile is still read."""
    def read_only(self, data):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr("pathlib.Path.write_bytes", read_only)
    with pytest.warns(HomeWarning, match=r"@jane: avatar skipped, .*avatars cannot be written "
                                         r"\(Read-only file system\); set HUGGINGTWEETS_HOME"):
        assert _archive_base.save_avatar(b"\x89PNG", "x", "jane", ".png") is None
    assert not list((paths.cache_dir() / "avatars").glob("*"))


def test_the_packages_warnings_are_one_warning_line_on_every_command(capsys):
    """``fetch`` used to show a HomeWarning in Python's format (file, line and category)."""
    import warnings

    from huggingtweets.cli.main import _show_own_warnings
    from huggingtweets.errors import HomeWarning

    before = warnings.showwarning
    try:
        _show_own_warnings()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("@jane: avatar skipped", HomeWarning, stacklevel=1)
            with pytest.warns(DeprecationWarning):  # another library's: handed on, not reworded
                warnings.warn("a library's own", DeprecationWarning, stacklevel=1)
    finally:
        warnings.showwarning = before
    err = capsys.readouterr().err
    assert err == "Warning: @jane: avatar skipped\n"
