"""The report shows each cell under the protocol's scorer and its canonical scorer side by side."""

import json

from bioeval.report.both_ways import both_ways_section


def write_run(root, run_id, mode, metrics, also):
    d = root / run_id
    d.mkdir(parents=True)
    (d / "scores.json").write_text(json.dumps({"scorer": "zhan2024-set-f1", "metrics": metrics, "also": also}))
    (d / "spec.json").write_text(json.dumps({"protocol": {"mode": mode}}))


def test_both_scorers_and_both_modes_appear_side_by_side(tmp_path):
    m = {"precision": 0.9, "recall": 0.8, "f1": 0.847}
    write_run(tmp_path, "r1", "finetune", m, {"ner-entity-f1": {"metrics": {"precision": 0.5, "recall": 0.25, "f1": 0.3333},
                                                               "ci": {"f1": [0.1, 0.6]}, "n": 8, "skipped": 1, "invalid": 2}})
    write_run(tmp_path, "r2", "zero-shot", m, {"ner-entity-f1": {"metrics": {"precision": 0, "recall": 0, "f1": 0},
                                                                "n": 8, "skipped": 0, "invalid": 8}})
    verification = {"results": str(tmp_path), "cells": [
        {"run_id": "r1", "model": "ft", "dataset": "bc5cdr", "paper_model": "FT", "paper_dataset": "BC5CDR", "observed": 0.8},
        {"run_id": "r2", "model": "zs", "dataset": "bc5cdr", "paper_model": "ZS", "paper_dataset": "BC5CDR", "observed": 0.8}]}
    text = "\n".join(both_ways_section(verification))
    assert "### Scored both ways" in text
    ft = next(line for line in text.splitlines() if line.startswith("| FT"))
    assert "finetune" in ft and "0.9000 / 0.8000 / 0.8470" in ft and "ner-entity-f1" in ft
    assert "0.5000 / 0.2500 / 0.3333 (0.10–0.60)" in ft and "8 (1 skipped, 2 invalid)" in ft
    assert any(line.startswith("| ZS") and "zero-shot" in line for line in text.splitlines())


def test_no_section_without_a_second_scorer(tmp_path):
    d = tmp_path / "r1"
    d.mkdir()
    (d / "scores.json").write_text(json.dumps({"metrics": {"f1": 1.0}}))
    assert both_ways_section({"results": str(tmp_path), "cells": [{"run_id": "r1", "model": "m", "dataset": "d"}]}) == []
