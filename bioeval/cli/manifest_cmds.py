"""validate, plan, schema, lock: manifest commands (no torch, fast)."""

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


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--only", default=None, help="Filter cells: model=KEY,dataset=KEY,task=NER (comma-separated).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(manifest: Path, only: str | None, as_json: bool) -> None:
    """List the cells a manifest defines and every protocol value with its provenance."""
    from bioeval.manifest import cells, load_manifest
    from bioeval.manifest.summary import plan_json

    loaded = load_manifest(manifest)
    data = plan_json(loaded, cells(loaded, only))
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from bioeval.cli.render import render_plan

    render_plan(data)


@click.command()
def schema() -> None:
    """Print the manifest JSON Schema (for editors and linters)."""
    from bioeval.manifest.schema import Manifest

    click.echo(json.dumps(Manifest.model_json_schema(), indent=2))


COMMANDS = [validate, plan, schema]
