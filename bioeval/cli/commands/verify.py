"""`bioeval verify`: saved results against the paper's values (no GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.cli.options import add_model_options, load


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--results", type=click.Path(path_type=Path), default=None,
              help="Results folder (a workdir of <run_id>/ folders, or one run's folder); default: the global --workdir.")
@click.option("--only", default=None, help="Filter cells: model=KEY,dataset=KEY,task=NER.")
@add_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the verification as JSON.")
@click.option("--junit", type=click.Path(path_type=Path), default=None, help="Also write JUnit XML here.")
@click.option("--allow-missing", is_flag=True, help="Exit 0 when some cells have no results (still exit 1 on FAIL, "
                                                    "INVALID, or when nothing at all was found).")
@click.pass_obj
def verify(settings, manifest: Path, results: Path | None, only: str | None, add_model: tuple, like: str | None,
           as_json: bool, junit: Path | None, allow_missing: bool) -> None:
    """Check saved results against the paper's values with the manifest's tolerances (no GPU).

    Exit 1 on any FAIL or INVALID run, and on MISSING unless --allow-missing; exit 2 when the
    results folder does not exist.  Cells of added models are NEW: compared, not verified.
    """
    from bioeval.verify.gate import gate, results_folder
    from bioeval.verify.verify import verify_manifest

    loaded = load(manifest, add_model, like)
    folder = results_folder(results or settings.workdir)
    report = verify_manifest(loaded, folder, only)
    if junit:
        from bioeval.verify.junit import write_junit

        write_junit(report, junit)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        from bioeval.cli.render import render_verify

        render_verify(report)
        if not report["cells"]:
            click.echo(click.style("note: ", fg="yellow") + f"{manifest} has no expected values for the selected "
                       "cells: nothing to verify.", err=True)
    click.echo(gate(report, allow_missing), err=True)


COMMANDS = [verify]
