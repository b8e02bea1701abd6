"""The claims section of the Markdown report (and the rows the HTML report shows)."""

from __future__ import annotations

from bioeval.audit.claims import describe, judge_table, summary_line


def claim_rows(manifest, verification: dict | None) -> list[dict]:
    """One row per claim: its table verdict (always: the table needs no data) and, where verify
    judged it on runs, its run verdict with the deciding values."""
    by_id = {c["id"]: c for c in (verification or {}).get("claims") or []}
    rows = []
    for t in judge_table(manifest):
        r = by_id.get(t["id"], {})
        table = t["verdict"] + (" (within rounding or a tie)" if t.get("within_rounding") else "")
        if t["verdict"] == "not-checkable":
            why = t["reason"]
        elif t["verdict"] != "consistent" or t.get("within_rounding"):
            why = "; ".join(describe(a) for a in t["deciding"][:3])
        else:
            why = ""  # consistent: every relation holds (audit --json lists them)
        rows.append({"id": t["id"], "where": t["where"], "quote": t["quote"], "table": table, "table_deciding": why,
                     "runs": r.get("verdict"), "runs_deciding": "; ".join(describe(a) for a in r.get("deciding", [])[:3]),
                     "changed_by": r.get("changed_by") or [], "before": r.get("without_added")})
    return rows


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_section(loaded, verification: dict | None) -> list[str]:
    m = loaded.manifest
    if not m.claims:
        return []
    rows = claim_rows(m, verification)
    lines = ["### Claims", "", summary_line(judge_table(m)) + "."]
    runs = (verification or {}).get("summary", {}).get("claims")
    lines += [f"Against the runs here: {runs}." if runs else "Not judged against runs (no verification of claims).", ""]
    changed = [r for r in rows if r["changed_by"]]
    if changed:
        lines += ["Claims the added model(s) change: " + "; ".join(
            f"{r['id']} ({r['before']} without them, {', '.join(r['changed_by'])})" for r in changed) + ".", ""]
    elif any("without_added" in c for c in (verification or {}).get("claims") or []):
        lines += ["The added model(s) change no claim's verdict.", ""]
    lines += ["| Claim | Where | Sentence | Against the table | Against the runs | Deciding values |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        deciding = r["runs_deciding"] if r["runs"] not in (None, "not-checkable") else r["table_deciding"]
        lines.append(f"| {_cell(r['id'])} | {_cell(r['where'])} | {_cell(r['quote'])} | {_cell(r['table'])} | "
                     f"{_cell(r['runs'] or '–')} | {_cell(deciding)} |")
    return lines + [""]
