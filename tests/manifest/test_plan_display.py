"""`bioeval plan` shows values in full: no rounding, no cut prompts, alternatives, tolerances, deviations, notes."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "manifests" / "deepseek_bionlp.yaml"


def test_plan_shows_values_alternatives_tolerances_deviations_and_notes(bioeval_cli):
    code, out, err = bioeval_cli("plan", PAPER, "--only", "model=phi-4,dataset=ddi")
    assert code == 0, err
    flat = " ".join(out.split())  # the table folds long cells over lines
    lr = next(line for line in out.splitlines() if "training.learning_rate" in line)
    assert "2e-05" in lr and "0.0000" not in lr
    assert "alternative:" in flat
    data = json.loads(bioeval_cli("plan", PAPER, "--json")[1])
    from bioeval.cli.render import ledger_note, plain

    row = next(r for r in data["protocol"] if r["field"] == "protocol.training.learning_rate")
    assert "alternative: 1e-05 (paper: 'a learning rate of 1e-5')" in ledger_note(row)
    prompt = next(r for r in data["protocol"] if r["field"] == "protocol.prompt.inference_template")["value"]
    assert len(plain(prompt)) > 150 and plain(prompt).endswith('### Response: \\n"')  # whole, never cut at 80
    assert "### Response:" in flat  # the end of the prompt is printed
    for heading in ("Tolerances", "Datasets", "Deviations from the paper"):
        assert heading in out
    assert data["tolerance"][0]["applies_to"] == "default" and data["deviations"] and data["datasets"][0]["notes"] is not None
    assert any(d["what"].split()[0] in flat for d in data["deviations"])


def test_plan_ledger_values_are_not_rounded():
    from bioeval.cli.render import plain

    assert plain(2e-5) == "2e-05" and plain(0.03) == "0.03" and plain(1e-2) == "0.01"
    assert plain("a\nb") == '"a\\nb"' and plain(["q_proj", "v_proj"]) == '["q_proj", "v_proj"]'
    long = "x" * 500
    assert plain(long) == f'"{long}"'
