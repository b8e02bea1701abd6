"""The Slurm runtime: the grid as job arrays, one task per cell, resumable and retryable.

`bioeval run MANIFEST --runtime slurm` calls `run_cells`, which
  1. works out each cell's state (slurm_state) and picks the cells to submit: never-submitted
     pending cells, plus failed/cancelled ones with --retry-failed; done, queued and running
     cells are never submitted again;
  2. fetches the chosen cells' data and models on the submit host (the cache must be on a
     file system the nodes share; --no-fetch skips this), then writes grid.tsv, one sbatch script per resource group and submit.sh under
     <workdir>/slurm/<submission-id>/ (slurm_script), and submits the arrays, split at the
     cluster's MaxArraySize (unless --dry-run);
  3. watches squeue and the cells' files until nothing is queued or running (slurm_watch).
Each task runs `bioeval run-cell MANIFEST --run-id RUN_ID` against the same workdir, so a
cell always lands in (and resumes from) <workdir>/<run_id>/.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shlex
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from bioeval.console import ScrubbingConsole
from bioeval.engine import numerics
from bioeval.errors import BioevalError, EnvironmentProblem
from bioeval.runs import RunDir, write_json, write_text
from bioeval.runtimes import slurm_client as client
from bioeval.runtimes.slurm_script import (Array, CellCommand, Options, build_groups, grid_text,
                                           sbatch_script, split_arrays, submit_text)
from bioeval.runtimes.slurm_state import CellState, cell_states, counts, submissions_dir
from bioeval.runtimes.slurm_watch import summary, table, watch

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings


@dataclass
class Submission:
    id: str
    folder: Path
    arrays: list[Array]
    cells: list  # the cells it covers
    submitted: bool


def new_submission_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


@contextmanager
def submit_lock(workdir: Path):
    """Two `run --runtime slurm` on one workdir must not both submit the same cells."""
    folder = submissions_dir(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".submit.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def submittable(state: CellState, retry_failed: bool) -> bool:
    if state.state == "pending":
        return not state.in_queue
    return retry_failed and state.state in ("failed", "cancelled")


def local_binds(loaded: LoadedManifest, settings: Settings | None = None) -> list[Path]:
    """Folders a container must see: local data files (checked: sources.check_local_sources) and
    local models named by the manifest.  A data location unset here may be set on the nodes."""
    from bioeval.data.sources import check_local_sources

    base = Path(loaded.path).resolve().parent
    paths = [p.resolve().parent for p in check_local_sources(loaded, settings)]
    for model in loaded.manifest.models:
        if model.revision and model.revision.startswith(("./", "../", "/", "~")):
            paths.append((base / os.path.expanduser(model.revision)).resolve())
    return paths


def hf_home() -> Path:
    """The Hugging Face cache the cells download models into (bound into containers)."""
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(os.path.expanduser(home)).resolve()


def write_submission(loaded: LoadedManifest, cells: list[Cell], settings: Settings, opts: Options, *, config: dict | None,
                     run_command: str | None = None, max_array_size: int | None = None) -> Submission:
    """Write grid, scripts and submit.sh (and submit unless --dry-run)."""
    workdir = Path(settings.workdir).resolve()
    sub_id = new_submission_id()
    folder = submissions_dir(workdir) / sub_id
    for sub in ("logs", "tasks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    if max_array_size is None:
        max_array_size = client.max_array_size(config)
        source = "from scontrol show config" if config else "Slurm's default; scontrol was not reachable"
    else:
        source = "set by the caller"
    groups = build_groups(cells, opts)
    arrays = split_arrays(groups, max_array_size)
    command = CellCommand(python=sys.executable, workdir=workdir, manifest=Path(loaded.path).resolve(),
                          data_mirror=Path(settings.data_mirror).resolve() if settings.data_mirror else None,
                          cache_dir=Path(settings.cache_dir).resolve() if settings.cache_dir else None,
                          hf_home=hf_home() if opts.container != "none" else None,
                          binds=tuple(local_binds(loaded, settings)),
                          env_names=tuple(loc.var for loc in loaded.manifest.data_locations),
                          allow_outside_paths=bool(getattr(settings, "allow_outside_paths", False)))
    write_text(folder / "grid.tsv", grid_text(groups))
    for group in groups:
        text = sbatch_script(submission_id=sub_id, submission_dir=folder, group=group, arrays=arrays,
                             options=opts, command=command, manifest_sha256=loaded.sha256,
                             max_array_size=max_array_size, max_array_source=source, run_command=run_command,
                             numerics_env=group_numerics_env(group, cells))
        write_text(folder / group.script, text)
        os.chmod(folder / group.script, 0o755)
    write_text(folder / "submit.sh", submit_text(folder, arrays, opts.array_parallelism))
    os.chmod(folder / "submit.sh", 0o755)
    for cell in cells:  # run dirs exist from now on, so `bioeval status WORKDIR` lists them
        RunDir(workdir, cell.run_id).create({**cell.spec, "run_id": cell.run_id, "name": cell.name})

    record = {
        "id": sub_id, "created": time.time(), "manifest": str(command.manifest), "manifest_sha256": loaded.sha256,
        "workdir": str(workdir), "options": {f.name: getattr(opts, f.name) for f in fields(Options)},
        "max_array_size": max_array_size,
        "groups": [{"index": g.index, "script": g.script, "models": g.models, "request": g.request.__dict__}
                   for g in groups],
        "cells": [{"index": r.index, "run_id": r.run_id, "model": r.model, "dataset": r.dataset, "group": r.group}
                  for g in groups for r in g.rows],
        "arrays": [a.__dict__ for a in arrays], "submitted": False,
    }
    write_json(folder / "submission.json", record)
    if not opts.dry_run:
        try:
            for array in arrays:
                opts_argv = [f"--array={array.spec(opts.array_parallelism)}"]
                array.job_id = client.sbatch(opts_argv, str(folder / array.script), [str(array.offset)])
        finally:  # record what was submitted even when a later sbatch fails
            record["arrays"] = [a.__dict__ for a in arrays]
            record["submitted"] = any(a.job_id for a in arrays)
            write_json(folder / "submission.json", record)
    return Submission(sub_id, folder, arrays, list(cells), not opts.dry_run)


def reattach_hint(loaded: LoadedManifest, settings: Settings, opts: Options) -> str:
    workdir = shlex.quote(str(Path(settings.workdir).resolve()))
    return (f"bioeval --workdir {workdir} status {workdir} --watch   "
            f"(or run the same `bioeval run {shlex.quote(str(loaded.path))} --runtime slurm` again: "
            "it submits nothing that is queued, running or done)")


def rows(states: list[CellState], done_before: set[str], cells) -> list[dict]:
    """The runtimes' common result rows (run_id, name, state, seconds, error), Slurm details added.
    state: done | skipped (done before this command) | failed (failed or cancelled) | pending | running."""
    names = {c.run_id: c.name for c in cells}
    out = []
    for s in states:
        state = "skipped" if s.run_id in done_before else \
            "failed" if s.state in ("failed", "cancelled") else s.state
        out.append({"run_id": s.run_id, "name": names.get(s.run_id, f"{s.model} x {s.dataset}"), "state": state,
                    "seconds": None, "error": f"{s.state}: {s.detail}" if state == "failed" else None,
                    "slurm_state": s.state, "job": s.job, "log": s.log})
    return out


def group_numerics_env(group, cells) -> dict[str, str]:
    """The numerics variables the group's tasks export (protocol.numerics); none when its cells
    disagree: run-cell then still sets each cell's mode before torch is imported."""
    ids = {r.run_id for r in group.rows}
    modes = {numerics.mode_of(c) for c in cells if c.run_id in ids}
    return numerics.environment(modes.pop()) if len(modes) == 1 else {}


def run_cells(loaded: LoadedManifest, cells: list[Cell], settings: Settings, options: dict, *, console: Console | None = None,
              run_command: str | None = None) -> list[dict]:
    """Submit the grid's outstanding cells as job arrays and (unless wait is off) watch them.

    `options`: partition, account, time, array_parallelism, container, image, dry_run,
    retry_failed, wait (see slurm_script.Options); max_array_size (not a CLI option) replaces
    the cluster's limit, to exercise splitting.  `run_command` replaces the bioeval call
    inside each task (bash text; tests use it to run a small real command).
    """
    console = console or options.get("console") or ScrubbingConsole()
    opts = Options.parse(options)
    workdir = Path(settings.workdir).resolve()
    if not opts.dry_run and not client.have_slurm():
        raise EnvironmentProblem("sbatch/squeue are not on PATH: this machine is not a Slurm submit host.",
                                 "Run on a login node of your cluster, or add --dry-run to write the scripts "
                                 "and submit them by hand.")
    config = client.show_config() if client.have_slurm() else None
    if not opts.dry_run and config is None:
        raise EnvironmentProblem("Slurm is installed but `scontrol show config` fails: the controller is not "
                                 "reachable (check SLURM_CONF and that slurmctld runs).",
                                 "Use --dry-run to only write the scripts.")
    keys = [(c.run_id, c.model.key, c.dataset.key) for c in cells]
    with submit_lock(workdir):
        before = cell_states(workdir, keys, config=config, use_slurm=config is not None)
        by_id = {s.run_id: s for s in before}
        done_before = {s.run_id for s in before if s.state == "done"}
        chosen = [c for c in cells if submittable(by_id[c.run_id], opts.retry_failed)]
        _explain_skipped(console, before, chosen, opts)
        submission = None
        if chosen and opts.fetch and not opts.dry_run:
            from bioeval.engine.inputs import fetch_inputs  # data splits and model snapshots

            fetch_inputs(loaded, chosen, settings)
        if chosen:
            submission = write_submission(loaded, chosen, settings, opts, config=config, run_command=run_command,
                                          max_array_size=options.get("max_array_size"))
    if submission:
        verb = "Wrote" if opts.dry_run else "Submitted"
        jobs = ", ".join(a.job_id for a in submission.arrays if a.job_id)
        console.print(f"{verb} {len(chosen)} cell(s) as {len(submission.arrays)} job array(s)"
                      f"{' (jobs ' + jobs + ')' if jobs else ''}: {submission.folder}", highlight=False)
    if opts.dry_run:
        if submission:
            console.print(f"Dry run: nothing submitted. Submit by hand with: bash {submission.folder / 'submit.sh'}",
                          highlight=False)
        return rows(before, done_before, cells)
    if not opts.wait:
        console.print(f"Not waiting. Follow with: {reattach_hint(loaded, settings, opts)}", highlight=False)
        return rows(cell_states(workdir, keys, config=config), done_before, cells)
    states = watch(workdir, keys, console, reattach_hint(loaded, settings, opts))
    console.print(summary(states))
    bad = [s for s in states if s.state in ("failed", "cancelled")]
    if bad:
        console.print(table(bad, title="Cells that did not finish", limit=None, base=workdir))
        raise BioevalError(f"{len(bad)} of {len(states)} cell(s) failed or were cancelled on Slurm; "
                           "their logs are listed above (and by `bioeval status`).",
                           "Fix the cause, then resubmit only those cells with the same command plus "
                           "--retry-failed (finished cells are kept).")
    return rows(states, done_before, cells)


def _explain_skipped(console: Console, states: list[CellState], chosen, opts: Options) -> None:
    chosen_ids = {c.run_id for c in chosen}
    c = counts([s for s in states if s.run_id not in chosen_ids])
    queued = sum(1 for s in states if s.in_queue)
    parts = []
    if c["done"]:
        parts.append(f"{c['done']} done")
    if queued:
        parts.append(f"{queued} already queued or running")
    left = c["failed"] + c["cancelled"]
    if left:
        parts.append(f"{left} failed or cancelled (add --retry-failed to resubmit them)")
    if parts:
        console.print("Not submitting: " + "; ".join(parts) + ".", highlight=False)
    if not chosen:
        console.print("Nothing to submit.", highlight=False)
