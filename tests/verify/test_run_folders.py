"""A run folder proves which cell it belongs to, and no run folder can crash `verify` (issue 23,
findings 1, 2, 4 and 9).  The folders under smoke_runs/ are real `bioeval run manifests/smoke.yaml`
outputs (tiny-llama x smoke-re and x smoke-tc, CPU; log.txt and checkpoints left out)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bioeval.manifest import cells, load_manifest
from bioeval.runs import RunDir
from bioeval.verify.verify import verify_manifest
from tests.verify.factory import verify_selected

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "manifests" / "smoke.yaml"
FIXTURES = Path(__file__).parent / "smoke_runs"
RE, TC = "48b314aa3c42161b", "8e530098c6a0c4c4"  # the smoke manifest's run ids of smoke-re and smoke-tc


@pytest.fixture(scope="module")
def loaded():
    return load_manifest(SMOKE)


@pytest.fixture
def results(tmp_path, loaded):
    assert {c.run_id for c in cells(loaded)} >= {RE, TC}, "smoke_runs/ is stale: rerun the smoke cells"
    out = tmp_path / "results"
    for run_id in (RE, TC):
        shutil.copytree(FIXTURES / run_id, out / run_id)
    return out


def verdicts(loaded, results, dataset) -> tuple[set[str], list[str]]:
    report = verify_selected(loaded, results, f"dataset={dataset}")
    return {r["verdict"] for r in report["cells"]}, report["cells"][0]["notes"]


def edit_json(path: Path, change) -> None:
    value = json.loads(path.read_text())
    path.write_text(json.dumps(change(value)))


def test_the_real_runs_reproduce(loaded, results):
    assert verdicts(loaded, results, "smoke-re")[0] == {"reproduced"}
    assert verdicts(loaded, results, "smoke-tc")[0] == {"reproduced"}


# finding 1: a folder copied or linked under another cell's run id
def test_a_copy_under_another_cells_run_id_is_invalid(loaded, results):
    shutil.rmtree(results / RE)
    shutil.copytree(results / TC, results / RE)
    found, notes = verdicts(loaded, results, "smoke-re")
    assert found == {"invalid"} and any("differs from the folder's name" in n for n in notes), notes
    assert verdicts(loaded, results, "smoke-tc")[0] == {"reproduced"}  # the real one still counts


def test_a_copy_with_its_run_ids_rewritten_is_invalid(loaded, results):
    shutil.rmtree(results / RE)
    shutil.copytree(results / TC, results / RE)
    for name in ("spec.json", "receipt.json"):
        edit_json(results / RE / name, lambda v: {**v, "run_id": RE})
    found, notes = verdicts(loaded, results, "smoke-re")
    assert found == {"invalid"} and any(f"hashes to run id {TC}" in n for n in notes), notes


def test_a_copy_whose_spec_and_receipt_name_the_cell_is_still_not_its_run(loaded, results):
    """The spec of another cell's run with this cell's keys: the recomputed run id gives it away."""
    shutil.rmtree(results / RE)
    shutil.copytree(results / TC, results / RE)
    edit_json(results / RE / "spec.json", lambda v: {**v, "run_id": RE, "dataset": {**v["dataset"], "key": "smoke-re"}})
    edit_json(results / RE / "receipt.json", lambda v: {**v, "run_id": RE, "dataset": "smoke-re"})
    found, notes = verdicts(loaded, results, "smoke-re")
    assert found == {"invalid"} and any("hashes to run id" in n for n in notes), notes


def test_a_linked_run_folder_is_invalid(loaded, results, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(str(results / RE), elsewhere)
    os.symlink(elsewhere, results / RE)
    found, notes = verdicts(loaded, results, "smoke-re")
    assert found == {"invalid"} and any("is a symbolic link" in n for n in notes), notes


def test_a_linked_file_in_a_run_folder_is_invalid(loaded, results, tmp_path):
    moved = tmp_path / "predictions.jsonl"
    shutil.move(str(results / RE / "predictions.jsonl"), moved)
    os.symlink(moved, results / RE / "predictions.jsonl")
    found, notes = verdicts(loaded, results, "smoke-re")
    assert found == {"invalid"} and any("predictions.jsonl is a symbolic link" in n for n in notes), notes


def test_a_copy_claiming_to_be_a_second_seed_is_invalid(loaded, results):
    """Adding a replicate record to a copy made it count as a second seed (sd 0).  Even named by
    its recomputed run id, with a matching receipt, the copy keeps the base run's seed."""
    from bioeval.manifest.resolve import run_id_of

    spec = json.loads((results / RE / "spec.json").read_text())
    spec["replicate"] = {"index": 1, "base_seed": spec["protocol"]["seed"], "base_run_id": RE}
    forged = results / run_id_of({k: v for k, v in spec.items() if k not in ("run_id", "name")})
    shutil.copytree(results / RE, forged)
    (forged / "spec.json").write_text(json.dumps({**spec, "run_id": forged.name}))
    edit_json(forged / "receipt.json", lambda v: {**v, "run_id": forged.name})
    report = verify_selected(loaded, results, "dataset=smoke-re")
    row = report["cells"][0]
    assert row["verdict"] == "invalid" and row["runs"] == 1, row
    assert any("seed-study run 1 has protocol.seed" in n for n in row["notes"]), row["notes"]


def test_run_does_not_take_a_copied_folder_for_a_finished_cell(loaded, results):
    cell = next(c for c in cells(loaded) if c.run_id == RE)
    assert RunDir(results, RE).is_done()
    shutil.rmtree(results / RE)
    shutil.copytree(results / TC, results / RE)
    rd = RunDir(results, RE)
    assert rd.status()["state"] == "done" and not rd.is_done()
    assert "differs from the folder's name" in rd.foreign(cell.spec)


def test_run_refuses_a_copied_folder_instead_of_skipping_it(results, cli):
    shutil.rmtree(results / RE)
    shutil.copytree(results / TC, results / RE)
    r = cli("--workdir", str(results), "run", str(SMOKE), "--only", "dataset=smoke-re")
    assert r.returncode == 3 and "already finished" not in r.stderr, r.stderr
    flat = " ".join(r.stderr.split())
    assert "not this cell's own run" in flat and "Traceback" not in r.stderr, r.stderr


def test_report_shows_no_receipt_of_a_copied_folder(loaded, results):
    from bioeval.report.assemble import collect
    from bioeval.settings import Settings
    from bioeval.verify.verify import verify_manifest

    shutil.rmtree(results / RE)
    shutil.copytree(results / TC, results / RE)
    section = collect(loaded, verify_manifest(loaded, results), Settings(workdir=results), audit=False)
    assert RE not in section.runs and RE not in section.receipts and TC in section.receipts
    assert {r["verdict"] for r in section.verification["cells"] if r["dataset"] == "smoke-re"} == {"invalid"}


# finding 2: a receipt without output hashes
def test_a_receipt_without_output_hashes_makes_the_run_invalid(loaded, results):
    run = results / RE
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    rows[0]["completion"] = "a different answer"
    (run / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    edit_json(run / "receipt.json", lambda v: {k: x for k, x in v.items() if k != "outputs"})
    (run / "scores.json").unlink()
    found, notes = verdicts(loaded, results, "smoke-re")
    assert found == {"invalid"} and any("records no outputs.predictions_sha256" in n for n in notes), notes


# finding 9: whatever is in one run folder, verify goes on and says why that run is invalid
def _folder_for(name):
    def change(run: Path):
        (run / name).unlink()
        (run / name).mkdir()
    return change


def _spec(change):
    return lambda run: edit_json(run / "spec.json", change)


def _deep(run: Path):
    (run / "spec.json").write_text("[" * 100_000 + "]" * 100_000)


def _huge_predictions(run: Path):
    from bioeval.runs.validate import MAX_PREDICTIONS_BYTES

    with open(run / "predictions.jsonl", "r+b") as f:  # sparse: no disk, but over the size cap
        f.truncate(MAX_PREDICTIONS_BYTES + 1)


HOSTILE = {
    "status.json is a folder": (_folder_for("status.json"), "status.json is not a regular file"),
    "receipt.json is a folder": (_folder_for("receipt.json"), "receipt.json is not a regular file"),
    "scores.json is a folder": (_folder_for("scores.json"), "scores.json is not a regular file"),
    "spec.json is a folder": (_folder_for("spec.json"), "spec.json is not a regular file"),
    "protocol is a string": (_spec(lambda v: {**v, "protocol": "x"}), "protocol is not a JSON object"),
    "model is a string": (_spec(lambda v: {**v, "model": "x"}), "model.key is missing or not a string"),
    "a list as a key": (_spec(lambda v: {**v, "dataset": {**v["dataset"], "key": ["smoke-re"]}}),
                        "dataset.key is missing or not a string"),
    "100k-deep spec.json": (_deep, "nested deeper than"),
    "receipt.outputs is a string": (lambda run: edit_json(run / "receipt.json", lambda v: {**v, "outputs": "x"}),
                                    "records no outputs.predictions_sha256"),
    "status.json state is a list": (lambda run: edit_json(run / "status.json", lambda v: {**v, "state": ["done"]}),
                                    "not done (state unknown)"),
    "predictions over the size cap": (_huge_predictions, "over the"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_run_folder_is_invalid_and_the_others_still_verify(loaded, results, case):
    change, reason = HOSTILE[case]
    change(results / RE)
    report = verify_manifest(loaded, results)  # every cell: one broken folder must not stop the others
    rows = {(r["dataset"], r["metric"]): r for r in report["cells"]}
    re_rows = [r for (d, _), r in rows.items() if d == "smoke-re"]
    assert {r["verdict"] for r in re_rows} <= {"invalid", "missing"}, re_rows[0]["notes"]
    assert any(reason in n for n in re_rows[0]["notes"]) or re_rows[0]["verdict"] == "missing", re_rows[0]["notes"]
    assert all(len(n.splitlines()) == 1 for n in re_rows[0]["notes"])
    assert {r["verdict"] for (d, _), r in rows.items() if d == "smoke-tc"} == {"reproduced"}


@pytest.mark.parametrize("field, value", [("libraries", "x"), ("numerics", {"fingerprint": 5})])
def test_a_receipt_of_odd_shape_is_not_compared_and_does_not_stop_verify(loaded, results, field, value):
    edit_json(results / RE / "receipt.json", lambda v: {**v, field: value})
    found, notes = verdicts(loaded, results, "smoke-re")  # the predictions are still pinned and re-derived
    assert found <= {"reproduced", "discrepant"} and any("cannot be compared with the reference" in n for n in notes)


def test_verify_cli_shows_the_reason_and_no_traceback(results, cli):
    (results / RE / "status.json").unlink()
    (results / RE / "status.json").mkdir()
    r = cli("verify", str(SMOKE), "--results", str(results), "--json")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    rows = json.loads(r.stdout)["cells"]
    assert any("status.json is not a regular file" in n for row in rows for n in row["notes"])
    assert {row["verdict"] for row in rows if row["dataset"] == "smoke-tc"} == {"reproduced"}


# finding 4: nothing to verify is no pass
def test_nothing_to_verify_fails_with_a_located_message(tmp_path, cli):
    text = SMOKE.read_text()
    start = text.index("\nexpected:\n")
    end = text.index("\n\n", start + 1)
    manifest = tmp_path / "no-expected.yaml"  # verify reads no data: its data paths need not resolve
    manifest.write_text(text[:start] + "\nexpected: {}\n" + text[end:])
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli("verify", str(manifest), "--results", str(empty))
    flat = " ".join(r.stderr.split())
    assert r.returncode == 1, r.stderr
    assert f"{manifest}: nothing to verify" in flat and "expected:" in flat and "Traceback" not in r.stderr, flat
    printed = " ".join((r.stdout + r.stderr).split())
    assert "global verdict reproduced" not in printed and "none: nothing to verify" in printed  # no pass shown
