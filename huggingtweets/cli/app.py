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
@click.option("--session-hours", type=click.FloatRange(min=0, min_open=True), default=24.0, show_default=True,
              help="A visitor's session, and its files, is deleted after this many hours without a visit.")
@click.option("--max-sessions", type=click.IntRange(1), default=200, show_default=True,
              help="Visitors' sessions kept at once; more visitors are asked to come back later.")
@click.option("--max-session-mb", type=click.IntRange(1), default=10240, show_default=True,
              help="Disk one visitor's session may fill before their uploads are refused.")
@click.option("--allow-live-sources", is_flag=True,
              help="With --host beyond this machine: let visitors download from x:, mastodon: and bsky: "
                   "(with your API keys). Always allowed on 127.0.0.1.")
@click.option("--allow-local-models", is_flag=True,
              help="With --host beyond this machine: let visitors name a folder of this machine as base model. "
                   "Always allowed on 127.0.0.1.")
@click.option("--queue", "queue_url", envvar="HUGGINGTWEETS_QUEUE", default=None, metavar="URL",
              help="Send the jobs (preparing data, training, writing posts) to a queue on Redis "
                   "(redis://HOST:PORT/DB, or the HUGGINGTWEETS_QUEUE variable), run by `huggingtweets worker` "
                   "on this or other machines [default: this machine runs them, training one at a time].")
@click.option("--max-queued-per-session", type=click.IntRange(1), default=1, show_default=True,
              help="With --queue: training runs one visitor may have waiting or running at once.")
@click.option("--queue-wait-seconds", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="With --queue: how long a prepare or generate job may wait while no "
                                      "worker takes such jobs, before the visitor is told so.")
def app(host: str, port: int, base_model: str | None, max_upload_mb: int, max_loaded_models: int,
        tracker: str, session_hours: float, max_sessions: int, max_session_mb: int, allow_live_sources: bool,
        allow_local_models: bool, queue_url: str | None, max_queued_per_session: int,
        queue_wait_seconds: float) -> None:
    """Start the web app: download posts, train a bot, write and share its posts, in the browser."""
    try:
        from ..app import Settings, serve
        from ..app.server import listen
    except ImportError as e:
        raise click.ClickException(f"the web app needs its extra ({e.name} is missing): "
                                   f"pip install 'huggingtweets[app]'") from None
    from ..training.recipes import EMBEDDED

    local = host in ("127.0.0.1", "localhost", "::1")
    settings = Settings(default_base_model=base_model or EMBEDDED, max_upload_bytes=max_upload_mb * 1024**2,
                        max_generators=max_loaded_models, tracker=tracker, session_hours=session_hours,
                        max_sessions=max_sessions, max_session_bytes=max_session_mb * 1024**2,
                        allow_live_sources=local or allow_live_sources, allow_local_models=local or allow_local_models,
                        queue_url=queue_url or None, max_queued_per_session=max_queued_per_session,
                        queue_wait_seconds=queue_wait_seconds)
    if settings.queue_url:
        from ..app.rq_queue import connect

        connect(settings.queue_url)  # rq missing or Redis away: one line, before the port is taken
    sock = listen(host, port)  # a port in use is one line of error, before anything is said or loaded
    shown = f"[{host}]" if ":" in host else host
    after = ("the workers' jobs go on, and a restarted app finds them" if settings.queue_url
             else "a training run keeps a checkpoint")
    click.echo(f"huggingtweets app on http://{shown}:{port}/ (Ctrl-C stops it; {after})", err=True)
    serve(host, port, settings, sock=sock)


def register(group: click.Group) -> None:
    group.add_command(app)
