"""verify and report over the real paper manifests, with result folders written by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.verify.factory import write_run

from bioeval.manifest import cells, load_manifest

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def manifest(name: str) -> Path:
    path = MANIFESTS / name
    if not path.exists():
        pytest.skip(f"{path} not on this branch")
    return path


def test_guo_statistical_rule_on_two_random_cuts(cli, tmp_path):
    path = manifest("guo_sarker_classification.yaml")
    cell = next(c for c in cells(load_manifest(path)) if c.dataset.key == "breast-cancer" and "distill" not in c.model.key)
    # Llama3-70B, breast cancer: P 0.84 (0.80-0.88) R 0.92 (0.88-0.94) F1 0.88 (0.85-0.90)
    write_run(tmp_path / "runs", cell, {"precision": 0.72, "recall": 0.95}, n=1004)
    r = cli("verify", str(path), "--results", str(tmp_path / "runs"), "--json", "--only",
            f"model={cell.model.key},dataset=breast-cancer")
    rows = {x["metric"]: x for x in json.loads(r.stdout)["cells"]}
    # no bootstrap in this run: SE from the published interval, two independent 20% cuts of 5019
    se = (0.88 - 0.80) / (2 * 1.959964)
    samp = se * (2 * (1 - 1004 / 5019)) ** 0.5
    prec = rows["precision"]
    assert prec["parts"]["sampling"] == pytest.approx(samp, rel=1e-4) and prec["parts"]["seed"] == 0.0
    # about 400 effective trials (the predicted positives the published interval measured) at 0.78:
    # under COUNT_BELOW minority outcomes, so the sampling part is counted, not normal (issue 21, 7)
    assert prec["test"] == "count" and "binomial counts" in prec["sources"]["sampling"]
    normal = 0.005 + 1.959964 * (samp ** 2 + 0.001 ** 2) ** 0.5
    assert prec["tolerance"] == pytest.approx(normal, rel=0.2)
    assert prec["verdict"] == "discrepant" and prec["family_discrepant"] is True  # 0.12 below: p ~ 1e-5
    assert r.returncode == 1
    assert rows["recall"]["verdict"] == "reproduced" and rows["recall"]["in_published_ci"] is False  # 0.95 > 0.94


def test_zhan_rescored_from_predictions(cli, tmp_path):
    path = manifest("deepseek_bionlp.yaml")
    cell = next(c for c in cells(load_manifest(path)) if c.dataset.key == "ddi")
    expected = cell.expected["f1"].value
    k = round(expected * 1000)  # a 1,000-instance test sample with exactly the published accuracy
    preds = [{"id": str(i), "prediction": "DDI-effect" if i < k else "DDI-int", "reference": "DDI-effect"}
             for i in range(1000)]
    write_run(tmp_path / "runs", cell, None, predictions=preds)
    r = cli("verify", str(path), "--results", str(tmp_path / "runs"), "--json", "--only",
            f"model={cell.model.key},dataset=ddi")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads(r.stdout)["cells"]
    assert {x["verdict"] for x in rows} == {"reproduced"} and rows[0]["n"] == 1000
    assert rows[-1]["observed"] == pytest.approx(k / 1000) and any("re-scored" in n for n in rows[-1]["notes"])


def test_zhan_seed_study_global_verdict(cli, tmp_path):
    """Three seeds of all 144 cells, drawn around the published values with the declared spreads:
    per-cell verdicts, the expected false discrepancies and one global verdict; then 15 cells 0.1 lower."""
    import numpy as np

    from bioeval.manifest.resolve import seed_variant
    from bioeval.verify.tolerance import seed_spread

    path = manifest("deepseek_bionlp.yaml")
    loaded = load_manifest(path)
    rng = np.random.default_rng(7)
    all_cells = cells(loaded)
    low = {c.run_id for c in all_cells[::10]}
    for shifted, folder in ((False, tmp_path / "good"), (True, tmp_path / "bad")):
        for c in all_cells:
            sd = {m: seed_spread(loaded.manifest.tolerance, c, m).sd for m in c.expected}
            bias = {"precision": 0.0, "recall": 0.0, "f1": 0.01}
            for i in range(3):
                metrics = {m: float(np.clip(v.value - bias[m] + sd[m] * rng.standard_normal()
                                            - (0.1 if shifted and c.run_id in low else 0.0), 0, 1))
                           for m, v in c.expected.items()}
                write_run(folder, seed_variant(c, i), metrics, n=1000)
    r = cli("verify", str(path), "--results", str(tmp_path / "good"), "--json")
    data = json.loads(r.stdout)
    s = data["summary"]
    assert (s["values"], s["tested"], s["expected_false_discrepancies"]) == (432, 432, pytest.approx(21.6))
    assert {row["runs"] for row in data["cells"]} == {3} and s["global_verdict"] == "reproduced"
    assert r.returncode == 0, r.stderr
    r = cli("verify", str(path), "--results", str(tmp_path / "bad"))
    assert r.returncode == 1 and "global verdict (holm, family-wise error 0.05): not-reproduced" in r.stdout
    assert "expected false discrepancies under perfect reproduction: 21.6 of 432" in r.stdout
