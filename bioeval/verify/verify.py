"""Expected (published) vs observed (reproduced) per cell and metric: PASS, FAIL or MISSING.

The JSON this returns is the `bioeval verify --json` contract:
    {"manifest", "results", "cells": [{"run_id", "model", "dataset", "task", "metric", "expected",
      "observed", "tolerance", "delta", "verdict", "n", ...}], "summary": {"pass", "fail", "missing"}}
Extra keys per row: "rule" (the tolerance rule in words), "published_ci" and "in_published_ci"
(when the paper printed an interval), "observed_ci", "matched_by", "notes", "paper_model",
"paper_dataset", "env_diff" (a row outside tolerance whose manifest names reference receipts:
one line per environment difference, verify/envdiff.py).  Top-level "unexpected" lists cells that have results but no published values
(reported, never a verdict).
"""

from __future__ import annotations

from pathlib import Path

from bioeval.errors import BioevalError
from bioeval.manifest import cells as manifest_cells
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.resolve import Cell
from bioeval.manifest.schema import METRICS
from bioeval.verify.envdiff import attach as attach_env_diffs
from bioeval.verify.results import ResultIndex
from bioeval.verify.tolerance import allowed, describe, rule_for, within

PASS, FAIL, MISSING = "PASS", "FAIL", "MISSING"


def test_size(cell: Cell, scores: dict | None) -> int | None:
    """The scored test size: scores.json's n, else the manifest's test records capped by test_subsample."""
    if scores and scores.get("n"):
        return int(scores["n"])
    records = cell.dataset.splits["test"].records
    cap = cell.protocol.evaluation.test_subsample.value
    if records is None:
        return cap
    return min(records, cap) if cap else records


def verify_manifest(loaded: LoadedManifest, results: str | Path, only: str | None = None) -> dict:
    from bioeval.scoring import scorer_for

    index = ResultIndex(results)
    rows = []
    unexpected = []  # cells with results but no published values (e.g. a smoke manifest)
    for cell in manifest_cells(loaded, only):
        scorer = None
        try:
            scorer = scorer_for(cell.protocol, cell.dataset)
        except BioevalError:  # only matters when re-scoring; load_result then notes the failure
            pass
        result = index.find(cell.run_id, cell.model.key, cell.dataset.key, scorer)
        scores = result.scores if result else None
        n = test_size(cell, scores)
        if not cell.expected:
            if scores:
                unexpected.append({"run_id": result.run_id, "model": cell.model.key, "dataset": cell.dataset.key,
                                   "task": cell.dataset.task, "paper_model": cell.model.paper_name,
                                   "paper_dataset": cell.dataset.paper_name, "metrics": scores.get("metrics", {}),
                                   "ci": scores.get("ci", {}), "n": n, "notes": list(result.notes)})
            continue
        for metric in METRICS:
            if metric not in cell.expected:
                continue
            rows.append(_row(loaded, cell, metric, result, scores, n))
    attach_env_diffs(loaded, rows, results)  # rows outside tolerance: what differs from the reference run
    summary = {v.lower(): sum(r["verdict"] == v for r in rows) for v in (PASS, FAIL, MISSING)}
    return {"manifest": str(loaded.path), "results": str(results), "cells": rows, "summary": summary,
            "unexpected": unexpected}


def _row(loaded: LoadedManifest, cell: Cell, metric: str, result, scores, n) -> dict:
    mv = cell.expected[metric]
    rule = rule_for(loaded.manifest.tolerance, cell.model.key, cell.dataset.key, metric)
    width = allowed(rule, mv.value, n)
    observed = (scores or {}).get("metrics", {}).get(metric)
    row = {
        "run_id": result.run_id if result else cell.run_id,
        "model": cell.model.key, "dataset": cell.dataset.key, "task": cell.dataset.task, "metric": metric,
        "expected": mv.value, "observed": observed, "tolerance": width, "rule": describe(rule),
        "delta": None if observed is None else observed - mv.value, "n": n,
        "paper_model": cell.model.paper_name, "paper_dataset": cell.dataset.paper_name,
        "matched_by": result.matched_by if result else None,
        "notes": list(result.notes) if result else [],
    }
    if mv.ci:
        row["published_ci"] = list(mv.ci)
        row["in_published_ci"] = None if observed is None else mv.ci[0] - 1e-9 <= observed <= mv.ci[1] + 1e-9
    ci = (scores or {}).get("ci", {}).get(metric) if scores else None
    if ci:
        row["observed_ci"] = ci
    if observed is None:
        row["verdict"] = MISSING
        if result is None:
            row["notes"].append("no run of this cell in the results folder")
        else:
            row["notes"].append(f"run {result.run_id} has no scores (state {result.state})")
    else:
        row["verdict"] = PASS if within(observed, mv.value, width) else FAIL
    return row
