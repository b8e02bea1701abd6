"""Issue 26, items 1, 3 and 4 in verify and the report: skipped test instances are said, each
reproduced cell is set beside the best trivial baseline on the instances it scored, and a
manifest may expect a margin over it (a note; the verdict stays statistical)."""

from __future__ import annotations

from tests.verify.factory import MANIFEST, cell_of, verify_selected, write_manifest, write_run

from bioeval.manifest import load_manifest

MARGIN = "expected_min_over_baseline: {value: 0.1, source: assumed, note: learning shown}\ndeviations:"


def rows(manifest, results, only):
    return {(r["dataset"], r["metric"]): r for r in verify_selected(manifest, results, only)["cells"]}


def constant_run(tmp_path, manifest, dataset="ee"):
    """tiny x ee: 70 of 100 references are 'A', and the model answers 'A' every time (F1 0.70)."""
    preds = [{"id": str(i), "prediction": "A", "reference": "A" if i < 70 else "B"} for i in range(100)]
    write_run(tmp_path / "runs", cell_of(manifest, "tiny", dataset), {"precision": 0.7, "recall": 0.7},
              predictions=preds, scores=True)


def test_a_constant_answer_is_no_better_than_the_baseline_and_gets_a_note(tmp_path):
    manifest = write_manifest(tmp_path, MANIFEST.replace("deviations:", MARGIN))
    constant_run(tmp_path, manifest)
    r = rows(manifest, tmp_path / "runs", "model=tiny,dataset=ee")
    f1 = r["ee", "f1"]
    assert f1["observed"] == 0.7 and f1["baseline"]["f1"] == 0.7 and f1["baseline"]["n"] == 100
    assert f1["baseline"]["constant"] == "A" and f1["baseline"]["answer_parse_rate"] == 1.0
    assert f1.get("below_baseline_margin") and any("does not clear the best trivial baseline" in n for n in f1["notes"])
    assert not any("trivial baseline" in n for n in r["ee", "precision"]["notes"])  # said once, on F1


def test_a_model_that_learned_clears_the_margin_and_no_margin_no_note(tmp_path):
    manifest = write_manifest(tmp_path, MANIFEST.replace("deviations:", MARGIN))
    preds = [{"id": str(i), "prediction": "A" if i < 70 or i >= 90 else "B", "reference": "A" if i < 70 else "B"}
             for i in range(100)]  # 90 of 100 right: 0.9 over a 0.7 baseline
    write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ee"), {"precision": 0.9, "recall": 0.9},
              predictions=preds, scores=True)
    f1 = rows(manifest, tmp_path / "runs", "model=tiny,dataset=ee")["ee", "f1"]
    assert f1["observed"] == 0.9 and not f1.get("below_baseline_margin")
    (tmp_path / "plain").mkdir()
    plain = write_manifest(tmp_path / "plain", MANIFEST)
    constant_run(tmp_path / "plain", plain)
    f1 = rows(plain, tmp_path / "plain" / "runs", "model=tiny,dataset=ee")["ee", "f1"]
    assert f1["baseline"]["f1"] == 0.7 and not any("trivial baseline" in n for n in f1["notes"])


def test_a_cell_skipping_more_than_5_percent_says_so(tmp_path):
    manifest = write_manifest(tmp_path)
    preds = [{"id": str(i), "prediction": "A", "reference": "A", "prompt_truncated": i < 10} for i in range(100)]
    write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ee"), {"precision": 1.0, "recall": 1.0},
              predictions=preds, scores=True)
    notes = rows(manifest, tmp_path / "runs", "model=tiny,dataset=ee")["ee", "f1"]["notes"]
    assert any(n.startswith("10 of 100 test instances skipped (10%)") and "cut-input" in n for n in notes)
    few = [{"id": str(i), "prediction": "A", "reference": "A", "prompt_truncated": i < 5} for i in range(100)]
    write_run(tmp_path / "runs2", cell_of(manifest, "tiny", "ee"), {"precision": 1.0, "recall": 1.0},
              predictions=few, scores=True)
    notes = rows(manifest, tmp_path / "runs2", "model=tiny,dataset=ee")["ee", "f1"]["notes"]
    assert not any("skipped" in n for n in notes)  # 5 of 100: at the limit, not over it


def test_the_report_sets_each_cell_beside_its_baseline(tmp_path):
    from bioeval.report.figures import render_figures
    from bioeval.report.markdown import render_report

    manifest = write_manifest(tmp_path, MANIFEST.replace("deviations:", MARGIN))
    constant_run(tmp_path, manifest)
    loaded = load_manifest(manifest)
    verification = verify_selected(loaded, tmp_path / "runs", "model=tiny,dataset=ee")
    text = render_report(loaded, verification)
    section = text[text.index("### Against the trivial baselines"):]
    assert "margin of 0.1" in section
    line = next(x for x in section.splitlines() if x.startswith("| EventSet"))
    assert "zero-shot" in line and "0.7000" in line and "+0.000" in line and "below the margin" in line
    paths = render_figures(verification, tmp_path / "fig", "mini", title="Mini")
    assert any(p.name == "mini-baselines-f1.png" and p.stat().st_size > 1000 for p in paths)


def test_answers_in_sentences_have_a_parse_rate_of_zero():
    from bioeval.verify.baseline import parse_rate

    rows = [{"reference": "TREATS", "completion": "The input provided is a relation extract..."},
            {"reference": "INHIBITS", "completion": "TREATS\nmore text"},
            {"reference": "[0, 1, 2]", "completion": "[0, 0, 2]"},
            {"reference": "X", "completion": "nothing", "prompt_truncated": True}]  # skipped: not counted
    assert parse_rate(rows) == 2 / 3
    assert parse_rate([]) is None
