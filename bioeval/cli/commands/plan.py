"""`bioeval plan`: the cells, run ids, expected values and the protocol with provenance."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.cli.options import add_model_options, load


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--only", default=None, help="Filter cells: model=KEY,dataset=KEY,task=NER (comma-separated).")
@add_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(manifest: Path, only: str | None, add_model: tuple, like: str | None, as_json: bool) -> None:
    """List the cells a manifest defines and every protocol value with its provenance, the
    tolerances, the deviations from the paper and the datasets' notes."""
    from bioeval.manifest import cells
    from bioeval.manifest.summary import plan_json

    loaded = load(manifest, add_model, like)
    data = plan_json(loaded, cells(loaded, only))
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from bioeval.cli.render import render_plan

    render_plan(data)


COMMANDS = [plan]
