"""The claims of both seed papers: quoted exactly, judged against the papers' own tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioeval.audit.claims import CONSISTENT, CONTRADICTED, NOT_CHECKABLE, judge_table
from bioeval.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]
PAPERS = REPO.parent / "shared" / "papers"
MANIFESTS = {"deepseek_bionlp.yaml": "zhan2025-deepseek-bionlp.txt",
             "guo_sarker_classification.yaml": "guo-sarker2025-llama3-vs-r1.txt"}


def _flat(text: str) -> str:
    return " ".join(text.split())  # the text file wraps some paragraphs; the quote is one line


@pytest.mark.parametrize("manifest, paper", sorted(MANIFESTS.items()))
def test_every_quote_is_in_the_paper_exactly(manifest, paper):
    if not (PAPERS / paper).is_file():
        pytest.skip(f"{PAPERS / paper} is not on this machine")
    text = _flat((PAPERS / paper).read_text())
    claims = load_manifest(REPO / "manifests" / manifest).manifest.claims
    assert claims
    missing = [c.id for c in claims if _flat(c.quote) not in text]
    assert not missing, f"quotes not found verbatim in {paper}: {missing}"
    assert len({c.quote for c in claims}) == len(claims)


def _verdicts(manifest: str) -> dict[str, dict]:
    return {r["id"]: r for r in judge_table(load_manifest(REPO / "manifests" / manifest).manifest)}


def test_zhan_claims_against_its_tables():
    v = _verdicts("deepseek_bionlp.yaml")
    # the example: Table 2 prints Mistral's PHEE F1 as 0.9469, "all exceeding 0.95" is not so
    phee = v["ee-phee-best"]
    assert phee["verdict"] == CONTRADICTED
    assert any(a["what"] == "mistral-7b-instruct-v0.2 f1 on phee > 0.95" and a["holds"] is False
               for a in phee["deciding"])
    assert v["ee-phee-also"]["verdict"] == CONSISTENT and not v["ee-phee-also"]["within_rounding"]
    assert v["re-strongest"]["verdict"] == CONTRADICTED  # Mistral's DDI F1 0.722 is not above 0.76
    assert v["discussion-tc-most-stable"]["verdict"] == CONTRADICTED  # ADE's 0.673 widens TC's range
    assert v["ner-r1-70b"]["verdict"] == CONSISTENT
    # Llama3-8B's PHEE recall 0.9375 ties two others at the printed digits: top 6 only within the tie
    assert v["ee-llama3-recall"]["verdict"] == CONSISTENT and v["ee-llama3-recall"]["within_rounding"]
    assert v["abstract-recommendations"]["verdict"] == NOT_CHECKABLE
    assert all(r["verdict"] in (CONSISTENT, CONTRADICTED, NOT_CHECKABLE) for r in v.values())


def test_guo_sarker_claims_against_its_table():
    v = _verdicts("guo_sarker_classification.yaml")
    assert v["abstract-precision-most-tasks"]["verdict"] == CONSISTENT  # 4 of 6 higher precision
    assert not v["abstract-precision-most-tasks"]["within_rounding"]  # 0.30 vs 0.27: two decimals
    # "both models ... worst in identifying medication regimen changes": DS's worst F1 is 0.39
    # (medication change discussion), below its 0.40 on medication regimen
    worst = v["discussion-best-worst"]
    assert worst["verdict"] == CONTRADICTED
    assert any("r1-distill-llama3-70b" in a["what"] for a in worst["deciding"])
    assert v["results-stigma"]["verdict"] == CONSISTENT


def test_smoke_and_smollm2_claims_against_their_reference_values():
    smollm2 = _verdicts("smollm2_bionlp.yaml")
    assert smollm2 and all(r["verdict"] in (CONSISTENT, NOT_CHECKABLE) for r in smollm2.values())
    smoke = {k: r["verdict"] for k, r in _verdicts("smoke.yaml").items()}
    # the reference table is one run: NER's 0.7083 fails "exceeds 0.90"; 0.9896 against 0.99 too
    # (the table's digits decide it; only the runs' intervals leave it open)
    assert smoke == {"re-above-90": CONSISTENT, "ner-above-90": CONTRADICTED, "tc-above-99": CONTRADICTED,
                     "ner-worst": CONSISTENT, "ner-best-model": CONSISTENT, "smoke-vague": NOT_CHECKABLE}
