"""`bioeval fetch`: every data file and model snapshot a manifest needs, pinned and checked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bioeval.cli.options import add_model_options, load
from bioeval.errors import EXIT_OK, EXIT_RUNTIME

MANIFEST = click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@click.command()
@MANIFEST
@click.option("--only", default=None, help="Restrict to some datasets: dataset=KEY[,dataset=KEY] (model= and task= too).")
@click.option("--data-only", is_flag=True, help="Fetch the data splits but not the model snapshots.")
@add_model_options
@click.option("--json", "as_json", is_flag=True, help="Print what came from where as JSON.")
@click.pass_obj
def fetch(settings, manifest: Path, only: str | None, data_only: bool, add_model: tuple, like: str | None,
          as_json: bool) -> None:
    """Fetch every data file and model snapshot a manifest needs, pinned and checked.

    Data: cache, mirror, url, hf or local, sha256-checked. Models: Hugging Face snapshots at
    their pinned revisions (HF_TOKEN for gated repos), or the shipped local folder.
    Prints what came from where; exits 3 when a required file is missing or refused.
    """
    from bioeval.console import console
    from bioeval.data.fetch_all import fetch_all, render_fetch

    from bioeval.manifest import cells as resolve_cells

    loaded = load(manifest, add_model, like)
    selected = resolve_cells(loaded, only)
    rows = fetch_all(loaded, settings, selected)
    if not data_only:
        from bioeval.engine.model_fetch import fetch_model_rows  # huggingface_hub only, no torch

        rows += fetch_model_rows(loaded, settings, selected)
    missing = [r for r in rows if not r["ok"]]
    if as_json:
        click.echo(json.dumps({"manifest": str(manifest), "files": rows}, indent=2, default=str))
    else:
        render_fetch(rows, console())
        if missing:
            console(stderr=True).print(f"[red]{len(missing)} required file(s) missing or refused[/red]; "
                                       "see the table above.")
    sys.exit(EXIT_RUNTIME if missing else EXIT_OK)


COMMANDS = [fetch]
