"""Entry point: ``huggingtweets COMMAND``. Errors become one line on stderr and a non-zero exit.

Set ``HUGGINGTWEETS_DEBUG=1`` to see the full traceback instead.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import sys
from pathlib import Path

import click

from .. import __version__

# Command modules, imported when the group is built; each defines commands and registers them with
# ``register(group)``. Heavy libraries are imported inside the commands, never at module level.
COMMAND_MODULES = [
    "huggingtweets.cli.data",
    "huggingtweets.cli.model",
    "huggingtweets.cli.evaluate",
    "huggingtweets.cli.app",
    "huggingtweets.cli.publish",
    "huggingtweets.cli.manage",
    "huggingtweets.cli.worker",
    "huggingtweets.cli.update",
]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="huggingtweets")
def cli() -> None:
    """Turn someone's posts into a language model that writes new posts in their voice.

    \b
    Sources (SCHEME:VALUE):
      archive:PATH            X/Twitter archive (.zip, folder or tweets.js) or Mastodon export
      file:PATH               CSV, TSV, JSON, JSONL or TXT of posts (needs --handle if it does not say)
      x:HANDLE, @HANDLE       X API v2 (X_BEARER_TOKEN)
      mastodon:@user@server   Mastodon
      bsky:HANDLE             Bluesky

    Generated posts are always presented as generated: a bot of a real person is for fun and
    research, never for impersonation.
    """


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


def _show_own_warnings() -> None:
    """The package's warnings (a home that cannot keep an avatar, too little data, a preview drawn without
    a font or avatar) as one ``Warning: ...`` line, as the commands print their other notes; the
    libraries' warnings keep Python's format."""
    import warnings

    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.startswith("huggingtweets."):
            click.echo(f"Warning: {message}", err=True)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning known errors into one line and an exit code."""
    from ..errors import HuggingTweetsError

    debug = bool(os.environ.get("HUGGINGTWEETS_DEBUG"))
    _show_store_wait()
    _show_own_warnings()
    try:
        rc = cli.main(args=argv, prog_name="huggingtweets", standalone_mode=False)
        # Without standalone mode, click returns ctx.exit(code)'s code instead of exiting with it.
        if isinstance(rc, int) and not isinstance(rc, bool) and rc:
            sys.exit(rc)
    except HuggingTweetsError as e:
        if debug:
            raise
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted; what was already fetched is kept in the store.", err=True)
        sys.exit(130)
    except click.UsageError as e:
        # One line, like every other error, with where to read the options (click's own form is four).
        command = e.ctx.command_path if e.ctx is not None else "huggingtweets"
        click.echo(f"Error: {e.format_message().rstrip('.')}; run `{command} --help` to see what it takes",
                   err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted; what was already fetched is kept in the store.", err=True)
        sys.exit(130)
    except OSError as e:
        if debug:
            raise
        click.echo(f"Error: {os_error_message(e)}", err=True)
        sys.exit(1)


# A folder that cannot be written: read-only file system, no permission, disk or quota full.
_HOME_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EACCES, errno.EDQUOT, errno.EPERM}


def os_error_message(e: OSError) -> str:
    """One line for an OSError: what failed, on which path, and (for a folder that cannot be written)
    the fix."""
    line = f"{e.strerror or e}: {e.filename or ''}".rstrip(": ")
    if e.errno not in _HOME_ERRNOS:
        return line
    from .. import paths

    where = e.filename or paths.home()
    fix = "free space there" if e.errno in (errno.ENOSPC, errno.EDQUOT) else "make it writable"
    elsewhere = ""
    if any(_within(where, d) for d in (paths.datasets_dir(), paths.bots_dir())):
        elsewhere = ", pass --output FOLDER to write it elsewhere"  # the posts stored can still be read
    return (f"{line}; huggingtweets cannot write {where}: {fix}{elsewhere}, or set HUGGINGTWEETS_HOME to a "
            f"writable folder with free space (now {paths.home()})")


def _within(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


class _StoreWaitHandler(logging.Handler):
    """Shows the store's wait for another process on stderr: a countdown in place on a terminal, else
    its first line only."""

    def emit(self, record: logging.LogRecord) -> None:
        left = getattr(record, "seconds_left", None)
        tty = sys.stderr.isatty()
        if tty and left is not None:
            sys.stderr.write("\r\033[K" + (record.getMessage() if left > 0 else ""))
            sys.stderr.flush()
        elif record.levelno >= logging.WARNING:
            sys.stderr.write(record.getMessage() + "\n")


def _show_store_wait() -> None:
    logger = logging.getLogger("huggingtweets.store")
    if not any(isinstance(h, _StoreWaitHandler) for h in logger.handlers):
        logger.addHandler(_StoreWaitHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False
