"""The local runtime: run cells one after another in this process.

Every runtime module exports ``run_cells(loaded, cells, settings, options) -> list[dict]``
(one row per cell: run_id, name, state = done | skipped | failed, seconds, error).
A finished cell is skipped by reading its status file only: torch and the engine are
imported when a cell really has to run, so a warm rerun costs well under a second.
Cells whose protocol asks for deterministic numerics get that mode's environment before torch
is imported; when this process imported torch already, they run in a fresh interpreter
(runtimes/isolated.py) that gets the environment from the start.
Deterministic CPU cells run on one thread each, so on a machine with several cores they run
side by side in fresh interpreters (`--jobs N`, default: one per available core): the numbers
do not change, since each cell's arithmetic is fixed by its own single-threaded process.
"""

from __future__ import annotations

import errno
import os
import time
import traceback
from typing import TYPE_CHECKING

from bioeval.engine import numerics
from bioeval.errors import PATH_ERRNOS, WRITE_ERRNOS, BioevalError, EnvironmentProblem, WorkdirError
from bioeval.redact import scrub
from bioeval.runs import RunDir

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings


def gpus_available() -> int:
    import torch  # only reached when some cell needs a GPU

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_gpus(loaded: LoadedManifest, cells: list[Cell]) -> None:
    """Stop before any work when a cell's model needs more GPUs than this machine has."""
    need = max((c.model.resources.gpus for c in cells), default=0)
    if need == 0:
        return
    have = gpus_available()
    if have < need:
        worst = next(c for c in cells if c.model.resources.gpus == need)
        raise EnvironmentProblem(
            f"{loaded.path}: cell {worst.name} needs {need} GPU(s) (models[{worst.model.key}].resources.gpus), "
            f"this machine has {have}.",
            f"Without GPUs you can still run `bioeval plan {loaded.path}`, `bioeval audit {loaded.path}` and "
            f"`bioeval verify {loaded.path} --results DIR` on results computed elsewhere; or use "
            "--runtime slurm / docker on a GPU machine.")


def pending(cells, settings, force: bool = False) -> list:
    """The cells still to run (all of them with ``force``), in their order."""
    return [c for c in cells if force or not RunDir(settings.workdir, c.run_id).is_done()]


def run_cells(loaded: LoadedManifest, cells: list[Cell], settings: Settings, options: dict) -> list[dict]:
    """The local runtime: finished cells become "skipped" rows; the others are checked against
    this machine's GPUs and, with the ``fetch`` option (reproduce sets it), have their inputs
    fetched before any of them runs, so a missing file stops the command before hours of
    training; without it each cell fetches its own when it starts."""
    from bioeval.runtimes.options import check_options

    options = check_options("local", options)
    todo = pending(cells, settings, bool(options.get("force")))
    to_run = {c.run_id for c in todo}
    rows = [{"run_id": c.run_id, "name": c.name, "state": "skipped", "seconds": 0.0, "error": None}
            for c in cells if c.run_id not in to_run]
    if not todo:
        return rows
    check_gpus(loaded, todo)
    if options.get("fetch"):
        from bioeval.engine.inputs import fetch_inputs

        fetch_inputs(loaded, todo, settings)
    return rows + run_pending(loaded, todo, settings, options)


def run_pending(loaded: LoadedManifest, cells: list[Cell], settings: Settings, options: dict) -> list[dict]:
    """Run cells already checked (run_cells): grouped by numerics mode, side by side, in a fresh
    interpreter or here (what a child process of the side-by-side runs calls directly)."""
    by_mode: dict[str, list] = {}
    for c in cells:
        by_mode.setdefault(numerics.mode_of(c), []).append(c)
    rows: list[dict] = []
    for mode, group in by_mode.items():
        jobs = parallel_jobs(options, mode, group)
        if jobs > 1:
            rows += _run_side_by_side(loaded, group, settings, options, mode, jobs)
        elif numerics.needs_child_process(mode):  # torch already set up otherwise: a fresh interpreter
            from bioeval.runtimes.isolated import run_in_child
            rows += run_in_child(loaded, group, settings, options, numerics.child_environment(mode))
        else:
            rows += _run_here(loaded, group, settings, options, mode)
    return rows


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def parallel_jobs(options: dict, mode: str, cells) -> int:
    """How many cell processes run at once: deterministic CPU cells (one thread each) side by side,
    one per core unless --jobs says otherwise; default-numerics CPU cells only when --jobs asks
    for it (each then keeps its BIOEVAL_CPU_THREADS torch threads, one unless set); GPU cells one
    by one."""
    if any(c.model.resources.gpus for c in cells):
        return 1
    jobs = options.get("jobs")
    if mode == "default" and not jobs:
        return 1
    return max(1, min(len(cells), jobs if jobs else available_cores()))


def _run_side_by_side(loaded: LoadedManifest, cells: list[Cell], settings: Settings, options: dict, mode: str, jobs: int) -> list[dict]:
    """Cells dealt round-robin to ``jobs`` fresh interpreters running at the same time."""
    from concurrent.futures import ThreadPoolExecutor

    from bioeval.runtimes.isolated import run_in_child

    env, child_options = numerics.child_environment(mode), {**options, "jobs": 1}
    shares = [cells[i::jobs] for i in range(jobs)]
    with ThreadPoolExecutor(jobs) as pool:  # each thread waits on one child process
        results = list(pool.map(lambda share: run_in_child(loaded, share, settings, child_options, env), shares))
    order = {c.run_id: i for i, c in enumerate(cells)}
    return sorted((row for rows in results for row in rows), key=lambda r: order.get(r["run_id"], 0))


def _run_here(loaded: LoadedManifest, cells: list[Cell], settings: Settings, options: dict, mode: str) -> list[dict]:
    from bioeval.console import ScrubbingConsole as Console

    numerics.prepare(mode)  # before torch is imported: the native libraries read it then
    from bioeval.engine.cell import run_cell  # imports torch: only now that a cell must run

    numerics.apply_torch(mode)
    force = bool(options.get("force"))
    console = Console(stderr=True)
    rows = []
    for c in cells:
        console.print(f"[bold]run[/] {c.name} ({c.run_id})")
        t0 = time.perf_counter()
        row = {"run_id": c.run_id, "name": c.name, "state": "done", "seconds": 0.0, "error": None}
        try:
            scores = run_cell(loaded, c, settings, force=force, show_progress=options.get("progress", True))
            m = scores["metrics"]
            console.print(f"  done: P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f} "
                          f"({time.perf_counter() - t0:.1f}s)")
        except EnvironmentProblem as exc:
            if isinstance(exc, WorkdirError):
                _mark_failed(RunDir(settings.workdir, c.run_id), str(exc))
            raise  # the same for every cell: stop at once
        except BioevalError as exc:
            row.update(state="failed", error=str(exc))
            console.print(f"  [red]failed[/]: {exc}")
        except Exception as exc:
            rundir = RunDir(settings.workdir, c.run_id)
            error = _workdir_error(exc, rundir, c.name)
            if error:  # a read-only, full or foreign workdir: the same for every cell, so stop at once
                _mark_failed(rundir, str(error))
                raise error from None
            # a bug: keep going with the other cells, keep the traceback in the log
            row.update(state="failed", error=f"{type(exc).__name__}: {exc}")
            with open(RunDir(settings.workdir, c.run_id).log, "a", encoding="utf-8") as f:
                f.write(scrub(traceback.format_exc()))
            console.print(f"  [red]failed[/]: {type(exc).__name__}: {exc} (traceback in the cell's log.txt)")
        row["seconds"] = round(time.perf_counter() - t0, 3)
        rows.append(row)
    return rows


def _mark_failed(rundir: RunDir, error: str) -> None:
    """Best effort: a cell this process left "running" is recorded as failed.  When even that
    write fails (a full disk), RunDir.status() reads a running state no process holds as failed."""
    from bioeval.runs import read_json

    try:
        if read_json(rundir.status_file).get("state") == "running":  # the file, not the stale-aware view
            rundir.set_status("failed", error=error)
    except (OSError, ValueError):
        pass


def _workdir_error(exc: BaseException, rundir: RunDir, name: str) -> WorkdirError | None:
    """A WorkdirError when ``exc`` (or its cause) is a file system the user must fix: read-only,
    full, no permission; also a full disk reported in a library's own error type (safetensors)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS | PATH_ERRNOS:
            return WorkdirError.from_os_error(exc, f"cell {name}")
        if os.strerror(errno.ENOSPC) in str(exc):
            full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(rundir.path))
            return WorkdirError.from_os_error(full, f"cell {name}: {type(exc).__name__}")
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None
