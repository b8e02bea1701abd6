"""verify over result folders the tests write: verdicts, tolerances, exit codes, JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from scipy.stats import norm
from tests.verify.factory import cell_of, write_manifest, write_run

from bioeval.manifest import load_manifest
from bioeval.manifest.schema import Tolerance
from bioeval.verify.tolerance import allowed, rule_for
from bioeval.verify import sampling as sp
from bioeval.verify import statistics as st
from bioeval.verify.verify import verify_manifest


@pytest.fixture
def world(tmp_path):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    c = lambda m, d: cell_of(manifest, m, d)  # noqa: E731
    write_run(results, c("tiny", "ee"), {"precision": 0.80, "recall": 0.83}, n=400)
    write_run(results, c("tiny", "ner"), {"precision": 0.75, "recall": 0.55}, n=5000)
    write_run(results, c("tiny", "tc"), {"precision": 0.87, "recall": 0.95}, n=400)
    # big x ner: an older run (other run id), no scores.json, only predictions -> re-scored
    write_run(results, c("big", "ner"), None, run_id="0ldrun0000000000", predictions=[
        {"id": "a", "prediction": "[1, 2, 0]", "reference": "[1, 2, 0]"},
        {"id": "b", "prediction": "[0, 0, 0]", "reference": "[0, 1, 0]"}])
    write_run(results, c("big", "tc"), None, state="failed")
    return manifest, results


def rows_by(report):
    return {(r["model"], r["dataset"], r["metric"]): r for r in report["cells"]}


def test_verdicts_tolerances_and_notes(world):
    manifest, results = world
    report = verify_manifest(load_manifest(manifest), results)
    r = rows_by(report)
    assert r["tiny", "ee", "precision"]["verdict"] == "reproduced"
    assert r["tiny", "ee", "f1"]["verdict"] == "reproduced"  # F1 0.8147 (from P 0.80, R 0.83): |0.0147| <= 0.02
    ee_r = r["tiny", "ee", "recall"]
    assert (ee_r["verdict"], ee_r["direction"]) == ("discrepant", "higher")  # |0.03| > abs 0.02
    assert ee_r["delta"] == pytest.approx(0.03) and ee_r["interval"] == pytest.approx([0.81, 0.85])
    assert ee_r["p_value"] is None and ee_r["runs"] == 1  # a fixed rule carries no probability
    # rel 0.10 for dataset ner: 0.70 +- 0.07, 0.60 +- 0.06
    assert r["tiny", "ner", "precision"]["tolerance"] == pytest.approx(0.07)
    assert {r["tiny", "ner", m]["verdict"] for m in ("precision", "recall", "f1")} == {"reproduced"}
    # auto for tc (z 1.96, margin 0.01), n 400 of 2,500 records cut to 1,000: both sides random cuts,
    # sampling sd = sqrt(2 (1 - 400/2500)) * SE; precision has a published interval [0.80, 0.88], so
    # SE = 0.08 / (2 x 1.959964) (P moves with the predicted positives, not n); recall has none: the
    # binomial sqrt(f (1 - f) / 400) at the published f.  The published run carries seed_floor 0.001.
    prec = r["tiny", "tc", "precision"]
    samp = (2 * (1 - 400 / 2500)) ** 0.5 * 0.08 / (2 * 1.959964)
    sd = (samp ** 2 + 0.001 ** 2) ** 0.5
    assert prec["n"] == 400 and prec["parts"] == {"sampling": pytest.approx(samp), "seed": 0.0, "bias": 0.0}
    assert prec["sources"]["seed"].startswith("none")  # no seed study, no declaration: taken as 0, said so
    assert "published interval" in prec["sources"]["sampling"] and prec["published_seed_sd"] == 0.001
    assert prec["delta"] == pytest.approx(0.03, abs=0.002)  # synthetic predictions: P 0.8691 for 0.87
    # ~323 effective trials (0.84 x 0.16 / SE^2) per cut, / (1 - 400/2500): under 100 minority
    # outcomes at the pooled 0.855, so the sampling part is two binomial cuts, not a normal
    trials = 0.84 * 0.16 / (0.08 / (2 * 1.959964)) ** 2 / (1 - 400 / 2500)
    counts = sp.CountSampling((0.84 + 0.84 + prec["delta"]) / 2, round(trials), 2)
    assert prec["test"] == "count"
    assert prec["p_value"] == pytest.approx(float(st.count_p_value(-prec["delta"], counts, 0.001, 0.01)))  # other part: the floor
    assert prec["p_value"] == pytest.approx(2 * norm.sf((prec["delta"] - 0.01) / sd), rel=0.25)  # near the normal
    assert prec["tolerance"] == pytest.approx(0.01 + 1.96 * sd, rel=0.1)
    assert prec["verdict"] == "reproduced" and prec["in_published_ci"] is True and prec["published_ci"] == [0.80, 0.88]
    rec = r["tiny", "tc", "recall"]  # 0.03 off: inside about 0.01 + 1.96 * 0.0176 = 0.0445
    assert rec["verdict"] == "reproduced" and rec["tolerance"] == pytest.approx(
        0.01 + 1.96 * (2 * (1 - 400 / 2500) * 0.92 * 0.08 / 400 + 0.001 ** 2) ** 0.5, rel=0.1)
    # model+dataset+metric (abs 0.001) beats dataset+metric (abs 0.03) and dataset (auto)
    f1 = r["tiny", "tc", "f1"]
    assert f1["tolerance"] == pytest.approx(0.001) and f1["verdict"] == "discrepant"
    # missing: no run at all; invalid: a failed run
    assert r["big", "ee", "f1"]["verdict"] == "missing" and "no run" in r["big", "ee", "f1"]["notes"][0]
    failed_tc = r["big", "tc", "precision"]
    assert failed_tc["verdict"] == "invalid" and "state failed" in " ".join(failed_tc["notes"])
    # re-scored from predictions, matched by keys: P 1/1, R 1/2
    ner = r["big", "ner", "precision"]
    assert ner["observed"] == 1.0 and r["big", "ner", "recall"]["observed"] == 0.5
    assert ner["matched_by"] == "keys" and ner["run_id"] != cell_of(manifest, "big", "ner").run_id
    assert any("model/dataset keys" in n for n in ner["notes"]) and any("re-scored" in n for n in ner["notes"])
    assert (ner["verdict"], r["big", "ner", "recall"]["verdict"]) == ("discrepant", "reproduced")
    s = report["summary"]
    assert {k: s[k] for k in ("reproduced", "discrepant", "missing", "invalid")} == \
        {"reproduced": 8, "discrepant": 4, "missing": 3, "invalid": 3}
    # two values carry p-values (auto, z 1.96: 5% each); fixed-rule discrepancies fail the global verdict
    assert s["tested"] == 2 and s["expected_false_discrepancies"] == pytest.approx(0.1, abs=1e-3)
    assert (s["global_verdict"], s["method"], s["level"]) == ("not-reproduced", "holm", 0.05)
    assert set(report["cells"][0]) >= {"run_id", "model", "dataset", "task", "metric", "expected", "observed",
                                       "tolerance", "delta", "verdict", "n", "interval", "parts", "p_value", "runs"}


def test_override_precedence_rules():
    tol = Tolerance.model_validate({
        "default": {"kind": "abs", "value": 0.02},
        "overrides": [
            {"metric": "f1", "kind": "abs", "value": 0.1},
            {"dataset": "d", "kind": "abs", "value": 0.2},
            {"model": "m", "kind": "abs", "value": 0.3},
            {"dataset": "d", "metric": "f1", "kind": "abs", "value": 0.4},
            {"model": "m", "metric": "f1", "kind": "abs", "value": 0.5},
            {"model": "m", "dataset": "d", "kind": "abs", "value": 0.6},
            {"model": "m", "dataset": "d", "metric": "f1", "kind": "abs", "value": 0.7},
            {"model": "m", "dataset": "d", "metric": "f1", "kind": "abs", "value": 0.8},  # same fields: later wins
        ]})
    v = lambda *k: rule_for(tol, *k).value  # noqa: E731
    assert v("m", "d", "f1") == 0.8
    assert v("m", "d", "recall") == 0.6
    assert v("m", "x", "f1") == 0.5  # model+metric
    assert v("x", "d", "f1") == 0.4
    assert v("m", "x", "recall") == 0.3  # one field: model beats dataset beats metric
    assert v("x", "d", "recall") == 0.2
    assert v("x", "x", "f1") == 0.1
    assert v("x", "x", "recall") == 0.02


def test_allowed_kinds():
    from bioeval.manifest.schema import ToleranceRule

    assert allowed(ToleranceRule(kind="abs", value=0.02), 0.5) == 0.02
    assert allowed(ToleranceRule(kind="rel", value=0.1), 0.5) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="no fixed half-width"):
        allowed(ToleranceRule(kind="auto"), 0.5)


def test_cli_verify_exit_codes_json_and_junit(world, cli, tmp_path):
    manifest, results = world
    junit = tmp_path / "out" / "verify.xml"
    r = cli("verify", str(manifest), "--results", str(results), "--json", "--junit", str(junit))
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert (data["summary"]["discrepant"], data["summary"]["missing"]) == (4, 3) and data["manifest"] == str(manifest)
    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 18 and root.get("tests") == "18"
    assert len(root.findall(".//testcase/failure")) == 7 and len(root.findall(".//testcase/skipped")) == 3
    names = {c.get("name") for c in cases if c.find("failure") is not None}
    assert "tiny x tc f1" in names and "tiny x ee recall" in names
    assert {s.get("name").rsplit(".", 1)[1] for s in root.findall("testsuite")} == {"EE", "NER", "TC"}
    # the rich table, grouped by task
    r = cli("verify", str(manifest), "--results", str(results))
    assert r.returncode == 1 and "EE: expected vs observed" in r.stdout and "discrepant" in r.stdout
    assert "global verdict not-reproduced" in r.stderr and "global verdict (holm" in r.stdout
    # only reproduced cells: exit 0
    r = cli("verify", str(manifest), "--results", str(results), "--only", "model=tiny,dataset=ner")
    assert r.returncode == 0, r.stdout + r.stderr
    # only missing cells: exit 1
    only = ["--only", "model=big,dataset=ee"]
    assert cli("verify", str(manifest), "--results", str(results), *only).returncode == 1
    # ... and nothing checked at all is never a pass, --allow-missing or not
    r = cli("verify", str(manifest), "--results", str(results), *only, "--allow-missing")
    assert r.returncode == 1 and "no value could be checked" in r.stderr
    # a failed global verdict still fails with --allow-missing
    assert cli("verify", str(manifest), "--results", str(results), "--allow-missing").returncode == 1


def test_cli_verify_default_results_is_workdir(world, cli):
    manifest, results = world
    r = cli("--workdir", str(results), "verify", str(manifest), "--json", "--only", "model=tiny,dataset=ner")
    assert r.returncode == 0 and json.loads(r.stdout)["summary"]["reproduced"] == 3


def test_cli_verify_bad_manifest_is_usage_error(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("paper: {title: x}\nmodels: []\n")
    r = cli("verify", str(bad), "--results", str(tmp_path))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_cli_verify_refuses_absent_results_folder(world, cli, tmp_path):
    manifest, _ = world
    r = cli("verify", str(manifest), "--results", str(tmp_path / "nowhere"), "--allow-missing")
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_unreadable_scores_fall_back_to_predictions(tmp_path):
    manifest = write_manifest(tmp_path)
    cell = cell_of(manifest, "tiny", "ee")
    run = write_run(tmp_path / "r", cell, None, predictions=[{"id": "1", "prediction": "A", "reference": "A"}])
    (run / "scores.json").write_text('{"metrics": ')  # a crash mid-write by some other tool
    rows = rows_by(verify_manifest(load_manifest(manifest), tmp_path / "r"))
    row = rows["tiny", "ee", "f1"]
    assert row["observed"] == 1.0 and any("unreadable" in n for n in row["notes"])
