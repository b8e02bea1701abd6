"""`bioeval validate`: check manifests, every problem at once."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.errors import ManifestError, Problem


@click.command()
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary per manifest.")
def validate(manifests: tuple[Path, ...], as_json: bool) -> None:
    """Check manifests; list every problem at once (exit 2 if any)."""
    from bioeval.manifest import load_manifest
    from bioeval.manifest.summary import summary

    problems: list[Problem] = []
    summaries = []
    for path in manifests:
        try:
            summaries.append(summary(load_manifest(path)))
        except ManifestError as exc:
            problems.extend(exc.problems)
    if as_json:
        click.echo(json.dumps({"manifests": summaries, "problems": [str(p) for p in problems]}, indent=2))
    else:
        from bioeval.cli.render import console, render_summary

        for s in summaries:
            render_summary(s)
        if not problems:
            console().print(f"[green]ok[/green]: {len(summaries)} manifest(s) valid")
    if problems:
        raise ManifestError(problems, hint="Fix the fields named above and run `bioeval validate` again.")


COMMANDS = [validate]
