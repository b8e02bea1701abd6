"""Where each cell stands: run dir files + this workdir's Slurm submissions + squeue (sacct).

A submission lives in `<workdir>/slurm/<id>/`:

    submission.json      manifest, options, grid, arrays and their job ids
    grid.tsv             index, run_id, model, dataset (one line per cell of this submission)
    job*.sbatch          the job-array script(s), one per resource group
    submit.sh            the sbatch calls
    logs/<run_id>.log    each task's output (logs/slurm-%A_%a.out: anything before it opens)
    tasks/<run_id>.json  each task's outcome, written by the script: running|exited|cancelled

A cell's latest submitted task decides its Slurm side; a done cell is done whatever Slurm says.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bioeval.runs import CellBusy, RunDir, read_json
from bioeval.runtimes import slurm_client as client

SLURM_SUBDIR = "slurm"
STATES = ("pending", "running", "done", "failed", "cancelled")
TAIL_LINES = 15


@dataclass
class TaskRef:
    """A cell's place in a submitted array."""

    submission: str
    folder: Path
    job: str  # "JOBID_TASK"
    index: int

    @property
    def log(self) -> Path:
        return self.folder / "logs" / f"{self.run_id}.log"

    run_id: str = ""

    def outcome(self) -> dict | None:
        try:
            return read_json(self.folder / "tasks" / f"{self.run_id}.json")
        except (FileNotFoundError, json.JSONDecodeError):
            return None


@dataclass
class CellState:
    run_id: str
    model: str
    dataset: str
    state: str  # one of STATES
    detail: str
    job: str | None = None
    log: str | None = None
    in_queue: bool = False  # queued or running in Slurm right now
    tail: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def submissions_dir(workdir: Path) -> Path:
    return Path(workdir) / SLURM_SUBDIR


def load_submissions(workdir: Path) -> list[dict]:
    """Every submission of this workdir, oldest first (ids sort by time)."""
    found = []
    for path in sorted(submissions_dir(workdir).glob("*/submission.json")):
        try:
            sub = read_json(path)
        except (OSError, json.JSONDecodeError):
            continue
        sub["_folder"] = str(path.parent)
        found.append(sub)
    return found


def latest_tasks(submissions: list[dict]) -> dict[str, TaskRef]:
    """run_id -> the task of its newest submitted array (dry runs submit nothing)."""
    tasks: dict[str, TaskRef] = {}
    for sub in submissions:
        for array in sub.get("arrays", []):
            if not array.get("job_id"):
                continue
            for cell in sub["cells"]:
                i = cell["index"]
                if array["offset"] <= i < array["offset"] + array["count"]:
                    tasks[cell["run_id"]] = TaskRef(sub["id"], Path(sub["_folder"]),
                                                    f"{array['job_id']}_{i - array['offset']}", i, cell["run_id"])
    return tasks


def known_cells(workdir: Path, submissions: list[dict]) -> list[tuple[str, str, str]]:
    """(run_id, model, dataset) of every cell this workdir knows: run dirs and submission grids."""
    cells: dict[str, tuple[str, str, str]] = {}
    for spec_path in sorted(Path(workdir).glob("*/spec.json")):
        try:
            spec = read_json(spec_path)
            cells[spec_path.parent.name] = (spec_path.parent.name, spec["model"]["key"], spec["dataset"]["key"])
        except (OSError, KeyError, TypeError, json.JSONDecodeError):
            continue
    for sub in submissions:
        for c in sub.get("cells", []):
            cells.setdefault(c["run_id"], (c["run_id"], c["model"], c["dataset"]))
    return sorted(cells.values(), key=lambda c: (c[1], c[2]))


def tail(path: Path | None, n: int = TAIL_LINES) -> list[str]:
    if path is None or not path.exists():
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.rstrip("\n") for line in deque(f, maxlen=n)]


def cell_states(workdir: Path, cells: list[tuple[str, str, str]] | None = None,
                config: dict | None = None, use_slurm: bool = True) -> list[CellState]:
    """The state of each (run_id, model, dataset); all cells the workdir knows when None."""
    workdir = Path(workdir)
    submissions = load_submissions(workdir)
    if cells is None:
        cells = known_cells(workdir, submissions)
    tasks = latest_tasks(submissions)
    jobs = {t.job.split("_")[0] for rid, t in tasks.items() if rid in {c[0] for c in cells}}
    queue = client.squeue_states(jobs) if (use_slurm and jobs) else ({} if not jobs else None)
    accounting = None
    if use_slurm and jobs and client.accounting_enabled(config if config is not None else client.show_config()):
        accounting = client.sacct_states(jobs)
    return [resolve(workdir, rid, model, dataset, tasks.get(rid), queue, accounting)
            for rid, model, dataset in cells]


def resolve(workdir: Path, run_id: str, model: str, dataset: str, task: TaskRef | None,
            queue: dict[str, str] | None, accounting: dict[str, str] | None) -> CellState:
    rundir = RunDir(workdir, run_id)
    state = CellState(run_id, model, dataset, "pending", "not submitted")
    if task:
        state.job, state.log = task.job, str(task.log)
    if rundir.is_done():
        state.state, state.detail = "done", "scores.json written"
        return state
    if task:
        _from_slurm(state, task, queue, accounting, rundir)
    else:
        _from_files(state, rundir)
    if state.state in ("failed", "cancelled"):
        state.tail = tail(Path(state.log) if state.log and Path(state.log).exists() else rundir.log)
    return state


def _from_slurm(state: CellState, task: TaskRef, queue, accounting, rundir: RunDir) -> None:
    slurm = (queue or {}).get(task.job)
    if slurm in client.QUEUED:
        state.state, state.detail, state.in_queue = "pending", f"queued ({slurm.lower()})", True
        return
    if slurm in client.ACTIVE:
        state.state, state.detail, state.in_queue = "running", f"running ({slurm.lower()})", True
        return
    final = (accounting or {}).get(task.job)
    outcome = task.outcome()
    if outcome and outcome.get("state") == "cancelled":
        state.state = "cancelled"
        state.detail = f"terminated by Slurm ({final.lower()})" if final else \
            "terminated by Slurm (scancel, time limit or preemption)"
    elif outcome and outcome.get("state") == "exited":
        code = outcome.get("exit")
        error = rundir.status().get("error")
        state.state = "failed"
        state.detail = f"task exited {code}" if code else "task exited 0 but the cell is not done"
        if error:
            state.detail += f": {str(error)[:200]}"
    elif outcome and outcome.get("state") == "running":
        if queue is None:  # squeue unreachable: trust the task's own record
            state.state, state.detail = "running", "started (squeue unavailable)"
        else:
            state.state = "failed"
            state.detail = f"task killed ({final.lower()})" if final else \
                "task ended without recording an outcome (killed: memory, time limit or node failure)"
    elif queue is None:
        _from_files(state, rundir)
        state.detail += " (squeue unavailable)"
    elif final in client.FAILED:
        state.state, state.detail = "failed", f"{final.lower()} before the task started"
    else:
        state.state, state.detail = "cancelled", "left the queue without starting (cancelled while queued)"


def _from_files(state: CellState, rundir: RunDir) -> None:
    status = rundir.status()
    s = status.get("state", "pending")
    if s == "running":
        try:  # a lock nobody holds means the process that wrote "running" is gone
            rundir.acquire()
            rundir.release()
            state.state, state.detail = "failed", "interrupted (status running, but no process holds the cell)"
        except CellBusy:
            state.state, state.detail = "running", "running (outside Slurm)"
    elif s == "failed":
        state.state, state.detail = "failed", str(status.get("error") or status.get("reason") or "failed")[:200]
    else:
        state.state, state.detail = "pending", "not submitted"
    if state.log is None and rundir.log.exists():
        state.log = str(rundir.log)


def counts(states: list[CellState]) -> dict[str, int]:
    out = {s: 0 for s in STATES}
    for st in states:
        out[st.state] += 1
    return out
