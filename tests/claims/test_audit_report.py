"""Claims against the paper's own table in `audit --json`, the Markdown and the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

from bioeval.manifest import load_manifest
from bioeval.report.assemble import Section
from bioeval.report.html import section_data
from bioeval.report.markdown import render_report
from bioeval.verify.verify import verify_manifest

REPO = Path(__file__).resolve().parents[2]
ZHAN = REPO / "manifests" / "deepseek_bionlp.yaml"


def test_audit_json_lists_every_claim_with_its_table_verdict(bioeval_cli, tmp_path):
    code, out, err = bioeval_cli("--workdir", tmp_path, "audit", ZHAN, "--json")
    assert code == 0, err
    report = json.loads(out)
    claims = load_manifest(ZHAN).manifest.claims
    assert [c["id"] for c in report["claims"]] == [c.id for c in claims]
    assert all(c["verdict"] in ("consistent", "contradicted-by-table", "not-checkable") for c in report["claims"])
    phee = next(c for c in report["claims"] if c["id"] == "ee-phee-best")
    deciding = {a["what"]: a["values"] for a in phee["deciding"]}
    assert deciding["mistral-7b-instruct-v0.2 f1 on phee > 0.95"] == {
        "mistral-7b-instruct-v0.2/phee/f1": {"value": 0.9469, "interval": [0.94685, 0.94695]}}
    # each claim is also a finding of kind `claim`, in the audit's most-severe-first order
    found = [f for f in report["findings"] if f["kind"] == "claim"]
    assert len(found) == len(claims)
    severities = [f["severity"] for f in report["findings"]]
    order = ["high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index)
    contradicted = [f for f in found if f["evidence"]["verdict"] == "contradicted-by-table"]
    assert contradicted and all(f["severity"] == "medium" for f in contradicted)
    assert "0.9469" in next(f["message"] for f in contradicted if f["evidence"]["id"] == "ee-phee-best")
    assert report["claims_summary"].startswith(f"{len(claims)} claims against the paper's table: ")


def test_plain_audit_prints_the_claims_line(bioeval_cli, tmp_path):
    code, out, _ = bioeval_cli("--workdir", tmp_path, "audit", ZHAN)
    assert code == 0
    assert "contradicted by the table" in out and "ee-phee-best" in out


def test_markdown_and_html_report_carry_the_claims(tmp_path):
    loaded = load_manifest(ZHAN)
    verification = verify_manifest(loaded, tmp_path / "none")  # no runs: the table verdicts only
    md = render_report(loaded, verification)
    section = md[md.index("### Claims"):]
    assert "Not judged against runs" in section
    row = next(line for line in section.splitlines() if line.startswith("| ee-phee-best |"))
    assert "contradicted-by-table" in row and "0.9469" in row and "| – |" in row
    assert "| abstract-recommendations |" in section and "not-checkable" in section
    data = section_data(Section(loaded, verification, None, "not requested", {}))
    rows = {r["id"]: r for r in data["claims"]["rows"]}
    assert rows["ee-phee-best"]["table"] == "contradicted-by-table" and rows["ee-phee-best"]["runs"] is None
    assert data["claims"]["table"].startswith("48 claims")
    template = (REPO / "bioeval" / "report" / "templates" / "report.html.j2").read_text()
    assert "claimsSection(s, root)" in template
