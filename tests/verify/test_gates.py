"""Gates that cannot pass silently, added models (verdict NEW), pairing across model keys, instances."""

from __future__ import annotations

import json

import pytest
from tests.verify.factory import cell_of, verify_selected, write_manifest, write_run

from bioeval.errors import NothingToCompare
from bioeval.manifest import cells, load_manifest
from bioeval.manifest.extend import add_models
from bioeval.verify.compare import compare_results
from bioeval.verify.verify import verify_manifest

HEX = "a" * 40


def preds(n_correct: int, n: int = 50):
    return [{"id": str(i), "prediction": "A" if i < n_correct else "B", "reference": "A"} for i in range(n)]


def added_cell(manifest, key, dataset, like=None, target=None):
    loaded = add_models(load_manifest(manifest), [f"{key}={target or 'org/new@' + HEX}"], like)
    return loaded, next(c for c in cells(loaded) if c.model.key == key and c.dataset.key == dataset)


def test_single_run_folder_is_a_workdir_of_one_run(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    run = write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ner"), {"precision": 0.7, "recall": 0.6, "f1": 0.6462})
    rows = verify_manifest(load_manifest(manifest), run)["cells"]
    assert {r["verdict"] for r in rows if r["model"] == "tiny" and r["dataset"] == "ner"} == {"reproduced"}
    code, out, err = bioeval_cli("verify", manifest, "--results", run, "--only", "model=tiny,dataset=ner", "--json")
    assert code == 0 and json.loads(out)["summary"]["reproduced"] == 3


def test_finished_run_without_usable_scores_is_invalid(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    run = write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ee"), {"precision": 0.8, "recall": 0.8, "f1": 0.8})
    (run / "scores.json").write_text('{"metrics": ')  # torn file, and no predictions to re-score from
    (run / "predictions.jsonl").unlink()
    rows = [r for r in verify_manifest(load_manifest(manifest), tmp_path / "runs")["cells"] if r["dataset"] == "ee"
            and r["model"] == "tiny"]
    assert {r["verdict"] for r in rows} == {"invalid"}
    code, _, err = bioeval_cli("verify", manifest, "--results", tmp_path / "runs", "--allow-missing")
    assert code == 1 and "1 invalid" not in err and "3 invalid" in err


def test_added_model_cells_are_new_and_do_not_gate(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "runs"
    write_run(results, cell_of(manifest, "tiny", "ner"), {"precision": 0.7, "recall": 0.6, "f1": 0.6462})
    loaded, cell = added_cell(manifest, "mynew", "ner", like="tiny")
    assert cell.model.added and cell.model.like == "tiny" and cell.model.resources == loaded.manifest.models[0].resources
    write_run(results, cell, {"precision": 0.1, "recall": 0.1, "f1": 0.1})
    report = verify_selected(loaded, results, "dataset=ner,model=tiny,model=mynew")
    new = [r for r in report["cells"] if r["model"] == "mynew"]
    assert [r["verdict"] for r in new] == ["new"] * 3 and all(r["expected"] is None for r in new)
    assert report["summary"]["new"] == 3 and report["summary"]["reproduced"] == 3
    code, out, err = bioeval_cli("verify", manifest, "--results", results, "--add-model", f"mynew=org/new@{HEX}",
                                 "--like", "tiny", "--only", "dataset=ner,model=tiny,model=mynew")
    assert code == 0, err
    assert "new" in out and "compared, not verified" in err


def test_add_model_refuses_bad_input(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    for arg, words in ((f"tiny=org/x@{HEX}", "already exists"), ("x=org/name@main", "not a 40-hex commit"),
                       ("x=./nowhere", "no folder"), ("Bad Key=org/x@" + HEX, "must be lowercase")):
        code, _, err = bioeval_cli("plan", manifest, "--add-model", arg)
        assert code == 2 and words in err and "Traceback" not in err, (arg, err)
    code, _, err = bioeval_cli("plan", manifest, "--add-model", f"x=org/x@{HEX}", "--like", "tinyy")
    assert code == 2 and "did you mean 'tiny'" in err


def test_compare_nothing_paired_is_exit_2(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    write_run(tmp_path / "a", cell_of(manifest, "tiny", "ee"), {"precision": 0.8, "recall": 0.8, "f1": 0.8})
    (tmp_path / "b").mkdir()
    with pytest.raises(NothingToCompare):
        compare_results(tmp_path / "a", tmp_path / "b")
    code, _, err = bioeval_cli("compare", tmp_path / "a", tmp_path / "b")
    assert code == 2 and "nothing to compare" in err and "--pair" in err


def test_compare_pairs_across_model_keys_and_lists_flips(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    runs = tmp_path / "runs"
    write_run(runs, cell_of(manifest, "tiny", "ee"), None, predictions=preds(40))
    _, cell = added_cell(manifest, "mynew", "ee")
    newer = preds(30) + [{"id": "49", "prediction": "A", "reference": "A"}]  # 10 broken, id 49 fixed
    write_run(runs, cell, None, predictions=[p for p in newer if p["id"] != "49"][:49] + newer[-1:])
    with pytest.raises(NothingToCompare):  # same keys only: tiny is not in B under that key
        compare_results(runs, runs, pairs={"big": "mynew"})
    data = compare_results(runs, runs, pairs={"tiny": "mynew"})
    row = next(r for r in data["cells"] if r["dataset"] == "ee")
    assert row["model_b"] == "mynew" and row["n_shared"] == 50 and row["delta"] == pytest.approx(31 / 50 - 40 / 50)
    assert row["verdict"] == "REGRESSED" and row["ci"][1] < 0
    code, out, err = bioeval_cli("compare", runs, "--pair", "tiny=mynew", "--instances", "--json")
    assert code == 1
    flips = json.loads(out)["cells"][0]["flips"]
    assert [f["direction"] for f in flips] == ["broken"] * 10 + ["fixed"]
    assert flips[0] == {"id": "30", "direction": "broken", "gold": "A", "a": "A", "b": "B",
                        "a_counts": [1, 1, 1], "b_counts": [0, 1, 1]} and flips[-1]["id"] == "49"


def test_show_and_score_read_the_run(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    run = write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ee"), None, predictions=preds(45))
    code, out, _ = bioeval_cli("show", run, "--errors", "--limit", "3", "--json")
    data = json.loads(out)
    assert code == 0 and data["total"] == 50 and data["errors"] == 5 and data["shown"] == 3
    assert data["scorer"] == "zhan2024-set-f1" and data["instances"][0]["id"] == "45"
    assert data["instances"][0]["gold"] == "A" and data["instances"][0]["prediction"] == "B"
    code, out, _ = bioeval_cli("show", run)
    assert code == 0 and "5 with errors" in out
    code, out, err = bioeval_cli("score", run, "--json")  # scorer and labels from spec.json
    assert code == 0, err
    assert json.loads(out)["f1"] == pytest.approx(0.9) and json.loads(out)["scorer"] == "zhan2024-set-f1"
    code, _, err = bioeval_cli("show", tmp_path / "runs")  # a workdir, not a run
    assert code == 2 and "looks like a workdir" in err


def test_compare_marks_unscorable_runs_invalid(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a, cell_of(manifest, "tiny", "ee"), None, predictions=preds(40))
    run_b = write_run(b, cell_of(manifest, "tiny", "ee"), None, predictions=preds(40))
    (run_b / "predictions.jsonl").write_text('{"id": "1", "prediction": "A"}\n')  # no reference
    (row,) = compare_results(a, b)["cells"]
    assert row["verdict"] == "INVALID" and any("invalid" in n or "could not be scored" in n for n in row["notes"])
    code, _, err = bioeval_cli("compare", a, b)
    assert code == 1 and "1 invalid" in err  # never OK


def test_report_warns_when_the_audit_cannot_read_the_data(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "runs"
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.8, "recall": 0.8, "f1": 0.8})
    code, out, err = bioeval_cli("report", manifest, "--results", results, "--out", tmp_path / "r.md")
    assert code == 0 and "warning" in err and "could not read 3 split(s)" in err and "--data-mirror" in err
    code, _, err = bioeval_cli("report", manifest, "--results", tmp_path / "nowhere")
    assert code == 2 and "does not exist" in err


def test_status_refuses_a_run_folder_with_the_fix(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    run = write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ee"), None, predictions=preds(10))
    code, _, err = bioeval_cli("status", run)
    assert code == 2 and f"bioeval status {run.parent}" in err


def test_regression_report_pairs_the_added_model_with_the_one_it_replaces(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    runs = tmp_path / "runs"
    write_run(runs, cell_of(manifest, "tiny", "ee"), None, predictions=preds(40))
    _, cell = added_cell(manifest, "mynew", "ee", like="tiny")
    write_run(runs, cell, None, predictions=preds(45))
    out = tmp_path / "r.md"
    code, _, err = bioeval_cli("report", manifest, "--results", runs, "--out", out, "--add-model",
                               f"mynew=org/new@{HEX}", "--like", "tiny")
    assert code == 0, err
    md = out.read_text()
    section = md.split("### New models on the paper's protocol")[1].split("\n### ")[0]
    ee = next(line for line in section.splitlines() if line.startswith("| EventSet |"))
    # 0.9 F1 against published 0.80 (tiny) and 0.90 (big): rank 1 of 3 (ties rank above); +0.10 vs tiny, paired
    assert ee.startswith("| EventSet | 0.9000 | 1 of 3 | Big-Model-70B 0.90 | +0.1000 [")
    assert ee.rstrip().endswith("| 50 |")
    assert "tiny x ee" not in section and "MISSING" not in section


def test_reproduce_with_finished_cells_reports_html_and_gates(tmp_path, bioeval_cli):
    manifest = write_manifest(tmp_path)
    work = tmp_path / "runs"
    metrics = {"ee": (0.80, 0.80, 0.80), "ner": (0.70, 0.60, 0.6462), "tc": (0.84, 0.92, 0.88)}
    for dataset, (p, r, f) in metrics.items():
        write_run(work, cell_of(manifest, "tiny", dataset), {"precision": p, "recall": r, "f1": f}, n=400)
    html, md = tmp_path / "site" / "r.html", tmp_path / "site" / "r.md"
    code, out, err = bioeval_cli("--workdir", work, "reproduce", manifest, "--only", "model=tiny,dataset=ee,dataset=ner",
                                 "--no-progress", "--report", md, "--html", html)
    assert code == 0, err
    assert "cells: 0 run, 2 already finished" in err and "verified: 6 value(s)" in out
    assert md.is_file() and html.is_file() and "bioeval-data" in html.read_text()
