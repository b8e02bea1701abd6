"""`bioeval run`, `bioeval reproduce` and the internal `bioeval run-cell`.

Torch is never imported here: runtimes import the engine only when a cell must run.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from bioeval.cli.slurm_cmds import RUN_EPILOG
from bioeval.errors import UsageError, VerificationFailed
from bioeval.runtimes.options import check_options

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
    f = click.option("--seeds", default=1, show_default=True, type=click.IntRange(1, 100),
                     help="Seed study: run each cell K times, seed = protocol seed + i (docs/statistics.md).")(f)
    f = click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))(f)
    return f


@click.command("run", context_settings=RUN_CONTEXT, epilog=RUN_EPILOG)
@_common
@click.option("--force", is_flag=True, help="Rerun cells even when they are finished (drops their checkpoints).")
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
@click.pass_context
def run_command(ctx, manifest: Path, only: str | None, seeds: int, runtime: str, force: bool,
                no_progress: bool) -> None:
    """Run every cell of MANIFEST (fine-tune or zero-shot, generate, score); finished cells are skipped."""
    from bioeval.manifest import cells as resolve_cells, load_manifest
    from bioeval.manifest.resolve import with_seeds

    settings = ctx.obj
    loaded = load_manifest(manifest)
    cells = with_seeds(resolve_cells(loaded, only), seeds)
    options = check_options(runtime, {"force": force, "only": only, "progress": not no_progress,
                                      **parse_extra(ctx.args)})
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

    from bioeval.manifest.resolve import find_run
    from bioeval.runs import read_json

    loaded = load_manifest(manifest)
    try:
        spec = read_json(Path(settings.workdir) / run_id / "spec.json")  # a seed-study run names its base
    except (OSError, ValueError):
        spec = None
    found = find_run(resolve_cells(loaded), run_id, spec if isinstance(spec, dict) else None)
    match = [found] if found else []
    if not match:
        raise UsageError(f"no cell with run id {run_id} in {manifest}.", "List run ids with `bioeval plan MANIFEST`.")
    dispatch(loaded, match, settings, "local", {"force": force, "progress": False})


@click.command("reproduce", context_settings=RUN_CONTEXT, epilog=RUN_EPILOG)
@_common
@click.option("--no-progress", is_flag=True, help="No progress bars (logs only).")
@click.option("--report", "report_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where the Markdown report goes (default: <workdir>/reports/<manifest>.md, figures beside it).")
@click.pass_context
def reproduce_command(ctx, manifest: Path, only: str | None, seeds: int, runtime: str, no_progress: bool,
                      report_path: Path | None) -> None:
    """Fetch, run, verify and report MANIFEST: the paper's numbers against ours.

    Exit 0 when every expected value is reproduced within tolerance, 1 when not, 3 when a cell
    cannot run here (e.g. it needs GPUs this machine lacks: see `plan`, `audit`, `verify --results`).
    """
    from bioeval.manifest import cells as resolve_cells, load_manifest

    from bioeval.manifest.resolve import with_seeds

    settings = ctx.obj
    loaded = load_manifest(manifest)
    cells = with_seeds(resolve_cells(loaded, only), seeds)
    options = check_options(runtime, {"force": False, "only": only, "progress": not no_progress,
                                      **parse_extra(ctx.args)})  # before fetching anything
    if runtime == "local":
        from bioeval.runtimes.local import check_gpus, pending
        todo = pending(cells, settings)
        check_gpus(loaded, todo)  # stop before fetching anything on a machine that cannot run it
        fetch_inputs(loaded, todo, settings)
    rows = dispatch(loaded, cells, settings, runtime, options)
    _print_rows(rows)
    from bioeval.cli.scoring_cmds import report

    report_path = report_path or Path(settings.workdir) / "reports" / f"{loaded.path.stem}.md"
    if report_is_current(report_path, manifest, cells, settings):
        click.echo(f"report {report_path} is up to date.", err=True)
    else:
        ctx.invoke(report, manifests=(manifest,), results=None, out=report_path, figures_dir=None, metric="f1")
    verify_results(loaded, settings, only)


def report_is_current(report_path: Path, manifest: Path, cells, settings) -> bool:
    """Newer than the manifest and every cell's scores: rewriting it (matplotlib) would change nothing."""
    from bioeval.runs import RunDir

    if not report_path.is_file():
        return False
    inputs = [Path(manifest)] + [RunDir(settings.workdir, c.run_id).scores for c in cells]
    if not all(p.is_file() for p in inputs):
        return False
    return report_path.stat().st_mtime >= max(p.stat().st_mtime for p in inputs)


def fetch_inputs(loaded, cells, settings) -> None:
    """Data splits and model snapshots of the cells that still have to run (none when all are done)."""
    if not cells:
        return
    from bioeval.data.fetch_all import fetch_all
    from bioeval.engine.model_fetch import fetch_model_rows
    from bioeval.errors import DataError

    keys = ",".join(sorted({f"dataset={c.dataset.key}" for c in cells} | {f"model={c.model.key}" for c in cells}))
    rows = fetch_all(loaded, settings, keys) + fetch_model_rows(loaded, settings, keys)
    missing = [r for r in rows if not r["ok"]]
    if missing:
        lines = "; ".join(f"{r['dataset']}/{r['split']}: {r['detail'] or r['origin']}" for r in missing)
        raise DataError(f"{len(missing)} input(s) of {loaded.path} missing or refused: {lines}",
                        f"See `bioeval fetch {loaded.path}` for details.")


def verify_results(loaded, settings, only: str | None) -> None:
    """The paper's values against this workdir's results (bioeval.verify); exit 1 when the global
    verdict fails or values are missing."""
    from bioeval.cli.scoring_cmds import _render_verify
    from bioeval.verify.verify import gate, verify_manifest

    result = verify_manifest(loaded, settings.workdir, only)
    _render_verify(result)
    failure = gate(result)
    if failure:
        raise VerificationFailed(f"{loaded.path}: {failure}", "See the table above; each cell's log.txt is in the workdir.")
    s = result["summary"]
    click.echo(f"verified: {s['reproduced']} value(s) reproduced, global verdict {s['global_verdict']}.")


def _print_rows(rows: list[dict]) -> None:
    done = sum(r["state"] == "done" for r in rows)
    skipped = sum(r["state"] == "skipped" for r in rows)
    click.echo(f"cells: {done} run, {skipped} already finished, {len(rows)} total.", err=True)


COMMANDS = [run_command, run_cell_command, reproduce_command]
