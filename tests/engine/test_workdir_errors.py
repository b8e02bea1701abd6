"""A read-only or full workdir is a located runtime error (exit 3, the file and the fix named, no
traceback), and never leaves a cell "running".  Real file systems: tmpfs mounts (root only)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from bioeval.manifest import cells, load_manifest
from bioeval.runs import RunDir, write_json

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "manifests" / "smoke.yaml"


@pytest.fixture
def mount(tmp_path):
    mounted = []

    def make(options: str) -> Path:
        point = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.decode().strip()}); needs root")
        mounted.append(point)
        return point

    yield make
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def _only_first_cell():
    loaded = load_manifest(SMOKE)
    first = cells(loaded)[0]
    return first, f"model={first.model.key},dataset={first.dataset.key}"


def test_read_only_workdir_is_a_located_runtime_error(mount, cli):
    workdir = mount("ro,size=1m")
    cell, only = _only_first_cell()
    proc = cli("--workdir", str(workdir), "run", str(SMOKE), "--only", only, "--no-progress")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Internal error" not in proc.stderr
    assert f"cannot write {workdir}" in proc.stderr and "read-only" in proc.stderr.lower()


@pytest.mark.slow
def test_full_workdir_fails_located_and_leaves_no_cell_running(mount, cli):
    workdir = mount("size=48k")
    cell, only = _only_first_cell()
    proc = cli("--workdir", str(workdir), "run", str(SMOKE), "--only", only, "--no-progress", timeout=600)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "Internal error" not in proc.stderr
    assert "No space left on device" in proc.stderr and "disk is full" in proc.stderr
    assert RunDir(workdir, cell.run_id).status()["state"] != "running"


def test_a_running_state_nobody_holds_reads_as_failed(tmp_path):
    rundir = RunDir(tmp_path, "abc").create({"x": 1})
    with rundir:
        rundir.set_status("running")
        assert rundir.status()["state"] == "running"  # held by this process
        assert RunDir(tmp_path, "abc").status()["state"] == "running"  # seen from another handle too
    stale = rundir.status()  # the process "died" (lock released) without recording an outcome
    assert stale["state"] == "failed" and "interrupted" in stale["error"]
    # a status written elsewhere (another node) is left as it is: its lock may not be visible here
    write_json(rundir.status_file, {"state": "running", "pid": 1, "host": "some-other-node"})
    assert rundir.status()["state"] == "running"


def test_an_atomic_write_into_a_read_only_folder_names_the_file(mount):
    from bioeval.errors import WorkdirError

    folder = mount("ro,size=64k")
    with pytest.raises(WorkdirError, match=f"cannot write {folder}/report.md: Read-only file system"):
        write_json(folder / "report.md", {"x": 1})
