"""`bioeval compare A B`: did anything get worse from results folder A (old) to B (new)?

Cells are matched by their (model, dataset) keys.  Where both runs saved predictions, the
delta B - A is recomputed over the instance ids both scored, with a paired-bootstrap interval.

A cell REGRESSED when its point delta is below -threshold.  We use the point delta, not the
interval's upper end: the upper end below -threshold would need the drop to be certain, and
on 1,000-instance test sets (intervals ~±0.03 wide) real drops of several points would pass
unnoticed.  The interval is printed beside it, and "significant" says whether it excludes 0.
"""

from __future__ import annotations

from pathlib import Path

from bioeval.errors import BioevalError
from bioeval.verify.results import ResultIndex, _read, keys_of

OK, REGRESSED, IMPROVED, MISSING = "OK", "REGRESSED", "IMPROVED", "MISSING"


def _instance_counts(run: Path, spec: dict, scorer_name: str | None):
    from bioeval.scoring import scorer_from_spec
    from bioeval.scoring.files import counts_from_records, read_records

    scorer = scorer_from_spec(spec, scorer_name)
    counts = counts_from_records(scorer, read_records(run / "predictions.jsonl"), f"{run / 'predictions.jsonl'}: ")
    return scorer.name, dict(zip(counts.ids, counts.rows))


def compare_results(a: str | Path, b: str | Path, metric: str = "f1", threshold: float = 0.02,
                    resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    from bioeval.scoring.bootstrap import paired_bootstrap

    index_a, index_b = ResultIndex(a), ResultIndex(b)
    pairs_a, pairs_b = index_a.pairs(), index_b.pairs()
    rows = []
    for key in sorted(set(pairs_a) | set(pairs_b), key=lambda k: (str(k[0]), str(k[1]))):
        model, dataset = key
        row: dict = {"model": model, "dataset": dataset, "metric": metric, "a": None, "b": None, "delta": None,
                     "ci": None, "n_shared": None, "significant": None, "notes": []}
        run_a, run_b = pairs_a.get(key), pairs_b.get(key)
        row["run_a"], row["run_b"] = run_a and run_a.name, run_b and run_b.name
        if run_a is None or run_b is None:
            row["verdict"] = MISSING
            row["notes"].append(f"only in {'B' if run_a is None else 'A'}")
            rows.append(row)
            continue
        seeds = (index_a.seed_runs(run_a), index_b.seed_runs(run_b))
        if seeds != (1, 1):  # a seed study: compare its base runs; `verify` judges all of them
            row["notes"].append(f"seed studies: {seeds[0]} run(s) in A, {seeds[1]} in B; compared the base runs")
        spec_a, spec_b = _read(run_a / "spec.json") or {}, _read(run_b / "spec.json") or {}
        row["task"] = (spec_a.get("dataset") or {}).get("task")
        scores_a, scores_b = _read(run_a / "scores.json") or {}, _read(run_b / "scores.json") or {}
        if (run_a / "predictions.jsonl").is_file() and (run_b / "predictions.jsonl").is_file():
            try:
                name, ca = _instance_counts(run_a, spec_a, scores_a.get("scorer"))
                _, cb = _instance_counts(run_b, spec_b, name)  # the same scorer on both sides
            except BioevalError as exc:
                row["notes"].append(f"predictions could not be scored: {exc}")
            else:
                shared = sorted(set(ca) & set(cb))
                boot = paired_bootstrap([ca[i] for i in shared], [cb[i] for i in shared], resamples, level, seed)
                from bioeval.scoring.base import prf

                idx = {"precision": 0, "recall": 1, "f1": 2}[metric]
                row["a"] = prf(*[sum(ca[i][j] for i in shared) for j in range(3)])[idx] if shared else None
                row["b"] = prf(*[sum(cb[i][j] for i in shared) for j in range(3)])[idx] if shared else None
                row["delta"], row["ci"] = boot[metric]["delta"], boot[metric]["ci"]
                row["n_shared"] = len(shared)
                if row["ci"]:
                    row["significant"] = row["ci"][1] < 0 or row["ci"][0] > 0
                if len(shared) < max(len(ca), len(cb)):
                    row["notes"].append(f"{len(shared)} shared instance ids (A {len(ca)}, B {len(cb)})")
        if row["delta"] is None and metric in scores_a.get("metrics", {}) and metric in scores_b.get("metrics", {}):
            row["a"], row["b"] = scores_a["metrics"][metric], scores_b["metrics"][metric]
            row["delta"] = row["b"] - row["a"]
            row["notes"].append("no paired predictions: delta of scores.json values, no interval")
        if row["delta"] is None:
            row["verdict"] = MISSING
            row["notes"].append("no scores or predictions on one side")
        elif row["delta"] < -threshold:
            row["verdict"] = REGRESSED
        elif row["delta"] > threshold:
            row["verdict"] = IMPROVED
        else:
            row["verdict"] = OK
        rows.append(row)
    summary = {v.lower(): sum(r["verdict"] == v for r in rows) for v in (OK, REGRESSED, IMPROVED, MISSING)}
    return {"a": str(a), "b": str(b), "metric": metric, "threshold": threshold, "level": level,
            "rule": "REGRESSED when the point delta (B - A) is below -threshold", "cells": rows, "summary": summary}


__all__ = ["compare_results", "keys_of"]
