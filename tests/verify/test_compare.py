"""compare: per-cell paired deltas between two results folders, exit 1 on a regression."""

from __future__ import annotations

import json

import pytest
from tests.verify.factory import cell_of, write_manifest, write_run

from bioeval.verify.compare import compare_results


def preds(n_correct: int, n: int = 200, start: int = 0):
    return [{"id": str(start + i), "prediction": "A" if i < n_correct else "B", "reference": "A"} for i in range(n)]


@pytest.fixture
def folders(tmp_path):
    manifest = write_manifest(tmp_path)
    ee, ner = cell_of(manifest, "tiny", "ee"), cell_of(manifest, "tiny", "ner")
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a, ee, {"precision": 0.8, "recall": 0.8, "f1": 0.8}, predictions=preds(160), n=200)
    write_run(a, ner, {"precision": 0.5, "recall": 0.5}, n=100)
    write_run(b, ner, {"precision": 0.49, "recall": 0.49}, n=100)
    return ee, a, b


def test_regression_detected_with_paired_interval(folders, cli):
    ee, a, b = folders
    # B: different run id (a new software version), 20 fewer correct, and 10 instances A did not score
    write_run(b, ee, None, run_id="newversion000000", predictions=preds(140) + preds(10, n=10, start=500))
    data = compare_results(a, b, threshold=0.02)
    row = next(r for r in data["cells"] if r["dataset"] == "ee")
    assert row["n_shared"] == 200 and row["delta"] == pytest.approx(-0.1)
    assert row["ci"][1] < 0 and row["significant"] and row["verdict"] == "REGRESSED"
    assert any("200 shared" in n for n in row["notes"])
    ner = next(r for r in data["cells"] if r["dataset"] == "ner")  # a small drop, within the threshold
    assert ner["delta"] == pytest.approx(-0.01, abs=0.005) and ner["ci"] is not None and ner["verdict"] == "OK"
    r = cli("compare", str(a), str(b), "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["summary"]["regressed"] == 1
    # a threshold beyond the drop: OK, exit 0
    r = cli("compare", str(a), str(b), "--threshold", "0.2")
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout


def test_no_change_and_missing_cells(folders, cli):
    ee, a, b = folders
    write_run(b, ee, None, predictions=preds(162))
    data = compare_results(a, b)
    row = next(r for r in data["cells"] if r["dataset"] == "ee")
    assert row["delta"] == pytest.approx(0.01) and row["verdict"] == "OK" and row["ci"][0] < 0.01 < row["ci"][1]
    tc = cell_of(ee_manifest := a.parent / "mini.yaml", "big", "tc")
    write_run(a, tc, {"precision": 0.5, "recall": 0.5})
    data = compare_results(a, b)
    assert next(r for r in data["cells"] if r["dataset"] == "tc")["verdict"] == "MISSING"
    assert cli("compare", str(a), str(b)).returncode == 0, ee_manifest
