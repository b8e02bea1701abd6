"""The Slurm submission's files, without a cluster: grid, resource groups, array splitting,
the sbatch script text (container variants included) and the script run by real bash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bioeval.errors import UsageError
from bioeval.manifest import cells, load_manifest
from bioeval.manifest.resolve import run_id_of
from bioeval.runs import RunDir, read_json, write_json
from bioeval.runtimes import slurm_client as client
from bioeval.runtimes.slurm import run_cells, submittable
from bioeval.runtimes.slurm_script import GridRow, Group, Options, Request, build_groups, split_arrays
from bioeval.runtimes.slurm_state import CellState, TaskRef, resolve

from .conftest import CELL_COMMAND, REPO, wait_for

CPU = "{gpus: 0, memory_gb: 1, time: '00:05:00'}"
GPU = "{gpus: 2, gpu_memory_gb: 40, memory_gb: 64, time: '12:00:00'}"


def dry_run(make_manifest, settings, models, datasets=2, **options):
    command = options.pop("cmd", None)
    loaded = load_manifest(make_manifest(models=models, datasets=datasets))
    run_cells(loaded, cells(loaded), settings, {"dry_run": True, **options}, run_command=command)
    (folder,) = (p for p in (Path(settings.workdir) / "slurm").iterdir() if p.is_dir())
    return loaded, folder


def test_cells_are_grouped_by_resources_with_contiguous_grid_lines(make_manifest):
    loaded = load_manifest(make_manifest(models=[("a", CPU), ("big", GPU), ("b", CPU)], datasets=3))
    groups = build_groups(cells(loaded), Options())
    assert [g.models for g in groups] == [["a", "b"], ["big"]]
    assert groups[0].request == Request(gpus=0, memory_gb=1, time="00:05:00")
    assert groups[1].request == Request(gpus=2, gpu_memory_gb=40, memory_gb=64, time="12:00:00")
    assert [r.index for g in groups for r in g.rows] == list(range(9))
    assert [r.model for r in groups[0].rows] == ["a"] * 3 + ["b"] * 3
    assert len({g.script for g in groups}) == 2
    # --time applies to every group, so groups differing only by time merge
    loaded = load_manifest(make_manifest(models=[("a", CPU), ("c", "{gpus: 0, memory_gb: 1, time: '02:00:00'}")]))
    assert len(build_groups(cells(loaded), Options(time="01:00:00"))) == 1
    assert len(build_groups(cells(loaded), Options())) == 2


def _groups(*sizes):
    groups, index = [], 0
    for g, size in enumerate(sizes):
        rows = [GridRow(index + i, f"r{index + i}", "m", "d", g) for i in range(size)]
        groups.append(Group(g, Request(gpus=g), ["m"], rows, f"job-{g}.sbatch"))
        index += size
    return groups


@pytest.mark.parametrize("sizes,limit,expected", [
    ((7,), 3, [(0, 3), (3, 3), (6, 1)]),
    ((4, 3), 3, [(0, 3), (3, 1), (4, 3)]),
    ((3,), 3, [(0, 3)]),
    ((1, 1, 1), 1000, [(0, 1), (1, 1), (2, 1)]),
])
def test_arrays_are_split_at_max_array_size(sizes, limit, expected):
    arrays = split_arrays(_groups(*sizes), limit)
    assert [(a.offset, a.count) for a in arrays] == expected
    covered = [a.offset + i for a in arrays for i in range(a.count)]
    assert covered == list(range(sum(sizes)))  # every grid line exactly once
    assert all(a.count <= limit for a in arrays)  # task ids 0..count-1 stay below the limit
    assert arrays[0].spec(4) == f"0-{arrays[0].count - 1}%4" and arrays[0].spec(None) == f"0-{arrays[0].count - 1}"


def test_dry_run_writes_grid_scripts_and_submits_nothing(make_manifest, settings, cli):
    loaded, folder = dry_run(make_manifest, settings, [("a", CPU), ("big", GPU)], partition="a100",
                             account="lab", array_parallelism=4)
    grid = (folder / "grid.tsv").read_text().splitlines()
    assert grid[0] == "index\trun_id\tmodel\tdataset" and len(grid) == 5
    assert {line.split("\t")[1] for line in grid[1:]} == {c.run_id for c in cells(loaded)}
    sub = read_json(folder / "submission.json")
    assert sub["submitted"] is False and all(a["job_id"] is None for a in sub["arrays"])
    cpu, gpu = (folder / s["script"] for s in sub["groups"])
    cpu_text, gpu_text = cpu.read_text(), gpu.read_text()
    for text in (cpu_text, gpu_text):
        assert "#SBATCH --partition=a100" in text and "#SBATCH --account=lab" in text
        assert "#SBATCH --array=0-1%4" in text
        assert subprocess.run(["bash", "-n", "-c", text]).returncode == 0
    assert "--gres" not in cpu_text and "#SBATCH --mem=1G" in cpu_text and "#SBATCH --time=00:05:00" in cpu_text
    assert "#SBATCH --gres=gpu:2" in gpu_text and "#SBATCH --mem=64G" in gpu_text and "--time=12:00:00" in gpu_text
    assert "at least 40 GB" in gpu_text
    assert f'PYTHONPATH={REPO}${{PYTHONPATH:+:$PYTHONPATH}} "$PYTHON" -m bioeval --workdir "$WORKDIR" ' \
        'run-cell "$MANIFEST" --run-id "$RUN_ID" &' in cpu_text
    submit = (folder / "submit.sh").read_text()
    assert f"sbatch --array=0-1%4 {cpu.name} 0" in submit and f"sbatch --array=0-1%4 {gpu.name} 2" in submit
    # the status command sees the cells, none submitted
    out = cli("--workdir", str(settings.workdir), "status", str(settings.workdir), "--json")
    assert out.returncode == 0, out.stderr
    states = json.loads(out.stdout)["cells"]
    assert len(states) == 4 and {s["state"] for s in states} == {"pending"}
    assert {s["detail"] for s in states} == {"not submitted"} and not any(s["job"] for s in states)


def test_container_variants(make_manifest, settings, tmp_path):
    _, folder = dry_run(make_manifest, settings, [("big", GPU)], container="apptainer", image="/images/bioeval.sif")
    text = (folder / "job.sbatch").read_text()
    line = next(l for l in text.splitlines() if l.startswith("apptainer exec"))
    assert line.startswith("apptainer exec --nv --bind ")
    assert f"--bind {tmp_path}" in line  # the manifest's folder (and the workdir and data under it)
    # local data paths were checked on the submit host; the container sees only its binds
    assert line.endswith('/images/bioeval.sif bioeval --allow-outside-paths --workdir "$WORKDIR" run-cell "$MANIFEST" '
                         '--run-id "$RUN_ID" &')

    settings.workdir = tmp_path / "runs-docker"
    _, folder = dry_run(make_manifest, settings, [("big", GPU)], container="docker", image="bioeval:0.1")
    line = next(l for l in (folder / "job.sbatch").read_text().splitlines() if l.startswith("docker run"))
    assert '--gpus "\\"device=${CUDA_VISIBLE_DEVICES}\\""' in line
    assert f"-v {tmp_path}:{tmp_path}" in line and "-e HF_TOKEN " in line
    assert "--entrypoint bioeval bioeval:0.1 --allow-outside-paths --workdir" in line

    settings.workdir = tmp_path / "runs-cpu"
    _, folder = dry_run(make_manifest, settings, [("a", CPU)], container="apptainer", image="x.sif")
    assert "apptainer exec --bind" in (folder / "job.sbatch").read_text()  # no --nv without GPUs


@pytest.mark.parametrize("options,message", [
    ({"container": "docker"}, "needs --image"),
    ({"container": "podman", "image": "x"}, "expected one of"),
    ({"time": "2h"}, "[D-]HH:MM:SS"),
    ({"array_parallelism": 0}, "positive"),
    ({"array_parallelism": "many"}, "whole number"),
    ({"partiton": "a100"}, "unknown option(s) for --runtime slurm: --partiton"),
    ({"force": True}, "--force is not supported"),
    ({"partition": True}, "needs a value"),
    ({"dry_run": "maybe"}, "takes no value"),
    ({"no_fetch": "x"}, "takes no value"),
])
def test_bad_options_are_usage_errors(make_manifest, settings, options, message):
    loaded = load_manifest(make_manifest())
    import re
    with pytest.raises(UsageError, match=re.escape(message)):
        run_cells(loaded, cells(loaded), settings, {"dry_run": True, **options})


def test_pass_through_options_are_typed():
    """`bioeval run` hands runtime options over as strings (True for bare flags)."""
    opts = Options.parse({"partition": "a100", "array_parallelism": "4", "dry_run": True, "no_wait": True,
                          "retry_failed": True, "progress": False, "force": False})
    assert (opts.partition, opts.array_parallelism, opts.dry_run, opts.wait, opts.retry_failed) == \
        ("a100", 4, True, False, True)
    assert Options.parse({}).wait is True


def _task_env(job="99", task=0, **extra):
    return {**os.environ, "SLURM_ARRAY_JOB_ID": job, "SLURM_ARRAY_TASK_ID": str(task), **extra}


def test_the_script_runs_its_grid_line_outside_slurm(make_manifest, settings):
    """Real bash runs the generated script as Slurm would (array env vars, offset argument)."""
    loaded, folder = dry_run(make_manifest, settings, [("a", CPU)], datasets=3, cmd=CELL_COMMAND)
    script = folder / "job.sbatch"
    grid = [l.split("\t") for l in (folder / "grid.tsv").read_text().splitlines()[1:]]
    # offset 1, task 1 -> grid line 2
    proc = subprocess.run(["bash", str(script), "1"], env=_task_env(task=1), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    run_id = grid[2][1]
    assert RunDir(settings.workdir, run_id).is_done()
    assert not any(RunDir(settings.workdir, g[1]).is_done() for g in grid[:2])
    log = (folder / "logs" / f"{run_id}.log").read_text()
    assert f"cell a x {grid[2][3]}: done" in log and "task 99_1" in log
    assert read_json(folder / "tasks" / f"{run_id}.json") | {"time": 0, "host": ""} == \
        {"run_id": run_id, "job": "99_1", "state": "exited", "exit": 0, "time": 0, "host": ""}

    # a failing cell: exit code recorded, and status reads it from the task record
    proc = subprocess.run(["bash", str(script)], env=_task_env(task=0, FAIL_MODELS="a"), capture_output=True)
    assert proc.returncode == 1
    outcome = read_json(folder / "tasks" / f"{grid[0][1]}.json")
    assert (outcome["state"], outcome["exit"]) == ("exited", 1)

    # a changed manifest is noted; `bioeval run-cell` itself refuses a run id the manifest lost
    Path(loaded.path).write_text(Path(loaded.path).read_text() + "\n# edited\n")
    proc = subprocess.run(["bash", str(script), "0"], env=_task_env(task=1), capture_output=True)
    assert proc.returncode == 0
    assert "changed since submission" in (folder / "logs" / f"{grid[1][1]}.log").read_text()


def test_sigterm_is_passed_on_and_recorded_as_cancelled(make_manifest, settings):
    _, folder = dry_run(make_manifest, settings, [("a", CPU)], datasets=1, cmd=CELL_COMMAND)
    run_id = (folder / "grid.tsv").read_text().splitlines()[1].split("\t")[1]
    proc = subprocess.Popen(["bash", str(folder / "job.sbatch")], env=_task_env(CELL_SECONDS="60"))
    rundir = RunDir(settings.workdir, run_id)
    wait_for(lambda: rundir.status()["state"] == "running", 30, 0.1, "the cell to start")
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143
    assert time.monotonic() - start < 10  # the cell process was stopped, not waited for
    assert read_json(folder / "tasks" / f"{run_id}.json")["state"] == "cancelled"
    assert "terminated by Slurm" in (folder / "logs" / f"{run_id}.log").read_text()
    rundir.acquire()  # nobody holds the cell any more
    rundir.release()


def test_state_resolution_from_task_records_and_queue(tmp_path):
    workdir = tmp_path / "runs"
    folder = workdir / "slurm" / "s1"
    (folder / "tasks").mkdir(parents=True)

    def state(run_id, queue, record=None, accounting=None, status=None):
        rd = RunDir(workdir, run_id).create({"model": {"key": "m"}, "dataset": {"key": "d"}})
        if status:
            rd.set_status(status, error="boom")
        if record:
            write_json(folder / "tasks" / f"{run_id}.json", {"run_id": run_id, "state": record[0], "exit": record[1]})
        task = TaskRef("s1", folder, "7_0", 0, run_id)
        return resolve(workdir, run_id, "m", "d", task, queue, accounting)

    s = state("q", {"7_0": "PENDING"})
    assert (s.state, s.in_queue) == ("pending", True)
    s = state("r", {"7_0": "RUNNING"}, ("running", None))
    assert (s.state, s.in_queue) == ("running", True)
    assert state("c", {}, ("cancelled", 143)).state == "cancelled"
    s = state("f", {}, ("exited", 1), status="failed")
    assert (s.state, s.detail) == ("failed", "task exited 1: boom")
    assert "killed" in state("k", {}, ("running", None)).detail  # vanished without an outcome
    assert state("k2", {}, ("running", None), accounting={"7_0": "TIMEOUT"}).detail == "task killed (timeout)"
    s = state("never", {})
    assert (s.state, s.detail) == ("cancelled", "left the queue without starting (cancelled while queued)")
    assert state("unknown", None).state == "pending"  # squeue unreachable: the run dir's own status
    rd = RunDir(workdir, run_id_of({})).create({})
    write_json(rd.scores, {"metrics": {}})
    rd.set_status("done")
    assert state(rd.run_id, {"7_0": "RUNNING"}).state == "done"


def test_what_gets_submitted():
    def st(state, in_queue=False):
        return CellState("r", "m", "d", state, "", in_queue=in_queue)
    assert submittable(st("pending"), False)
    assert not submittable(st("pending", in_queue=True), True)
    assert not submittable(st("running", in_queue=True), True)
    assert not submittable(st("done"), True)
    assert not submittable(st("failed"), False) and submittable(st("failed"), True)
    assert not submittable(st("cancelled"), False) and submittable(st("cancelled"), True)


def test_parsers():
    assert client.parse_squeue("12_0|RUNNING\n12_[2-5%2]|PENDING\n13_1|PENDING\n14|RUNNING\n") == \
        {"12_0": "RUNNING", "13_1": "PENDING"}
    assert client.parse_sacct("12_0|COMPLETED\n12_1|CANCELLED by 0\n12_[2-3]|PENDING\n") == \
        {"12_0": "COMPLETED", "12_1": "CANCELLED"}
    config = client.parse_config("Configuration data as of x\nMaxArraySize            = 40\nAuthInfo = socket=/a=b\n")
    assert client.max_array_size(config) == 40 and config["AuthInfo"] == "socket=/a=b"
    assert client.max_array_size(None) == client.DEFAULT_MAX_ARRAY_SIZE


def test_live_table_on_a_terminal(make_manifest, settings):
    import io

    from rich.console import Console

    from bioeval.runtimes.slurm_watch import watch

    loaded, _ = dry_run(make_manifest, settings, [("a", CPU)], datasets=2)
    keys = [(c.run_id, c.model.key, c.dataset.key) for c in cells(loaded)]
    out = io.StringIO()
    states = watch(settings.workdir, keys, Console(file=out, force_terminal=True, width=120), reattach="-", poll_s=0)
    text = out.getvalue()
    assert [s.state for s in states] == ["pending", "pending"]
    assert "2 cells: \x1b[33m2 pending" in text and "not submitted" in text  # a live, styled table


def test_cli_run_slurm_dry_run_and_bad_option(make_manifest, tmp_path, cli):
    manifest = make_manifest(models=[("a", CPU), ("big", GPU)])
    workdir = tmp_path / "cli-runs"
    out = cli("--workdir", str(workdir), "run", str(manifest), "--runtime", "slurm", "--dry-run",
              "--partition", "a100", "--array-parallelism", "3", "--time", "01:00:00")
    assert out.returncode == 0, out.stderr
    (folder,) = [p for p in (workdir / "slurm").iterdir() if p.is_dir()]
    scripts = sorted(folder.glob("*.sbatch"))
    assert len(scripts) == 2 and all("#SBATCH --time=01:00:00" in s.read_text() for s in scripts)
    assert "sbatch --array=0-1%3" in (folder / "submit.sh").read_text()
    assert "Dry run: nothing submitted" in out.stdout
    out = cli("--workdir", str(workdir), "run", str(manifest), "--runtime", "slurm", "--dry-run", "--partiton", "x")
    assert out.returncode == 2 and "unknown option(s) for --runtime slurm: --partiton" in out.stderr
    assert "Traceback" not in out.stderr
