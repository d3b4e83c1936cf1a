"""Entry point: ``huggingtweets COMMAND``. Errors become one line on stderr and a non-zero exit.

Set ``HUGGINGTWEETS_DEBUG=1`` to see the full traceback instead.
"""

from __future__ import annotations

import importlib
import os
import sys

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


def main(argv: list[str] | None = None) -> None:
    """Run the CLI, turning known errors into one line and an exit code."""
    from ..errors import HuggingTweetsError

    debug = bool(os.environ.get("HUGGINGTWEETS_DEBUG"))
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
        click.echo(f"Error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), err=True)
        sys.exit(1)
