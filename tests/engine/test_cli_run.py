"""`bioeval run / reproduce / run-cell` through the real CLI."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.engine.conftest import REPO, SMOKE, bioeval_cmd, imported


def finish_all_cells(workdir):
    """Mark every smoke cell finished (real run dirs, as a finished run leaves them)."""
    from bioeval.manifest import cells, load_manifest
    from bioeval.runs import RunDir, write_json

    loaded = load_manifest(SMOKE)
    for c in cells(loaded):
        rd = RunDir(workdir, c.run_id).create(c.spec)
        m = {k: v.value for k, v in c.expected.items()}
        write_json(rd.scores, {"run_id": c.run_id, "model": c.model.key, "dataset": c.dataset.key, "metrics": m,
                               "n": 96})
        rd.set_status("done")
    return loaded


def test_finished_cells_are_skipped_without_importing_torch(tmp_path):
    finish_all_cells(tmp_path)
    res = bioeval_cmd("reproduce", str(SMOKE), workdir=tmp_path, importtime=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "0 run, 4 already finished" in res.stderr
    assert "verified: 12 value(s)" in res.stdout
    assert (tmp_path / "reports" / "smoke.md").is_file()
    for heavy in ("torch", "transformers", "peft"):
        assert not imported(res.stderr, heavy), heavy


def test_mismatch_exits_1(tmp_path):
    from bioeval.runs import RunDir, read_json, write_json

    loaded = finish_all_cells(tmp_path)
    from bioeval.manifest import cells
    c = cells(loaded)[0]
    scores = read_json(RunDir(tmp_path, c.run_id).scores)
    scores["metrics"]["f1"] -= 0.2
    write_json(RunDir(tmp_path, c.run_id).scores, scores)
    res = bioeval_cmd("reproduce", str(SMOKE), workdir=tmp_path)
    assert res.returncode == 1
    assert "discrepant (lower)" in res.stdout
    assert "global verdict not-reproduced: 1 outside a fixed abs/rel tolerance (of 12 values)" in res.stderr


def test_unknown_runtime_module_is_a_clear_error(tmp_path):
    from bioeval.cli.run_cmds import load_runtime
    from bioeval.errors import UsageError

    with pytest.raises(UsageError, match="runtime 'nosuch' is not available"):
        load_runtime("nosuch")
    res = bioeval_cmd("run", str(SMOKE), "--runtime", "kubernetes", workdir=tmp_path)
    assert res.returncode == 2 and "kubernetes" in res.stderr


def test_runtime_options_pass_through():
    from bioeval.cli.run_cmds import parse_extra

    assert parse_extra(["--image", "bioeval:1", "--dry-run", "--gpus=2"]) == {
        "image": "bioeval:1", "dry_run": True, "gpus": "2"}


def test_run_cell_needs_a_known_run_id(tmp_path):
    res = bioeval_cmd("run-cell", str(SMOKE), "--run-id", "0000000000000000", workdir=tmp_path)
    assert res.returncode == 2 and "no cell with run id" in res.stderr


def cell_of(dataset: str):
    from bioeval.manifest import cells, load_manifest
    return cells(load_manifest(SMOKE), f"dataset={dataset}")[0]


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    """kill -9 mid-training, rerun: it resumes from the checkpoint and ends as an uninterrupted run."""
    c = cell_of("smoke-tc")
    run_dir = tmp_path / "killed" / c.run_id
    progress = run_dir / "checkpoints" / "progress.json"
    cmd = [sys.executable, "-m", "bioeval", "--workdir", str(tmp_path / "killed"), "run", str(SMOKE),
           "--only", "dataset=smoke-tc", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not progress.exists():
        time.sleep(0.05)
    assert progress.exists(), "no checkpoint appeared"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = json.loads(progress.read_text())["last_step"]
    assert 0 < first < 200
    assert json.loads((run_dir / "status.json").read_text())["state"] == "running"  # died mid-run
    assert not (run_dir / "scores.json").exists()

    res = bioeval_cmd("run", str(SMOKE), "--only", "dataset=smoke-tc", "--no-progress", workdir=tmp_path / "killed")
    assert res.returncode == 0, res.stderr[-2000:]
    log = (run_dir / "log.txt").read_text()
    assert f"resumed from checkpoint step {first} of 200" in log
    history = json.loads(progress.read_text())["history"]
    assert [h["step"] for h in history] == [50, 100, 150, 200]  # finished steps were not evaluated twice

    res = bioeval_cmd("run", str(SMOKE), "--only", "dataset=smoke-tc", "--no-progress", workdir=tmp_path / "clean")
    assert res.returncode == 0, res.stderr[-2000:]
    killed = (run_dir / "predictions.jsonl").read_text()
    clean = (tmp_path / "clean" / c.run_id / "predictions.jsonl").read_text()
    assert killed == clean
    assert json.loads((run_dir / "scores.json").read_text())["metrics"] == \
        json.loads((tmp_path / "clean" / c.run_id / "scores.json").read_text())["metrics"]


@pytest.mark.slow
def test_smoke_reproduce_cold_warm_and_deterministic(tmp_path):
    """The embedded default end to end: verifies; warm rerun skips everything; a second cold run matches."""
    a = bioeval_cmd("reproduce", str(SMOKE), "--no-progress", workdir=tmp_path / "a")
    assert a.returncode == 0, a.stderr[-3000:]
    assert "verified: 12 value(s) reproduced, global verdict reproduced" in a.stdout
    warm = bioeval_cmd("reproduce", str(SMOKE), workdir=tmp_path / "a", importtime=True)
    assert warm.returncode == 0 and "0 run, 4 already finished" in warm.stderr
    assert not imported(warm.stderr, "torch")
    b = bioeval_cmd("reproduce", str(SMOKE), "--no-progress", workdir=tmp_path / "b")
    assert b.returncode == 0, b.stderr[-3000:]
    runs = sorted(p.parent.name for p in (tmp_path / "a").glob("*/spec.json"))
    assert len(runs) == 4
    for run_id in runs:
        pa = (tmp_path / "a" / run_id / "predictions.jsonl").read_text()
        pb = (tmp_path / "b" / run_id / "predictions.jsonl").read_text()
        assert pa == pb and pa.count("\n") == 96
        receipt = json.loads((tmp_path / "a" / run_id / "receipt.json").read_text())
        assert receipt["trained"]["base_frozen"] and receipt["seeds"]["seed"] == 0
        assert "HF_TOKEN" not in json.dumps(receipt)
    assert (tmp_path / "a" / "reports" / "smoke.md").is_file()
    # LoRA really learnt: every task beats its best trivial answer by the margin docs/engine.md states
    import runpy
    bench = runpy.run_path(str(REPO / "bench" / "baselines.py"), run_name="baselines")
    floors = bench["baselines"]()
    learnt = bench["smoke_f1"](tmp_path / "a")
    assert set(learnt) == {"EE", "RE", "NER", "TC"}
    for task, row in floors.items():
        assert learnt[task] >= row["best_trivial_f1"] + 0.2, (task, learnt[task], row)


def test_a_cell_held_by_another_process_is_not_run_twice(tmp_path):
    from bioeval.runs import RunDir

    c = cell_of("smoke-tc")
    with RunDir(tmp_path, c.run_id):  # this process holds the cell's lock
        res = bioeval_cmd("run-cell", str(SMOKE), "--run-id", c.run_id, workdir=tmp_path)
    assert res.returncode == 3
    assert "being run by another process" in res.stderr and c.run_id in res.stderr
    assert not RunDir(tmp_path, c.run_id).scores.exists()
