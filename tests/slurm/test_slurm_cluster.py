"""Against a real single-node Slurm (slurmctld + slurmd on localhost): arrays run, fail, get
cancelled and retried; Ctrl-C leaves jobs running; MaxArraySize splitting is accepted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bioeval.errors import BioevalError, UsageError
from bioeval.manifest import cells, load_manifest
from bioeval.runs import RunDir
from bioeval.runtimes import slurm_client as client
from bioeval.runtimes.slurm import run_cells
from bioeval.runtimes.slurm_script import GridRow, Group, Request, split_arrays
from bioeval.runtimes.slurm_state import cell_states, load_submissions

from .conftest import CELL_COMMAND, REPO, wait_for

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

CPU = "{gpus: 0, memory_gb: 1, time: '00:05:00'}"


@pytest.fixture(autouse=True)
def _fast_poll(monkeypatch, slurm_cluster):
    monkeypatch.setenv("BIOEVAL_SLURM_POLL_S", "0.5")
    monkeypatch.delenv("FAIL_MODELS", raising=False)
    monkeypatch.delenv("CELL_SECONDS", raising=False)


def by_model(states):
    out = {}
    for s in states:
        out.setdefault(s.model, set()).add(s.state)
    return out


def test_failed_cells_are_retried_alone_and_done_cells_never_resubmitted(make_manifest, settings, cli, monkeypatch):
    loaded = load_manifest(make_manifest(models=[("ok", CPU), ("bad", "{gpus: 0, memory_gb: 2}")], datasets=2))
    grid = cells(loaded)
    monkeypatch.setenv("FAIL_MODELS", "bad")
    with pytest.raises(BioevalError, match="2 of 4 cell"):
        run_cells(loaded, grid, settings, {"array_parallelism": 2}, run_command=CELL_COMMAND)
    states = cell_states(settings.workdir, [(c.run_id, c.model.key, c.dataset.key) for c in grid])
    assert by_model(states) == {"ok": {"done"}, "bad": {"failed"}}
    failed = [s for s in states if s.state == "failed"]
    assert all("simulated training error" in "\n".join(s.tail) for s in failed)
    assert all(Path(s.log).name == f"{s.run_id}.log" for s in failed)
    (first,) = load_submissions(settings.workdir)
    assert len(first["arrays"]) == 2 and all(a["job_id"] for a in first["arrays"])  # two resource groups

    # the status command, by workdir and by manifest
    out = cli("--workdir", str(settings.workdir), "status", str(loaded.path), "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(c["state"] for c in json.loads(out.stdout)["cells"]) == ["done", "done", "failed", "failed"]
    out = cli("status", str(settings.workdir))
    assert out.returncode == 0 and "simulated training error" in out.stdout and "2 failed" in out.stdout

    # the same command again: nothing to submit (done is done, failed waits for --retry-failed),
    # and it still reports the failures
    with pytest.raises(BioevalError, match="--retry-failed"):
        run_cells(loaded, grid, settings, {}, run_command=CELL_COMMAND)
    assert len(load_submissions(settings.workdir)) == 1

    monkeypatch.delenv("FAIL_MODELS")
    result = run_cells(loaded, grid, settings, {"retry_failed": True}, run_command=CELL_COMMAND)
    assert sorted(r["state"] for r in result) == ["done", "done", "skipped", "skipped"]
    assert {r["run_id"] for r in result if r["state"] == "done"} == {s.run_id for s in failed}
    first, second = load_submissions(settings.workdir)
    assert {c["run_id"] for c in second["cells"]} == {s.run_id for s in failed}
    assert all(RunDir(settings.workdir, c.run_id).is_done() for c in grid)  # the same run dirs


SUBMIT = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from bioeval.manifest import cells, load_manifest
    from bioeval.runtimes.slurm import run_cells
    from bioeval.settings import Settings
    from slurm.conftest import CELL_COMMAND
    loaded = load_manifest(sys.argv[1])
    run_cells(loaded, cells(loaded), Settings(workdir=sys.argv[2]), {"array_parallelism": 1}, run_command=CELL_COMMAND)
""")


def test_ctrl_c_leaves_jobs_running_then_cancelled_tasks_are_retried(make_manifest, settings):
    loaded = load_manifest(make_manifest(models=[("m", CPU)], datasets=3))
    grid = cells(loaded)
    keys = [(c.run_id, c.model.key, c.dataset.key) for c in grid]
    env = {**os.environ, "CELL_SECONDS": "4", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", SUBMIT, str(loaded.path), str(settings.workdir),
                             str(REPO / "tests")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: any(s.state == "running" for s in cell_states(settings.workdir, keys)), 60, 0.3, "a running task")
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 130, output
    assert "the Slurm jobs keep running" in output and "Reattach with: bioeval --workdir" in output
    states = cell_states(settings.workdir, keys)
    assert all(s.in_queue for s in states)  # still queued or running after Ctrl-C

    # re-running the command while they are queued/running submits nothing new
    run_cells(loaded, grid, settings, {"wait": False}, run_command=CELL_COMMAND)
    assert len(load_submissions(settings.workdir)) == 1

    # cancel the running task (SIGTERM reaches the cell) and the last, still queued one
    running = next(s for s in states if s.state == "running")
    queued = next(s for s in states if s.state == "pending" and s.job != running.job and s.job.endswith("_2"))
    client.scancel(running.job)
    client.scancel(queued.job)
    final = wait_for(lambda: (lambda st: st if not any(s.in_queue for s in st) else None)(
        cell_states(settings.workdir, keys)), 60, 0.5, "the array to drain")
    states = {s.run_id: s for s in final}
    assert states[running.run_id].state == "cancelled"
    assert "terminated by Slurm" in states[running.run_id].detail
    assert states[queued.run_id].state == "cancelled" and "while queued" in states[queued.run_id].detail
    (middle,) = [s for s in final if s.run_id not in (running.run_id, queued.run_id)]
    assert middle.state == "done"

    # --retry-failed resubmits exactly the two cancelled cells; the killed one reruns in its run dir
    result = run_cells(loaded, grid, settings, {"retry_failed": True}, run_command=CELL_COMMAND)
    assert {r["state"] for r in result} == {"done", "skipped"}
    second = load_submissions(settings.workdir)[-1]
    assert {c["run_id"] for c in second["cells"]} == {running.run_id, queued.run_id}


def test_max_array_size_from_the_real_cluster(tmp_path):
    config = client.show_config()
    limit = client.max_array_size(config)
    assert limit == int(config["MaxArraySize"])
    script = tmp_path / "noop.sbatch"
    script.write_text(f"#!/bin/bash\n#SBATCH --output={tmp_path}/%A_%a.out\ntrue\n")
    # the cluster really refuses an array one task longer than MaxArraySize ...
    with pytest.raises(UsageError, match="sbatch refused"):
        client.sbatch([f"--array=0-{limit}", "--hold"], str(script), [])
    # ... and accepts the split arrays (held, then cancelled: nothing runs)
    rows = [GridRow(i, f"r{i}", "m", "d", 0) for i in range(limit + 1)]
    arrays = split_arrays([Group(0, Request(), ["m"], rows, script.name)], limit)
    assert [(a.offset, a.count) for a in arrays] == [(0, limit), (limit, 1)]
    jobs = [client.sbatch([f"--array={a.spec(None)}", "--hold"], str(script), [str(a.offset)]) for a in arrays]
    try:
        assert all(j.isdigit() for j in jobs)
    finally:
        for j in jobs:
            client.scancel(j)


def test_split_arrays_run_every_grid_line(make_manifest, settings):
    """A limit of 2 splits 5 cells into arrays of 2, 2 and 1: each offset reaches its cells."""
    loaded = load_manifest(make_manifest(models=[("m", CPU)], datasets=5))
    grid = cells(loaded)
    run_cells(loaded, grid, settings, {"max_array_size": 2}, run_command=CELL_COMMAND)
    states = cell_states(settings.workdir, [(c.run_id, c.model.key, c.dataset.key) for c in grid])
    assert {s.state for s in states} == {"done"}
    (sub,) = load_submissions(settings.workdir)
    assert [(a["offset"], a["count"]) for a in sub["arrays"]] == [(0, 2), (2, 2), (4, 1)]
    assert len({a["job_id"] for a in sub["arrays"]}) == 3
    assert sorted(s.job.split("_")[1] for s in states) == ["0", "0", "0", "1", "1"]


def test_inputs_are_fetched_before_anything_is_submitted(make_manifest, settings):
    from bioeval.errors import DataError

    path = make_manifest()
    (path.parent / "model" / "config.json").unlink()
    loaded = load_manifest(path)
    with pytest.raises(DataError, match="holds no config.json"):
        run_cells(loaded, cells(loaded), settings, {}, run_command=CELL_COMMAND)
    assert load_submissions(settings.workdir) == []
    # --no-fetch leaves it to the tasks (here the trivial command, which needs no model)
    run_cells(loaded, cells(loaded), settings, {"no_fetch": True}, run_command=CELL_COMMAND)
    assert len(load_submissions(settings.workdir)) == 1
