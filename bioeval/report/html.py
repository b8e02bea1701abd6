"""The self-contained HTML report: one file with its data, styles, script and figures inline.

It opens from disk with no network access (a Content-Security-Policy forbids any fetch), so
it can be mailed, archived next to RESULTS.md or attached to a review.  The page is a jinja2
template (templates/report.html.j2); the data is one JSON object embedded in the page, and
the script builds the tables with textContent only (data never becomes markup).
"""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path

from bioeval.report.markdown import cell_verdict, flatten
from bioeval.report.redact import redact_text
from bioeval.verify.verdicts import Verdict

INSTANCE_LIMIT = 400  # per run: enough to read the errors; the run folder keeps all of them


def _instances(run) -> dict:
    """The instance view of one run (a RunFolder: verify's, whose predictions are read already)."""
    from bioeval.errors import BioevalError
    from bioeval.runs.read import RunFolder
    from bioeval.verify.instances import instances

    folder = run if isinstance(run, RunFolder) else RunFolder(run)
    try:
        rows = instances(folder.path, folder=folder)
    except BioevalError as exc:
        return {"rows": [], "total": 0, "note": str(exc)}
    errors_first = sorted(rows, key=lambda r: not r["error"])
    return {"rows": errors_first[:INSTANCE_LIMIT], "total": len(rows), "errors": sum(r["error"] for r in rows),
            "note": f"first {INSTANCE_LIMIT} of {len(rows)} shown (errors first)" if len(rows) > INSTANCE_LIMIT else ""}


NO_PUBLISHED_VALUE = "no published value"  # a cell verify reports but does not judge (its "unexpected")


def global_verdict(verification: dict) -> dict:
    """verify's global verdict (verify_manifest always sets summary["global_verdict"])."""
    return {"verdict": str(verification["summary"]["global_verdict"])}


def _env_diff(receipts: dict[str, dict], loaded=None) -> dict:
    """Each run's environment, flattened and redacted, and how it differs from its reference: the
    manifest's reference receipt of the cell (bioeval.verify.envdiff, where the manifest names one),
    else the first run's environment."""
    flat = {run_id: flatten(r) for run_id, r in sorted(receipts.items())}
    try:
        from bioeval.verify import envdiff
    except ImportError:
        envdiff = None
    reference_id = next(iter(flat), None)
    volatile = ("timings_s.", "run_id", "model", "dataset", "data.", "model_pin.", "seeds.", "manifest.", "outputs.")
    diffs, against = {}, {}
    for run_id, env in flat.items():
        lines = _reference_diff(envdiff, loaded, receipts[run_id])
        if lines is not None:
            diffs[run_id] = [{"key": line, "run": "", "reference": ""} for line in lines]
            against[run_id] = "the manifest's reference receipt"
            continue
        ref = flat[reference_id]
        diffs[run_id] = [{"key": k, "run": env.get(k), "reference": ref.get(k)} for k in sorted(set(env) | set(ref))
                         if env.get(k) != ref.get(k) and not k.startswith(volatile)]
        against[run_id] = f"run {reference_id}"
    return {"reference": reference_id, "environments": flat, "diffs": diffs, "against": against,
            "source": "bioeval.verify.envdiff" if envdiff else "first run"}


def _reference_diff(envdiff, loaded, receipt: dict) -> list[str] | None:
    """envdiff's lines against the cell's reference receipt, or None when there is none."""
    if envdiff is None or loaded is None or not hasattr(envdiff, "reference_path"):
        return None
    path = envdiff.reference_path(loaded, receipt.get("model"), receipt.get("dataset"))
    if path is None or not Path(path).is_file():
        return None
    try:
        from bioeval.jsonfile import load_json

        reference = load_json(path)
    except (OSError, ValueError):
        return None
    return [redact_text(line) for line in envdiff.diff_receipts(reference, receipt)]


def _figures(section, metric: str, paths: list[Path] | None = None) -> list[dict]:
    """The section's figures inline: ``paths`` when the Markdown report rendered them, else rendered here."""
    from bioeval.report.assemble import section_figures

    with tempfile.TemporaryDirectory() as tmp:
        paths = section_figures(section, Path(tmp), metric) if paths is None else paths
        return [{"name": p.stem, "png": base64.b64encode(p.read_bytes()).decode("ascii")} for p in paths]


def section_data(section, metric: str = "f1", figures: list[Path] | None = None) -> dict:
    from bioeval.manifest.summary import dataset_rows, ledger, tolerance_rows

    loaded, v = section.manifest, section.verification
    m = loaded.manifest
    cells: dict[tuple, dict] = {}
    for row in v["cells"]:
        c = cells.setdefault((row["model"], row["dataset"]), {
            "model": row["model"], "dataset": row["dataset"], "task": row["task"], "paper_model": row["paper_model"],
            "paper_dataset": row["paper_dataset"], "run_id": row["run_id"] if row["run_id"] in section.runs else None,
            "n": row["n"], "added": bool(row.get("added")), "metrics": {}, "notes": []})
        c["metrics"][row["metric"]] = {k: row.get(k) for k in ("expected", "observed", "delta", "tolerance", "rule",
                                                               "verdict", "published_ci", "observed_ci", "interval", "mde")}
        c["metrics"][row["metric"]]["verdict"] = str(row["verdict"])
        c["notes"] = sorted(set(c["notes"]) | set(row.get("notes") or []))
    for c in cells.values():
        c["verdict"] = cell_verdict({mv["verdict"] for mv in c["metrics"].values()})
    for row in v.get("unexpected") or []:
        cells[(row["model"], row["dataset"])] = {
            "model": row["model"], "dataset": row["dataset"], "task": row["task"], "paper_model": row["paper_model"],
            "paper_dataset": row["paper_dataset"], "run_id": row["run_id"], "n": row["n"], "added": False,
            "verdict": NO_PUBLISHED_VALUE, "notes": row.get("notes") or [],
            "metrics": {mt: {"expected": None, "observed": row["metrics"].get(mt), "delta": None, "tolerance": None,
                             "rule": None, "verdict": NO_PUBLISHED_VALUE, "published_ci": None,
                             "observed_ci": (row.get("ci") or {}).get(mt)} for mt in ("precision", "recall", "f1")}}
    instances = {run_id: _instances(path) for run_id, path in section.runs.items()}
    return {
        "manifest": str(loaded.path), "sha256": loaded.sha256, "paper": m.paper.model_dump(),
        "summary": v["summary"], "global": global_verdict(v), "results": v["results"],
        "cells": list(cells.values()), "instances": instances,
        "regression": section.regression,
        "ledger": [{**r, "value": r["value"] if isinstance(r["value"], (str, int, float, bool, type(None)))
                    else json.dumps(r["value"], ensure_ascii=False)} for r in ledger(loaded)],
        "tolerance": tolerance_rows(loaded), "deviations": [d.model_dump() for d in m.deviations],
        "datasets": dataset_rows(loaded), "audit": section.audit, "audit_note": section.audit_note,
        "claims": _claims(loaded, v),
        "environment": _env_diff(section.receipts, loaded),
        "figures": _figures(section, metric, figures),
    }


def _claims(loaded, verification) -> dict:
    from bioeval.report.claims import claim_rows
    from bioeval.audit.claims import judge_table, summary_line

    if not loaded.manifest.claims:
        return {"rows": [], "table": None, "runs": None}
    return {"rows": claim_rows(loaded.manifest, verification), "table": summary_line(judge_table(loaded.manifest)),
            "runs": (verification.get("summary") or {}).get("claims")}


def render_html(sections, results, metric: str = "f1", figures: list[list[Path]] | None = None) -> str:
    """The page; ``figures``: each section's rendered PNGs (None: render them here)."""
    import datetime

    import jinja2

    from bioeval import __version__

    data = {"generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "version": __version__, "results": str(results), "metric": metric,
            "sections": [section_data(s, metric, figures[i] if figures else None) for i, s in enumerate(sections)]}
    env = jinja2.Environment(loader=jinja2.PackageLoader("bioeval.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    payload = json.dumps(data, ensure_ascii=False, default=str)
    # inside <script>: "</" would end the element and "<!--" open a comment; JSON allows "\/"
    payload = payload.replace("</", "<\\/").replace("<!--", "\\u003c!--")
    return env.get_template("report.html.j2").render(data=data, payload=payload)
