"""Seed studies through the CLI: `run --seeds K` writes K run directories per cell that verify groups."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from tests.verify.factory import write_manifest

REPO = Path(__file__).resolve().parents[2]


def test_slurm_dry_run_submits_every_seed(tmp_path, cli):
    manifest = write_manifest(tmp_path)
    workdir = tmp_path / "runs"
    out = cli("--workdir", str(workdir), "run", str(manifest), "--seeds", "3", "--only", "model=tiny,dataset=ee",
              "--runtime", "slurm", "--dry-run", "--partition", "x")
    assert out.returncode == 0, out.stderr
    (folder,) = [p for p in (workdir / "slurm").iterdir() if p.is_dir()]
    grid = (folder / "grid.tsv").read_text().splitlines()[1:]
    assert len(grid) == 3 and len({line.split("\t")[1] for line in grid}) == 3
    specs = [json.loads((workdir / line.split("\t")[1] / "spec.json").read_text()) for line in grid]
    assert sorted((s.get("replicate") or {}).get("index", 0) for s in specs) == [0, 1, 2]
    assert sorted(s["protocol"]["seed"] for s in specs) == [0, 1, 2]


@pytest.mark.slow
def test_smoke_seed_study_gives_intervals_and_verdicts(tmp_path, cli):
    """Three seeds of one smoke cell (about 30 s each on 2 CPU cores), verified with the manifest's
    abs rule and with the statistical one (a copy of the manifest whose tolerance is `auto`)."""
    workdir = tmp_path / "runs"
    out = cli("--workdir", str(workdir), "run", "manifests/smoke.yaml", "--seeds", "3", "--only", "dataset=smoke-re",
              "--no-progress", timeout=900)
    assert out.returncode == 0, out.stderr
    assert "cells: 3 run" in out.stderr
    # the shipped manifest's statistical rule: the cell's K = 3 runs (one cell, 2 df: P = R = F1 here are
    # one sample, not three) pool with the declaration's own study (sd 0.0057 from 5 runs: 4 df), so
    # t(0.975, 6); the published run carries the larger of the pooled and the declared sd; no sampling
    # part (both sides score 96 of 96).  The interval is at least the pooled t prediction interval.
    from scipy.stats import t as student_t

    from bioeval.manifest import load_manifest

    spread = next(x for x in load_manifest(REPO / "manifests" / "smoke.yaml").manifest.tolerance.seed_spread
                  if x.dataset == "smoke-re")
    r = cli("--workdir", str(workdir), "verify", "manifests/smoke.yaml", "--only", "dataset=smoke-re", "--json")
    report = json.loads(r.stdout)
    for row in report["cells"]:
        runs = row["observed_runs"]
        mean, s = sum(runs) / 3, math.sqrt(sum((x - sum(runs) / 3) ** 2 for x in runs) / 2)
        df = 2 + spread.runs - 1
        pooled = math.sqrt((2 * s ** 2 + (spread.runs - 1) * spread.sd ** 2) / df)
        assert row["df"] == df
        assert row["runs"] == 3 and len(set(row["run_ids"])) == 3
        assert row["parts"]["sampling"] == 0.0 and row["parts"]["seed"] == pytest.approx(pooled)
        q = student_t.ppf(0.975, df)
        published = max(pooled, spread.sd)
        half = q * math.sqrt(published ** 2 + pooled ** 2 / 3)
        assert row["interval"] == pytest.approx([mean - half, mean + half], abs=1e-6)
        assert half >= q * pooled * math.sqrt(1 + 1 / 3) - 1e-12  # the pooled t prediction interval
        assert row["verdict"] in ("reproduced", "discrepant") and 0 <= row["p_value"] <= 1
    summary = report["summary"]
    assert summary["tested"] == 3 and summary["expected_false_discrepancies"] == pytest.approx(0.15)
    assert summary["method"] == "holm" and summary["global_verdict"] in ("reproduced", "not-reproduced")
    assert r.returncode == (0 if summary["global_verdict"] == "reproduced" else 1)
    # the same runs under a fixed abs rule (a copy of the manifest): abs 0.05 around our mean
    copy = tmp_path / "manifests" / "smoke_abs.yaml"
    copy.parent.mkdir()
    text = (REPO / "manifests" / "smoke.yaml").read_text()
    start = text.index("\ntolerance:")
    copy.write_text(text[:start] + "\ntolerance:\n  default: {kind: abs, value: 0.05}\n")
    shutil.copytree(REPO / "assets", tmp_path / "assets", symlinks=True, dirs_exist_ok=True)
    r = cli("--workdir", str(workdir), "verify", str(copy), "--only", "dataset=smoke-re", "--json")
    report = json.loads(r.stdout)
    for row in report["cells"]:
        runs = row["observed_runs"]
        mean = sum(runs) / 3
        assert row["runs"] == 3
        assert row["parts"]["seed"] == pytest.approx(math.sqrt(sum((x - mean) ** 2 for x in runs) / 2))
        assert row["interval"] == pytest.approx([mean - 0.05, mean + 0.05])
        assert row["verdict"] == ("reproduced" if abs(row["expected"] - mean) <= 0.05 + 1e-9 else "discrepant")


def test_reproduce_seeds_skips_finished_seed_runs_and_verifies_them(tmp_path, cli):
    """`reproduce --seeds 2` over finished runs: no torch, every seed run found, verify judges K = 2."""
    from bioeval.manifest import cells, load_manifest
    from bioeval.manifest.resolve import with_seeds
    from tests.verify.factory import write_run

    smoke = REPO / "manifests" / "smoke.yaml"
    for c in with_seeds(cells(load_manifest(smoke)), 2):  # finished runs: predictions, scores and receipt
        write_run(tmp_path, c, {k: v.value for k, v in c.expected.items()}, n=96)
    r = cli("--workdir", str(tmp_path), "reproduce", str(smoke), "--seeds", "2", "--no-progress")
    assert "0 run, 8 already finished, 8 total" in r.stderr
    data = json.loads(cli("--workdir", str(tmp_path), "verify", str(smoke), "--json").stdout)
    assert {row["runs"] for row in data["cells"]} == {2}
    # two identical seed runs measure 0 (1 df); pooled with the declared 5-run study (4 df) the seed
    # part is declared x sqrt(4/5), and the published run keeps the declared spread: never a
    # zero-width interval, and synthetic runs at the expected values are reproduced
    for row in data["cells"]:
        declared = row["published_seed_sd"]  # max(measured 0, declared, floor): the declared sd
        assert row["df"] == 5 and row["parts"]["seed"] == pytest.approx(declared * (4 / 5) ** 0.5)
        assert row["interval"][1] - row["interval"][0] > 0.01
        assert row["verdict"] == "reproduced", row
    assert r.returncode == (0 if data["summary"]["global_verdict"] == "reproduced" else 1), r.stderr[-2000:]


def test_run_cell_finds_a_seed_run_by_its_run_id(tmp_path, cli):
    """What container and Slurm tasks call: `run-cell --run-id` of seed run 2 (finished: skipped, no torch)."""
    from bioeval.manifest import cells, load_manifest
    from bioeval.manifest.resolve import seed_variant
    from bioeval.runs import RunDir, write_json

    smoke = REPO / "manifests" / "smoke.yaml"
    variant = seed_variant(cells(load_manifest(smoke))[0], 2)
    rd = RunDir(tmp_path, variant.run_id).create({**variant.spec, "run_id": variant.run_id})
    write_json(rd.scores, {"run_id": variant.run_id, "metrics": {"precision": 1.0, "recall": 1.0, "f1": 1.0}})
    rd.set_status("done")
    r = cli("--workdir", str(tmp_path), "run-cell", str(smoke), "--run-id", variant.run_id)
    assert r.returncode == 0, r.stderr
    r = cli("--workdir", str(tmp_path), "run-cell", str(smoke), "--run-id", "0123456789abcdef")
    assert r.returncode == 2 and "no cell with run id 0123456789abcdef" in r.stderr
