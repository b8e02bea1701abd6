"""Interim verification for `reproduce`: scores.json metrics against the manifest's expected values.

ONE function (``compare``), torch-free, to be swapped for `bioeval.verify` once the scoring
stage lands it (it adds bootstrap intervals, reports and figures).
"""

from __future__ import annotations

import math

from bioeval.manifest.schema import METRICS, ToleranceRule
from bioeval.runs import RunDir, read_json


def tolerance_for(tolerance, model: str, dataset: str, metric: str) -> ToleranceRule:
    rule = tolerance.default
    for o in tolerance.overrides:  # the last matching override wins
        if (o.model in (None, model)) and (o.dataset in (None, dataset)) and (o.metric in (None, metric)):
            rule = o
    return rule


def allowed(rule: ToleranceRule, expected: float, n: int) -> float:
    if rule.kind == "abs":
        return rule.value
    if rule.kind == "rel":
        return rule.value * expected
    se = math.sqrt(max(expected * (1 - expected), 0.0) / max(n, 1))  # PROTOCOL.md 3
    return max(rule.floor, rule.z * se)


def compare(loaded, cells, settings) -> list[dict]:
    """One row per (cell, metric): expected, observed, tolerance, ok (None = not checkable)."""
    rows = []
    tol = loaded.manifest.tolerance
    for c in cells:
        rd = RunDir(settings.workdir, c.run_id)
        scores = read_json(rd.scores) if rd.scores.exists() else None
        for metric in METRICS:
            exp = c.expected.get(metric)
            obs = scores["metrics"][metric] if scores else None
            row = {"model": c.model.key, "dataset": c.dataset.key, "metric": metric, "run_id": c.run_id,
                   "expected": exp.value if exp else None, "observed": obs, "tolerance": None, "ok": None}
            if exp is not None and obs is not None:
                row["tolerance"] = allowed(tolerance_for(tol, c.model.key, c.dataset.key, metric), exp.value,
                                           scores.get("n", 0))
                row["ok"] = abs(obs - exp.value) <= row["tolerance"] + 1e-12
            elif exp is not None:
                row["ok"] = False  # expected but no result
            rows.append(row)
    return rows
