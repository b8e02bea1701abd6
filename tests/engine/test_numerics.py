"""The deterministic numerics mode (engine/numerics.py): its environment wins over what the
process was given, reaches torch before import, and is recorded; the runtimes pass it on."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bioeval.engine import numerics
from tests.engine.conftest import REPO, SMOKE

LIMITS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AUTO", "MKL_ENABLE_INSTRUCTIONS": "AVX",
          "ONEDNN_MAX_CPU_ISA": "SSE41", "OMP_NUM_THREADS": "2", "BIOEVAL_CPU_THREADS": "2"}

CPUINFO = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2
"""


def test_environment_of_each_mode():
    env = numerics.environment("deterministic")
    assert env["ATEN_CPU_CAPABILITY"] == "default" and env["MKL_CBWR"] == "COMPATIBLE"
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["BIOEVAL_CPU_THREADS"] == "1"
    assert env[numerics.MODE_VAR] == "deterministic"
    assert numerics.environment("default") == {}
    with pytest.raises(ValueError):
        numerics.environment("fast")


def test_cpu_model_and_isa_flags_from_cpuinfo():
    assert numerics.cpu_model(CPUINFO) == "AMD EPYC 7B13"
    assert numerics.cpu_flags(CPUINFO) == ["sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c"]
    assert numerics.cpu_flags("") == [] and numerics.cpu_model("") is None


def test_the_mode_wins_over_the_environment_before_torch_is_imported():
    """A fresh interpreter told to use avx2 kernels, MKL's auto path and two threads: prepare()
    overrides all of it, and torch really runs its portable kernels on one thread."""
    code = ("import json, os, sys\n"
            "from bioeval.engine import numerics\n"
            "assert not numerics.needs_child_process('deterministic')\n"
            "numerics.prepare('deterministic')\n"
            "import torch\n"
            "numerics.apply_torch('deterministic')\n"
            "assert not numerics.needs_child_process('deterministic')\n"
            "print(json.dumps(numerics.describe('deterministic')))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                         env={**__import__("os").environ, "PYTHONPATH": str(REPO), **LIMITS})
    assert res.returncode == 0, res.stderr[-2000:]
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert d["mode"] == "deterministic"
    assert d["torch_cpu_capability"] == "DEFAULT"
    assert d["torch_threads"] == 1 and d["deterministic_algorithms"] is True
    assert d["env"]["ATEN_CPU_CAPABILITY"] == "default" and d["env"]["MKL_CBWR"] == "COMPATIBLE"
    # the instruction-set limits stand for another CPU: recorded as given, not overridden
    assert d["env"]["MKL_ENABLE_INSTRUCTIONS"] == "AVX" and d["env"]["ONEDNN_MAX_CPU_ISA"] == "SSE41"
    assert d["cpu_flags"] and "sse2" in d["cpu_flags"]


def test_after_torch_is_imported_the_mode_needs_a_child_process(monkeypatch):
    import torch  # noqa: F401  (this test process has torch, as an in-process CLI test would)

    monkeypatch.setattr(numerics, "_prepared", None)
    assert numerics.needs_child_process("deterministic")
    assert not numerics.needs_child_process("default")
    with pytest.raises(RuntimeError):
        numerics.prepare("deterministic")
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setattr(numerics, "_original", {"ATEN_CPU_CAPABILITY": "avx2"})
    child = numerics.child_environment("deterministic")
    assert child["ATEN_CPU_CAPABILITY"] == "default" and child["MKL_CBWR"] == "COMPATIBLE"
    monkeypatch.setattr(numerics, "_prepared", "deterministic")
    for k, v in numerics.environment("deterministic").items():
        monkeypatch.setenv(k, v)
    assert not numerics.needs_child_process("deterministic")  # prepared before the import: stays here
    assert numerics.needs_child_process("default")  # a default cell after deterministic ones: fresh process
    assert numerics.child_environment("default")["ATEN_CPU_CAPABILITY"] == "avx2"  # what the user had


def test_smoke_manifest_asks_for_deterministic_numerics():
    from bioeval.manifest import cells, load_manifest

    loaded = load_manifest(SMOKE)
    assert {numerics.mode_of(c) for c in cells(loaded)} == {"deterministic"}
    assert loaded.manifest.protocol.numerics.source == "assumed" and loaded.manifest.protocol.numerics.note


def test_docker_containers_get_the_mode_whatever_the_host_says(tmp_path):
    from bioeval.manifest import cells, load_manifest
    from bioeval.runtimes import docker as rt
    from bioeval.settings import Settings

    loaded = load_manifest(SMOKE)
    settings = Settings(workdir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    kw = rt.run_kwargs(loaded, cells(loaded)[0], settings, "bioeval:test", "sha256:" + "1" * 64, {},
                       environ={**LIMITS, "HF_HUB_OFFLINE": "1"})
    env = kw["environment"]
    for k, v in numerics.environment("deterministic").items():
        assert env[k] == v
    assert "MKL_ENABLE_INSTRUCTIONS" not in env  # the host's limits are not the container's



def _slurm_dry_run(tmp_path, mode: str | None, **options):
    from bioeval.manifest import cells, load_manifest
    from bioeval.runtimes.slurm import run_cells
    from bioeval.settings import Settings
    from tests.slurm.conftest import manifest_text

    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "data" / "test.json").write_text("[]")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    text = manifest_text([("m1", "{gpus: 0, memory_gb: 1, time: '00:05:00'}")], 2)
    if mode:
        text = text.replace("  seed: {value: 0, source: assumed}\n",
                            f"  seed: {{value: 0, source: assumed}}\n  numerics: {{value: {mode}, source: assumed}}\n")
        assert f"numerics: {{value: {mode}" in text
    manifest = tmp_path / "grid.yaml"
    manifest.write_text(text)
    loaded = load_manifest(manifest)
    settings = Settings(workdir=tmp_path / "runs")
    run_cells(loaded, cells(loaded), settings, {"dry_run": True, **options})
    (folder,) = (p for p in (settings.workdir / "slurm").iterdir() if p.is_dir())
    return (folder / "job.sbatch").read_text()


def test_slurm_tasks_export_the_mode_before_the_cell_starts(tmp_path):
    text = _slurm_dry_run(tmp_path / "a", "deterministic")
    for k, v in numerics.environment("deterministic").items():
        assert f"\nexport {k}={v}\n" in text
    assert text.index("export ATEN_CPU_CAPABILITY=default") < text.index("run-cell")
    assert subprocess.run(["bash", "-n", "-c", text]).returncode == 0
    # the default mode exports nothing
    assert "export ATEN_CPU_CAPABILITY" not in _slurm_dry_run(tmp_path / "b", None)
    # docker tasks pass the exported values into the container by name
    text = _slurm_dry_run(tmp_path / "c", "deterministic", container="docker", image="bioeval:0.1")
    line = next(line for line in text.splitlines() if line.startswith("docker run"))
    assert "-e ATEN_CPU_CAPABILITY -e MKL_CBWR" in line


def test_cells_cross_into_the_child_process_intact():
    """The fresh interpreter gets the cells as plain data (pydantic's generic Prov classes do not
    pickle) and rebuilds them equal, run ids and numerics mode included."""
    import pickle

    from bioeval.manifest import cells, load_manifest
    from bioeval.runtimes.isolated import decode_cell, encode_cell

    for c in cells(load_manifest(SMOKE)):
        back = decode_cell(pickle.loads(pickle.dumps(encode_cell(c))))
        assert back == c and back.run_id == c.run_id and numerics.mode_of(back) == "deterministic"
