"""``app``: the local web app (download, train, predict and share in the browser)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 opens the app to your network (anyone who reaches it "
                   "can train and publish on this machine).")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, help="Port to listen on.")
@click.option("--base-model", default=None,
              help="Base model the form starts with: a Hub id, a local folder, or the embedded one [default: "
                   "the embedded SmolLM2-135M-Instruct].")
@click.option("--max-upload-mb", type=click.IntRange(1), default=2048, show_default=True,
              help="Largest archive or file a visitor may upload.")
@click.option("--max-loaded-models", type=click.IntRange(1), default=2, show_default=True,
              help="Models kept loaded for generation at once (more visitors reload theirs).")
@click.option("--tracker", type=click.Choice(["auto", "wandb", "none"]), default="auto", show_default=True,
              help="Experiment tracking of the training runs, as in `huggingtweets train`.")
def app(host: str, port: int, base_model: str | None, max_upload_mb: int, max_loaded_models: int,
        tracker: str) -> None:
    """Start the web app: download posts, train a bot, write and share its posts, in the browser."""
    try:
        from ..app import Settings, serve
        from ..app.server import listen
    except ImportError as e:
        raise click.ClickException(f"the web app needs its extra ({e.name} is missing): "
                                   f"pip install 'huggingtweets[app]'") from None
    from ..training.recipes import EMBEDDED

    settings = Settings(default_base_model=base_model or EMBEDDED, max_upload_bytes=max_upload_mb * 1024**2,
                        max_generators=max_loaded_models, tracker=tracker)
    sock = listen(host, port)  # a port in use is one line of error, before anything is said or loaded
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"huggingtweets app on http://{shown}:{port}/ (Ctrl-C stops it; a training run keeps a "
               f"checkpoint)", err=True)
    serve(host, port, settings, sock=sock)


def register(group: click.Group) -> None:
    group.add_command(app)
