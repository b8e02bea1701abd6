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
@click.option("--junit", type=click.Path(path_type=Path), default=None, help="Also write JUnit XML here (`-`: print it).")
@click.option("--allow-missing", is_flag=True, help="Exit 0 when some cells have no results (still exit 1 on a failed "
                                                    "verdict, or when nothing at all was found).")
@click.option("--strict", is_flag=True, help="Exit 1 on any discrepant value (no multiplicity control).")
@click.pass_obj
def verify(settings, manifest: Path, results: Path | None, only: str | None, add_model: tuple, like: str | None,
           as_json: bool, junit: Path | None, allow_missing: bool, strict: bool) -> None:
    """Check saved results against the paper's values (no GPU): per value reproduced, discrepant,
    missing, invalid or new (an added model: compared, not verified), and one global verdict with
    family-wise error control (Holm).

    Exit 1 when the global verdict is not-reproduced (with --strict: on any discrepant value), on
    missing values unless --allow-missing, and when nothing could be checked; exit 2 when the
    results folder does not exist.
    """
    from bioeval.manifest import cells as resolve_cells
    from bioeval.verify.gate import enforce, results_folder
    from bioeval.verify.verify import verify_manifest

    loaded = load(manifest, add_model, like)
    folder = results_folder(results or settings.workdir)
    report = verify_manifest(loaded, folder, cells=resolve_cells(loaded, only))
    if junit:
        from bioeval.verify.junit import write_junit

        write_junit(report, junit)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        from bioeval.cli.render import render_verify

        render_verify(report)
    click.echo(enforce(report, allow_missing, strict=strict), err=True)


COMMANDS = [verify]
