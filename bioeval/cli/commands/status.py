"""`bioeval status`: where each cell of a workdir or manifest stands (local runs and Slurm arrays)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.errors import UsageError

@click.command()
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--only", default=None, help="With a MANIFEST: filter cells (model=KEY,dataset=KEY,task=NER).")
@click.option("--json", "as_json", is_flag=True, help="Print the cells' states as JSON.")
@click.option("--watch", is_flag=True, help="Keep a live table until no cell is queued or running (Ctrl-C stops watching).")
@click.pass_obj
def status(settings, target: Path, only: str | None, as_json: bool, watch: bool) -> None:
    """Per-cell state of WORKDIR or MANIFEST: pending, running, done, failed, cancelled.

    \b
    With a MANIFEST, its cells are looked up in --workdir; with a WORKDIR, every cell it holds.
    Failed and cancelled cells show their log path and its last lines.  Slurm arrays are read
    from squeue (sacct when accounting is on) and from the tasks' own records.
    """
    from bioeval.runtimes.slurm_state import cell_states

    workdir, cells = _resolve_target(settings, target, only)
    if watch:
        from bioeval.console import console
        from bioeval.runtimes.slurm_watch import watch as watch_cells

        keys = cells or [(s.run_id, s.model, s.dataset) for s in cell_states(workdir)]
        watch_cells(workdir, keys, console(), reattach=f"bioeval status {target} --watch")
    states = cell_states(workdir, cells)
    if as_json:
        click.echo(json.dumps({"workdir": str(workdir), "cells": [s.as_dict() for s in states]}, indent=2))
        return
    _render(workdir, states)


def _resolve_target(settings, target: Path, only: str | None):
    from bioeval.runs.read import RunFolder

    if target.is_dir() and RunFolder(target).has_spec():
        raise UsageError(f"{target} is one run's folder, not a workdir.",
                         f"Give its workdir: `bioeval status {target.parent}`; for its instances: `bioeval show {target}`.")
    if target.is_dir():
        if only:
            raise UsageError("--only works with a MANIFEST, not a WORKDIR.",
                             f"Run `bioeval --workdir {target} status MANIFEST --only ...`.")
        return target.resolve(), None
    if target.is_file():
        from bioeval.manifest import cells, load_manifest

        loaded = load_manifest(target)
        return Path(settings.workdir).resolve(), [(c.run_id, c.model.key, c.dataset.key)
                                                  for c in cells(loaded, only)]
    raise UsageError(f"{target}: no such workdir or manifest.",
                     "Give the workdir of a run (e.g. bioeval-runs) or the manifest you ran.")


def _render(workdir: Path, states) -> None:
    from bioeval.console import console
    from bioeval.runtimes.slurm_watch import summary, table

    c = console()
    if not states:
        c.print(f"No cells in {workdir} yet.")
        return
    c.print(table(states, title=f"cells in {workdir}", limit=None, base=workdir))
    c.print(summary(states))
    for s in states:
        if s.state in ("failed", "cancelled"):
            c.print(f"\n[bold]{s.model} x {s.dataset}[/bold] ({s.state}: {s.detail})  log: {s.log or '-'}")
            for line in s.tail:
                c.print(f"  | {line}", markup=False, highlight=False)


COMMANDS = [status]
