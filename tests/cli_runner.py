"""The CLI as a user runs it, for tests: ``run(capsys, "prepare", ...)`` -> (exit code, stdout, stderr)."""

from __future__ import annotations

from huggingtweets.cli.main import main


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def run_cli(args, capsys) -> tuple[int, str, str]:
    """``run`` with the arguments as one list."""
    return run(capsys, *args)
