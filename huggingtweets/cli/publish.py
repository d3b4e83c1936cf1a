"""``publish``, ``unpublish`` and ``preview``: a bot on the Hugging Face Hub, and its preview image."""

from __future__ import annotations

import warnings

import click

from ..errors import UsageError


def _numbers(value: str | None) -> list[int]:
    if not value:
        return []
    out = []
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit():
            raise UsageError(f"--pick {value}: give post numbers separated by commas, for example --pick 1,3")
        out.append(int(part))
    return out


@click.command()
@click.argument("model_folder")
@click.option("--repo-id", help="NAMESPACE/NAME of the Hub repository [default: YOUR-NAME/BOT-NAME].")
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option("--dry-run", is_flag=True, help="List the files that would be uploaded, and where; send nothing.")
def publish(model_folder: str, repo_id: str | None, private: bool, dry_run: bool) -> None:
    """Upload a trained bot to the Hugging Face Hub.

    The token comes from HF_TOKEN or `hf auth login`. Only the model, its tokenizer and configs, the
    card, the preview and the stats go: never posts, checkpoints or optimizer state.
    """
    from ..hub import DRY_RUN_NAMESPACE, describe_size, publish as hub_publish

    result = hub_publish(model_folder, repo_id=repo_id, private=private, dry_run=dry_run)
    if dry_run:
        where = result.repo_id + (" (private)" if private else "")
        click.echo(f"Would upload {len(result.files)} files to {where}:")
        for f in result.files:
            size = "rendered at upload" if not f.local.exists() else describe_size(f.size)
            click.echo(f"  {f.path_in_repo}  ({size})")
        if result.skipped:
            click.echo(f"Left out: {', '.join(result.skipped)}")
        if not repo_id:
            click.echo(f"({DRY_RUN_NAMESPACE} stands for your Hugging Face user name, found when publishing.)")
        return
    click.echo(f"Published {len(result.files)} files to {result.url}")
    click.echo(f"Use it: pipeline('text-generation', model='{result.repo_id}')")


@click.command()
@click.argument("repo_id")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def unpublish(repo_id: str, yes: bool) -> None:
    """Delete a published bot from the Hugging Face Hub.

    Its repository and all its files are deleted; this cannot be undone.
    """
    from ..hub import check_repo_id, unpublish as hub_unpublish

    check_repo_id(repo_id)
    if not yes and not click.confirm(f"Delete {repo_id} and all its files from the Hugging Face Hub? "
                                     f"This cannot be undone", default=False):
        click.echo("Nothing was deleted.", err=True)
        raise click.exceptions.Exit(1)
    url = hub_unpublish(repo_id)
    click.echo(f"Deleted {url}")


@click.command()
@click.argument("model_folder")
@click.option("--pick", help="Posts to show, by number as `generate` prints them, e.g. 1,3,4 "
                             "[default: the first that fit].")
@click.option("--predictions", "predictions_file", type=click.Path(exists=True, dir_okay=False),
              help="Choose among these posts: the output of `generate --json`, JSONL, or one post per line.")
@click.option("--prompt", help="The prompt of the posts [default: the one they were generated from].")
def preview(model_folder: str, pick: str | None, predictions_file: str | None, prompt: str | None) -> None:
    """Redraw a bot's preview image from chosen posts."""
    from ..card.finalize import read_predictions_file, redraw_preview
    from ..card.preview import PreviewWarning
    from ..hub import resolve_bot_folder

    folder = resolve_bot_folder(model_folder)
    posts = None
    if predictions_file:
        file_prompt, posts = read_predictions_file(predictions_file)
        prompt = prompt or file_prompt
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PreviewWarning)
        path = redraw_preview(folder, _numbers(pick), posts, prompt)
    for w in caught:
        if issubclass(w.category, PreviewWarning):
            click.echo(f"Warning: {w.message}", err=True)
    click.echo(f"Drew {path}")


def register(group: click.Group) -> None:
    group.add_command(publish)
    group.add_command(unpublish)
    group.add_command(preview)
