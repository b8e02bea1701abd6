"""`bioeval run`, `bioeval reproduce` and the internal `bioeval run-cell`.

Torch is never imported here: runtimes import the engine only when a cell must run.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from bioeval.errors import UsageError, VerificationFailed

RUNTIMES = ("local", "docker", "slurm")


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


def load_runtime(name: str):
    try:
        module = importlib.import_module(f"bioeval.runtimes.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"bioeval.runtimes.{name}":
            raise
        raise UsageError(f"runtime {name!r} is not available in this installation (no module bioeval.runtimes.{name}).",
                         "Use --runtime local, or install a bioeval version that ships it.") from None
    if not hasattr(module, "run_cells"):
        raise UsageError(f"runtime module bioeval.runtimes.{name} has no run_cells().")
    return module


def dispatch(loaded, cells, settings, runtime: str, options: dict) -> list[dict]:
    rows = load_runtime(runtime).run_cells(loaded, cells, settings, options)
    failed = [r for r in rows if r.get("state") == "failed"]
    if failed:
        from bioeval.errors import BioevalError
        names = "; ".join(f"{r['name']} ({r['run_id']}): {r.get('error')}" for r in failed)
        raise BioevalError(f"{len(failed)} of {len(rows)} cell(s) failed: {names}",
                           f"Logs are in {settings.workdir}/<run_id>/log.txt; rerun to resume.")
    return rows


RUN_CONTEXT = {"ignore_unknown_options": True, "allow_extra_args": True}


def _common(f):
    f = click.option("--runtime", type=click.Choice(RUNTIMES), default="local", show_default=True,
                     help="Where cells run; runtime options (e.g. --image, --partition) pass through.")(f)
    f = click.option("--only", default=None, help="Cells to run: model=KEY,dataset=KEY,task=TYPE (comma-separated).")(f)
    f = click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))(f)
    return f


@click.command("run", context_settings=RUN_CONTEXT)
@_common
@click.option("--force", is_flag=True, help="Rerun cells even when they are finished (drops their checkpoints).")
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
@click.pass_context
def run_command(ctx, manifest: Path, only: str | None, runtime: str, force: bool, no_progress: bool) -> None:
    """Run every cell of MANIFEST (fine-tune or zero-shot, generate, score); finished cells are skipped."""
    from bioeval.manifest import cells as resolve_cells, load_manifest

    settings = ctx.obj
    loaded = load_manifest(manifest)
    cells = resolve_cells(loaded, only)
    options = {"force": force, "only": only, "progress": not no_progress, **parse_extra(ctx.args)}
    rows = dispatch(loaded, cells, settings, runtime, options)
    _print_rows(rows)


@click.command("run-cell", hidden=True)
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--run-id", required=True, help="The cell's run id (from `bioeval plan`).")
@click.option("--force", is_flag=True)
@click.pass_obj
def run_cell_command(settings, manifest: Path, run_id: str, force: bool) -> None:
    """Internal: run exactly one cell here (what container and Slurm tasks call)."""
    from bioeval.manifest import cells as resolve_cells, load_manifest

    loaded = load_manifest(manifest)
    match = [c for c in resolve_cells(loaded) if c.run_id == run_id]
    if not match:
        raise UsageError(f"no cell with run id {run_id} in {manifest}.", "List run ids with `bioeval plan MANIFEST`.")
    dispatch(loaded, match, settings, "local", {"force": force, "progress": False})


@click.command("reproduce", context_settings=RUN_CONTEXT)
@_common
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
@click.pass_context
def reproduce_command(ctx, manifest: Path, only: str | None, runtime: str, no_progress: bool) -> None:
    """Fetch, run, verify and report MANIFEST: the paper's numbers against ours (exit 1 on a mismatch)."""
    from bioeval.manifest import cells as resolve_cells, load_manifest

    settings = ctx.obj
    loaded = load_manifest(manifest)
    cells = resolve_cells(loaded, only)
    options = {"force": False, "only": only, "progress": not no_progress, **parse_extra(ctx.args)}
    if runtime == "local":
        from bioeval.runtimes.local import check_gpus, pending
        todo = pending(cells, settings)
        check_gpus(loaded, todo)  # stop before fetching anything on a machine that cannot run it
        fetch_models(loaded, todo, settings)
    rows = dispatch(loaded, cells, settings, runtime, options)
    _print_rows(rows)
    verify_and_report(loaded, cells, settings)


def fetch_models(loaded, cells, settings) -> None:
    """Model snapshots at their pinned revisions for cells that still have to run (data: read at run time)."""
    from bioeval.manifest.schema import is_local_path

    seen = set()
    for c in cells:
        if is_local_path(c.model.revision) or c.model.key in seen:
            continue
        seen.add(c.model.key)
        from bioeval.engine.model_fetch import fetch_model
        fetch_model(c.model, cache_dir=settings.cache_dir)


def verify_and_report(loaded, cells, settings) -> None:
    """Interim verify + report (swap for bioeval.verify / bioeval.report when they land)."""
    from rich.console import Console
    from rich.table import Table

    from bioeval.engine.check import compare

    rows = compare(loaded, cells, settings)
    table = Table(title="expected vs observed (P / R / F1)")
    for col in ("cell", "expected", "observed", "tol", "result"):
        table.add_column(col, no_wrap=True)
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    by_cell: dict[str, list[dict]] = {}
    for r in rows:
        by_cell.setdefault(f"{r['model']} x {r['dataset']}", []).append(r)
    for name, rs in by_cell.items():
        oks = [r["ok"] for r in rs]
        result = ("no expected values" if all(o is None for o in oks) else
                  "[red]MISMATCH[/]" if False in oks else "[green]ok[/]")
        table.add_row(name, " / ".join(fmt(r["expected"]) for r in rs), " / ".join(fmt(r["observed"]) for r in rs),
                      fmt(max((r["tolerance"] or 0) for r in rs)), result)
    Console(width=max(100, Console().width)).print(table)
    bad = [r for r in rows if r["ok"] is False]
    checked = sum(r["ok"] is not None for r in rows)
    if bad:
        raise VerificationFailed(f"{len(bad)} of {checked} expected value(s) not reproduced within tolerance "
                                 f"(manifest {loaded.path}).", "See the table above; run logs are in the workdir.")
    click.echo(f"verified: {checked} value(s) within tolerance.")


def _print_rows(rows: list[dict]) -> None:
    done = sum(r["state"] == "done" for r in rows)
    skipped = sum(r["state"] == "skipped" for r in rows)
    click.echo(f"cells: {done} run, {skipped} already finished, {len(rows)} total.", err=True)


COMMANDS = [run_command, run_cell_command, reproduce_command]
