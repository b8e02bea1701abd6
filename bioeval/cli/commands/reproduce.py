"""`bioeval reproduce`: fetch, run, report, verify (bioeval.pipeline.reproduce does the steps)."""

from __future__ import annotations

from pathlib import Path

import click

from bioeval.cli.commands.run import RUN_CONTEXT, RUN_EPILOG, common, parse_extra, print_rows
from bioeval.cli.options import load


@click.command("reproduce", context_settings=RUN_CONTEXT, epilog=RUN_EPILOG)
@common
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where the Markdown report goes (default: <workdir>/reports/<manifest>.md, figures beside it).")
@click.option("--html", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the self-contained HTML report here.")
@click.option("--json", "as_json", is_flag=True, help="Print the verification as JSON instead of tables.")
@click.pass_context
def reproduce_command(ctx, manifest: Path, only: str | None, seeds: int, runtime: str, add_model: tuple,
                      like: str | None,
                      no_progress: bool, report_path: Path | None, html: Path | None, as_json: bool) -> None:
    """Fetch, run, verify and report MANIFEST: the paper's numbers against ours.

    Exit 0 when every expected value is reproduced within tolerance, 1 when not, 3 when a cell
    cannot run here (e.g. it needs GPUs this machine lacks: see `plan`, `audit`, `verify --results`).
    """
    from bioeval.cli.render import render_verify
    from bioeval.manifest import cells as resolve_cells
    from bioeval.manifest.resolve import with_seeds
    from bioeval.pipeline.reproduce import reproduce
    from bioeval.verify.gate import enforce

    settings = ctx.obj
    loaded = load(manifest, add_model, like)
    cells = with_seeds(resolve_cells(loaded, only), seeds)
    options = {"force": False, "progress": not no_progress, **parse_extra(ctx.args)}  # typed by the runtime
    result = reproduce(loaded, cells, settings, runtime, options, report_path, html)
    print_rows(result["rows"])
    if result["report"] is None:
        click.echo(f"report {result['report_path']} is up to date.", err=True)
    else:
        for w in result["report"]["warnings"]:
            click.echo(click.style("warning: ", fg="yellow") + w, err=True)
    if as_json:
        import json

        click.echo(json.dumps({"cells": result["rows"], "verification": result["verification"],
                               "report": str(result["report_path"])}, indent=2, default=str))
    else:
        render_verify(result["verification"])
    click.echo(enforce(result["verification"], where=str(loaded.path)), err=as_json)


COMMANDS = [reproduce_command]
