"""The integrity chain: a run directory that was tampered with, or never finished, is invalid
(with one line saying why), never reproduced; the other cells are still verified."""

from __future__ import annotations

import json

import pytest
from tests.verify.factory import cell_of, write_manifest, write_run

from bioeval.manifest import load_manifest
from bioeval.runs import write_json
from bioeval.verify.compare import compare_results
from bioeval.verify.verify import verify_manifest

PUBLISHED_EE = {"precision": 0.80, "recall": 0.80}  # tiny x ee in the factory's manifest


@pytest.fixture
def world(tmp_path):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    ee = write_run(results, cell_of(manifest, "tiny", "ee"), PUBLISHED_EE, n=400)
    ner = write_run(results, cell_of(manifest, "tiny", "ner"), {"precision": 0.70, "recall": 0.60}, n=500)
    return manifest, results, ee, ner


def verdicts(manifest, results, model="tiny", dataset="ee"):
    rows = [r for r in verify_manifest(load_manifest(manifest), results)["cells"]
            if (r["model"], r["dataset"]) == (model, dataset)]
    return {r["verdict"] for r in rows}, rows[0]["notes"]


def rewrite_lines(path, change):
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(change(r)) + "\n" for r in rows))


def test_untouched_runs_pass(world):
    manifest, results, _, _ = world
    assert verdicts(manifest, results)[0] == {"reproduced"}
    assert verdicts(manifest, results, dataset="ner")[0] == {"reproduced"}


def test_rewritten_predictions_are_invalid(world):
    manifest, results, ee, _ = world
    rewrite_lines(ee / "predictions.jsonl", lambda r: {**r, "prediction": "wrong"})
    found, notes = verdicts(manifest, results)
    assert found == {"invalid"}
    assert any("predictions.jsonl changed after the run" in n for n in notes), notes


def test_rewritten_predictions_with_matching_hash_in_scores_are_still_caught(world):
    """Rewriting the predictions and the hash in scores.json: the receipt's hash and the metrics disagree."""
    from bioeval.data.cache import sha256_file

    manifest, results, ee, _ = world
    rewrite_lines(ee / "predictions.jsonl", lambda r: {**r, "prediction": "wrong"})
    scores = json.loads((ee / "scores.json").read_text())
    write_json(ee / "scores.json", {**scores, "predictions_sha256": sha256_file(ee / "predictions.jsonl")})
    found, notes = verdicts(manifest, results)
    assert found == {"invalid"} and any("receipt.json records" in n for n in notes), notes
    (ee / "receipt.json").write_text("{}")  # no receipt at all: not this run's receipt, so invalid
    found, notes = verdicts(manifest, results)
    assert found == {"invalid"} and any("receipt.json: run_id" in n for n in notes), notes


def test_scores_forged_to_the_published_values_are_invalid(world, cli):
    manifest, results, _, ner = world
    # tiny x ner fails when its recall is far off; forge scores.json to the published values
    write_run(results, cell_of(manifest, "tiny", "ner"), {"precision": 0.70, "recall": 0.40}, n=500)
    assert "discrepant" in verdicts(manifest, results, dataset="ner")[0]
    scores = json.loads((ner / "scores.json").read_text())
    write_json(ner / "scores.json", {**scores, "metrics": {**scores["metrics"], "recall": 0.60, "f1": 0.6462}})
    found, notes = verdicts(manifest, results, dataset="ner")
    assert found == {"invalid"} and any("scores.json says recall 0.6000, its predictions give 0.4" in n
                                        for n in notes), notes
    junit = ner.parent.parent / "verify.xml"
    r = cli("verify", str(manifest), "--results", str(results), "--only", "model=tiny,dataset=ner", "--json",
            "--junit", str(junit))
    assert r.returncode == 1 and json.loads(r.stdout)["summary"]["invalid"] == 3
    assert junit.read_text().count('type="InvalidRun"') == 3


def test_folder_with_only_spec_and_forged_scores_is_invalid(tmp_path):
    manifest = write_manifest(tmp_path)
    cell = cell_of(manifest, "tiny", "ee")
    run = tmp_path / "results" / cell.run_id
    run.mkdir(parents=True)
    write_json(run / "spec.json", {**cell.spec, "run_id": cell.run_id})
    write_json(run / "scores.json", {"metrics": {"precision": 0.8, "recall": 0.8, "f1": 0.8}, "n": 400})
    found, notes = verdicts(manifest, tmp_path / "results")
    assert found == {"invalid"} and any("not done" in n for n in notes), notes
    write_json(run / "status.json", {"state": "done"})  # even when it claims to be done
    found, notes = verdicts(manifest, tmp_path / "results")
    assert found == {"invalid"} and any("predictions.jsonl is missing" in n for n in notes), notes


@pytest.mark.parametrize("damage, why", [
    (lambda run: (run / "predictions.jsonl").unlink(), "predictions.jsonl is missing"),
    (lambda run: (run / "receipt.json").unlink(), "receipt.json is missing"),
    (lambda run: write_json(run / "status.json", {"state": "running"}), "not done"),
    (lambda run: (run / "predictions.jsonl").write_text('{"id": "1", "prediction": null, "reference": "A"}\n'),
     "predictions.jsonl:1: record '1': field 'completion' is null"),
    (lambda run: (run / "predictions.jsonl").write_text("{not json\n"), "not valid JSON"),
])
def test_one_broken_run_is_invalid_and_the_others_still_verify(world, damage, why):
    manifest, results, ee, _ = world
    damage(ee)
    found, notes = verdicts(manifest, results)
    assert found == {"invalid"} and any(why in n for n in notes), notes
    assert verdicts(manifest, results, dataset="ner")[0] == {"reproduced"}


def test_compare_refuses_a_tampered_run(world, tmp_path):
    manifest, results, ee, _ = world
    other = tmp_path / "other"
    write_run(other, cell_of(manifest, "tiny", "ee"), PUBLISHED_EE, n=400)
    rewrite_lines(ee / "predictions.jsonl", lambda r: {**r, "prediction": "A"})  # everything right now
    row = next(r for r in compare_results(results, other)["cells"] if r["dataset"] == "ee")
    assert row["verdict"] == "INVALID" and any("run A invalid" in n for n in row["notes"])


def test_report_shows_invalid_cells(world):
    from bioeval.report.markdown import render_report

    manifest, results, ee, _ = world
    rewrite_lines(ee / "predictions.jsonl", lambda r: {**r, "prediction": "A"})
    loaded = load_manifest(manifest)
    md = render_report(loaded, verify_manifest(loaded, results))
    ee = md.split("### EE")[1].split("###")[0]
    assert "**invalid (P, R, F1)**" in ee and "changed after the run" in ee and "**reproduced" not in ee
