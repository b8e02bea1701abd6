"""Deterministic CPU cells run side by side in fresh interpreters; everything else one by one."""

from types import SimpleNamespace

from bioeval.runtimes.local import parallel_jobs
from bioeval.runtimes.options import check_options


def cell(gpus: int = 0):
    return SimpleNamespace(model=SimpleNamespace(resources=SimpleNamespace(gpus=gpus)))


def test_deterministic_cpu_cells_use_one_process_per_core_up_to_the_cell_count(monkeypatch):
    monkeypatch.setattr("bioeval.runtimes.local.available_cores", lambda: 2)
    assert parallel_jobs({}, "deterministic", [cell()] * 4) == 2
    assert parallel_jobs({}, "deterministic", [cell()]) == 1
    assert parallel_jobs({"jobs": 3}, "deterministic", [cell()] * 4) == 3
    assert parallel_jobs({"jobs": 1}, "deterministic", [cell()] * 4) == 1


def test_gpu_and_default_numerics_cells_run_one_by_one(monkeypatch):
    monkeypatch.setattr("bioeval.runtimes.local.available_cores", lambda: 8)
    assert parallel_jobs({}, "default", [cell()] * 4) == 1  # may use every core itself
    assert parallel_jobs({"jobs": 2}, "default", [cell()] * 4) == 2  # asked for: one thread each
    assert parallel_jobs({"jobs": 2}, "default", [cell(), cell(gpus=1)]) == 1
    assert parallel_jobs({"jobs": 4}, "deterministic", [cell(), cell(gpus=1)]) == 1


def test_jobs_is_a_typed_local_option():
    assert check_options("local", {"jobs": "2"})["jobs"] == 2
