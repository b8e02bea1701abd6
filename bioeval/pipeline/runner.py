"""Run cells on a runtime (local, docker, slurm) and fail loudly when a cell fails."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from bioeval.errors import BioevalError, UsageError

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings

RUNTIMES = ("local", "docker", "slurm")


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


def dispatch(loaded: LoadedManifest, cells: list[Cell], settings: Settings, runtime: str, options: dict) -> list[dict]:
    rows = load_runtime(runtime).run_cells(loaded, cells, settings, options)
    failed = [r for r in rows if r.get("state") == "failed"]
    if failed:
        names = "; ".join(f"{r['name']} ({r['run_id']}): {r.get('error')}" for r in failed)
        raise BioevalError(f"{len(failed)} of {len(rows)} cell(s) failed: {names}",
                           f"Logs are in {settings.workdir}/<run_id>/log.txt; rerun to resume.")
    return rows


def run_cell_by_id(loaded: LoadedManifest, run_id: str, settings: Settings, force: bool = False) -> list[dict]:
    """Exactly one cell here, by run id (what container and Slurm tasks call); a seed-study run is
    found through the base run its spec.json names."""
    from bioeval.manifest import cells as resolve_cells
    from bioeval.manifest.resolve import find_run
    from bioeval.runs import read_json
    from bioeval.runs.read import RunFolder

    try:
        spec = read_json(RunFolder.of(settings.workdir, run_id).spec_file)
    except (OSError, ValueError):
        spec = None
    found = find_run(resolve_cells(loaded), run_id, spec if isinstance(spec, dict) else None)
    match = [found] if found else []
    if not match:
        raise UsageError(f"no cell with run id {run_id} in {loaded.path}.", "List run ids with `bioeval plan MANIFEST`.")
    return dispatch(loaded, match, settings, "local", {"force": force, "progress": False})
