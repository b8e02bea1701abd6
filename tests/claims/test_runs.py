"""Claims judged on reproduced runs: the smoke manifest's real runs (slow), and the regression
workflow (`--add-model`): a claim about a model's role re-judged with the new model in the field."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.engine.conftest import REPO, SMOKE, bioeval_cmd


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """The smoke manifest run once (4 cells), and a second tiny model (seed 7) on SmokeNER."""
    tmp = tmp_path_factory.mktemp("claims-smoke")
    second = tmp / "tiny-llama-7"
    made = subprocess.run([sys.executable, str(REPO / "assets" / "make_tiny_model.py"), "--seed", "7", "--out",
                           str(second)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    work = tmp / "runs"
    res = bioeval_cmd("run", str(SMOKE), "--no-progress", workdir=work, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    add = ["--add-model", f"tiny7={second}", "--like", "tiny-llama"]
    res = bioeval_cmd("run", str(SMOKE), *add, "--only", "dataset=smoke-ner", "--no-progress", workdir=work, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return work, add, tmp


@pytest.mark.slow
def test_smoke_claims_reach_each_verdict_on_reproduced_runs(smoke_runs):
    work, _, _ = smoke_runs
    res = bioeval_cmd("verify", str(SMOKE), "--json", workdir=work)
    assert res.returncode == 0, res.stderr[-3000:]  # the global verdict on values is unchanged by claims
    data = json.loads(res.stdout)
    assert data["summary"]["global_verdict"] == "reproduced"
    verdicts = {c["id"]: c["verdict"] for c in data["claims"]}
    assert verdicts == {"re-above-90": "supported", "ner-above-90": "contradicted", "tc-above-99": "inconclusive",
                        "ner-worst": "supported", "ner-best-model": "supported", "smoke-vague": "not-checkable"}
    tc = next(c for c in data["claims"] if c["id"] == "tc-above-99")
    (atom,) = tc["deciding"]
    lo, hi = atom["values"]["tiny-llama/smoke-tc/f1"]["interval"]
    assert lo < 0.99 < hi  # inconclusive because the interval holds 0.99, not because the point is below it
    assert data["summary"]["claims"] == "6 claims: 3 supported, 1 contradicted, 1 inconclusive, 1 not checkable"
    plain = bioeval_cmd("verify", str(SMOKE), workdir=work)
    assert "claims (not part of the global verdict): 6 claims: 3 supported" in plain.stdout


@pytest.mark.slow
def test_added_model_rejudges_a_claim_about_a_role(smoke_runs):
    work, add, tmp = smoke_runs
    res = bioeval_cmd("verify", str(SMOKE), *add, "--json", workdir=work)
    data = json.loads(res.stdout)
    best = next(c for c in data["claims"] if c["id"] == "ner-best-model")
    assert best["without_added"] == "supported"  # alone in the field, the tiny model is the best
    atoms = best["deciding"]
    assert any("of 2 on f1 (smoke-ner)" in a["what"] for a in atoms)  # the new model is in the field now
    assert ("tiny-llama - tiny7" in str(atoms)) or ("tiny7 - tiny-llama" in str(atoms))
    assert best["changed_by"] == ([] if best["verdict"] == "supported" else ["tiny7"])
    threshold = next(c for c in data["claims"] if c["id"] == "re-above-90")
    assert threshold["changed_by"] == []  # names only the paper's model: the new one cannot change it
    out = tmp / "report.md"
    res = bioeval_cmd("report", str(SMOKE), *add, "--out", str(out), workdir=work)
    assert res.returncode == 0, res.stderr[-3000:]
    md = out.read_text()
    section = md[md.index("### Claims"):]
    assert "Against the runs here: 6 claims:" in section
    if best["changed_by"]:
        assert "Claims the added model(s) change: ner-best-model (supported without them, tiny7)" in section
    else:
        assert "The added model(s) change no claim's verdict." in section
