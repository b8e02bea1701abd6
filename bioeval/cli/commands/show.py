"""`bioeval show RUN_DIR`: a run's instances (gold, prediction, completion, counts, truncation)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--errors", is_flag=True, help="Only the instances the model got (partly) wrong.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True, help="At most this many instances (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(run_dir: Path, errors: bool, limit: int, as_json: bool) -> None:
    """Show a run's test instances, scored with the scorer named in its spec.json."""
    from bioeval.verify.instances import show_run

    data = show_run(run_dir, errors=errors, limit=limit or None)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    from bioeval.cli.render import render_show

    render_show(data)


COMMANDS = [show]
