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
    """Mark every smoke cell finished (real run dirs, as a finished run leaves them: predictions with
    about the published precision and recall, scores.json and receipt built from them)."""
    from bioeval.manifest import cells, load_manifest
    from tests.verify.factory import write_run

    loaded = load_manifest(SMOKE)
    for c in cells(loaded):
        write_run(workdir, c, {k: v.value for k, v in c.expected.items()}, n=96)
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
    from bioeval.manifest import cells
    from tests.verify.factory import write_run

    loaded = finish_all_cells(tmp_path)
    # smoke-ee: P 0.959, R 0.914 expected (declared seed sds from 5 runs, so t with 4 df since issue 21);
    # this run has R 0.40, far enough below for Holm over the 12 values
    c = cells(loaded)[0]
    write_run(tmp_path, c, {"precision": 1.0, "recall": 0.40}, n=96)
    res = bioeval_cmd("reproduce", str(SMOKE), workdir=tmp_path)
    assert res.returncode == 1
    assert "discrepant (lower)" in res.stdout
    assert "global verdict not-reproduced: 2 value(s) discrepant after Holm at family-wise error 0.05 (of 12 values)" \
        in res.stderr
    # a scores.json edited to the published values does not hide it: the run is invalid
    scores = json.loads((tmp_path / c.run_id / "scores.json").read_text())
    (tmp_path / c.run_id / "scores.json").write_text(json.dumps({**scores, "metrics": {
        k: v.value for k, v in c.expected.items()}}))
    res = bioeval_cmd("reproduce", str(SMOKE), workdir=tmp_path)
    assert res.returncode == 1 and "invalid" in res.stdout and "3 invalid" in res.stderr, res.stderr


def test_unknown_runtime_module_is_a_clear_error(tmp_path):
    from bioeval.pipeline.runner import load_runtime
    from bioeval.errors import UsageError

    with pytest.raises(UsageError, match="runtime 'nosuch' is not available"):
        load_runtime("nosuch")
    res = bioeval_cmd("run", str(SMOKE), "--runtime", "kubernetes", workdir=tmp_path)
    assert res.returncode == 2 and "kubernetes" in res.stderr


def test_runtime_options_pass_through():
    from bioeval.cli.commands.run import parse_extra

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


# What another CPU would make torch, MKL and oneDNN pick (issue 10): the deterministic numerics
# of the smoke manifest must give the same bytes whatever these say.
OTHER_CPU_B = {"MKL_ENABLE_INSTRUCTIONS": "AVX", "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AUTO"}
OTHER_CPU_C = {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41", "ATEN_CPU_CAPABILITY": "avx512",
               "OMP_NUM_THREADS": "2", "BIOEVAL_CPU_THREADS": "2"}


ISA_VARS = ("MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_CBWR")


def _predictions_are_the_shipped_reference_bytes(workdir):
    import hashlib

    from bioeval.manifest import cells, load_manifest
    from bioeval.verify.envdiff import reference_path

    loaded = load_manifest(SMOKE)
    for c in cells(loaded):
        ref = json.loads(reference_path(loaded, c.model.key, c.dataset.key).read_text())
        got = hashlib.sha256((workdir / c.run_id / "predictions.jsonl").read_bytes()).hexdigest()
        assert got == ref["outputs"]["predictions_sha256"], (
            f"{c.name}: predictions differ from the shipped reference run's on this CPU "
            f"({json.loads((workdir / c.run_id / 'receipt.json').read_text())['numerics']['cpu_model']}; "
            f"reference: {ref['numerics']['cpu_model']})")
        receipt = json.loads((workdir / c.run_id / "receipt.json").read_text())
        assert receipt["numerics"]["fingerprint"]["sha256"] == ref["numerics"]["fingerprint"]["sha256"]
        assert set(receipt["numerics"]["portable_calls"]) == {"sqrt", "sin", "cos"}  # what the smoke path hits
    v = bioeval_cmd("verify", str(SMOKE), "--results", str(workdir), "--json", workdir=workdir)
    assert v.returncode == 0, v.stderr[-2000:]
    assert {r["identity"] for r in json.loads(v.stdout)["cells"]} == {"identical to the reference"}


@pytest.mark.slow
def test_smoke_reproduce_cold_warm_and_deterministic(tmp_path, monkeypatch):
    """The embedded default end to end: verifies; every cell's predictions are the bytes of the
    shipped reference receipts (manifests/reference/smoke: recorded on another machine, so this
    fails on a CPU whose numerics differ); warm rerun skips everything; a second cold run under
    other instruction-set limits matches byte for byte, and so does a cell run from a process
    that imported torch already (it goes to a fresh interpreter with the mode's env)."""
    for k in ISA_VARS:
        monkeypatch.delenv(k, raising=False)
    a = bioeval_cmd("reproduce", str(SMOKE), "--no-progress", workdir=tmp_path / "a", timeout=1200)
    assert a.returncode == 0, a.stderr[-3000:]
    assert "verified: 12 value(s) reproduced, global verdict reproduced" in a.stdout
    _predictions_are_the_shipped_reference_bytes(tmp_path / "a")
    warm = bioeval_cmd("reproduce", str(SMOKE), workdir=tmp_path / "a", importtime=True)
    assert warm.returncode == 0 and "0 run, 4 already finished" in warm.stderr
    assert not imported(warm.stderr, "torch")
    b = bioeval_cmd("reproduce", str(SMOKE), "--no-progress", workdir=tmp_path / "b", env=OTHER_CPU_B, timeout=1200)
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
        assert receipt["numerics"]["mode"] == "deterministic" and receipt["numerics"]["torch_cpu_capability"] == "DEFAULT"
        rb = json.loads((tmp_path / "b" / run_id / "receipt.json").read_text())["numerics"]
        assert rb["env"]["MKL_ENABLE_INSTRUCTIONS"] == "AVX" and rb["env"]["MKL_CBWR"] == "COMPATIBLE"
        assert rb["torch_cpu_capability"] == "DEFAULT" and rb["torch_threads"] == 1

    # c: this pytest process has torch imported: the local runtime must not run the cell here
    import torch  # noqa: F401

    from bioeval.manifest import cells, load_manifest
    from bioeval.runtimes import local
    from bioeval.settings import Settings

    for k, v in OTHER_CPU_C.items():
        monkeypatch.setenv(k, v)
    loaded = load_manifest(SMOKE)
    ee = [c for c in cells(loaded) if c.dataset.key == "smoke-ee"]  # the cell most sensitive to rounding
    rows = local.run_cells(loaded, ee, Settings(workdir=tmp_path / "c", cache_dir=tmp_path / "cache"),
                           {"progress": False})
    assert [r["state"] for r in rows] == ["done"], rows
    run_id = ee[0].run_id
    assert (tmp_path / "c" / run_id / "predictions.jsonl").read_bytes() == \
        (tmp_path / "a" / run_id / "predictions.jsonl").read_bytes()
    rc = json.loads((tmp_path / "c" / run_id / "receipt.json").read_text())["numerics"]
    assert rc["env"]["ONEDNN_MAX_CPU_ISA"] == "SSE41" and rc["env"]["ATEN_CPU_CAPABILITY"] == "default"
    assert rc["torch_threads"] == 1
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
