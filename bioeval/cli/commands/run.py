"""`bioeval run` and the internal `bioeval run-cell`.

Torch is never imported here: runtimes import the engine only when a cell must run.
"""

from __future__ import annotations

from pathlib import Path

import click

from bioeval.cli.options import add_model_options, load
from bioeval.errors import UsageError
from bioeval.pipeline.runner import RUNTIMES, dispatch, load_runtime  # noqa: F401  (load_runtime: tests, plugins)

# shown under `bioeval run --help` / `reproduce --help` (the options pass through to the runtime)
RUN_EPILOG = """\b
--runtime slurm options (one job-array task per cell; docs/slurm.md):
  --partition P  --account A  --time [D-]HH:MM:SS  --array-parallelism K
  --container none|apptainer|docker  --image IMG
  --dry-run       write grid, sbatch script(s) and submit.sh; submit nothing
  --retry-failed  also resubmit failed and cancelled cells (done ones never are)
  --no-wait       submit and return; follow with `bioeval status WORKDIR --watch`
  --no-fetch      do not fetch data and models on this host before submitting"""

RUN_CONTEXT = {"ignore_unknown_options": True, "allow_extra_args": True}


def parse_extra(args: list[str]) -> dict:
    """`--image foo --gpus 2 --dry-run` -> {"image": "foo", "gpus": "2", "dry_run": True} for the runtime."""
    out: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise UsageError(f"unexpected argument {arg!r}.", "Runtime options take the form --name VALUE.")
        key, sep, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if sep:
            out[key] = value
        elif i + 1 < len(args) and not args[i + 1].startswith("--"):
            out[key] = args[i + 1]
            i += 1
        else:
            out[key] = True
        i += 1
    return out


def common(f):
    f = add_model_options(f)
    f = click.option("--runtime", type=click.Choice(RUNTIMES), default="local", show_default=True,
                     help="Where cells run; runtime options (e.g. --image, --partition) pass through.")(f)
    f = click.option("--only", default=None, help="Cells to run: model=KEY,dataset=KEY,task=TYPE (comma-separated).")(f)
    f = click.option("--seeds", default=1, show_default=True, type=click.IntRange(1, 100),
                     help="Seed study: run each cell K times, seed = protocol seed + i (docs/statistics.md).")(f)
    f = click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))(f)
    return f


@click.command("run", context_settings=RUN_CONTEXT, epilog=RUN_EPILOG)
@common
@click.option("--force", is_flag=True, help="Rerun cells even when they are finished (drops their checkpoints).")
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON row per cell (run id, state, seconds, error).")
@click.pass_context
def run_command(ctx, manifest: Path, only: str | None, seeds: int, runtime: str, add_model: tuple, like: str | None,
                force: bool, no_progress: bool, as_json: bool) -> None:
    """Run every cell of MANIFEST (fine-tune or zero-shot, generate, score); finished cells are skipped."""
    from bioeval.manifest import cells as resolve_cells
    from bioeval.manifest.resolve import with_seeds
    from bioeval.pipeline.reproduce import check_additions_runtime

    settings = ctx.obj
    loaded = load(manifest, add_model, like)
    check_additions_runtime(loaded, runtime)
    cells = with_seeds(resolve_cells(loaded, only), seeds)
    options = {"force": force, "progress": not no_progress, **parse_extra(ctx.args)}  # typed by the runtime
    rows = dispatch(loaded, cells, settings, runtime, options)
    print_rows(rows, as_json)


@click.command("run-cell", hidden=True)
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run-id", required=True, help="The cell's run id (from `bioeval plan`).")
@click.option("--force", is_flag=True)
@click.pass_obj
def run_cell_command(settings, manifest: Path, run_id: str, force: bool) -> None:
    """Internal: run exactly one cell here (what container and Slurm tasks call)."""
    from bioeval.manifest import load_manifest
    from bioeval.pipeline.runner import run_cell_by_id

    run_cell_by_id(load_manifest(manifest), run_id, settings, force)


def print_rows(rows: list[dict], as_json: bool = False) -> None:
    if as_json:
        import json

        click.echo(json.dumps({"cells": rows}, indent=2, default=str))
    done = sum(r["state"] == "done" for r in rows)
    skipped = sum(r["state"] == "skipped" for r in rows)
    click.echo(f"cells: {done} run, {skipped} already finished, {len(rows)} total.", err=True)


COMMANDS = [run_command, run_cell_command]
