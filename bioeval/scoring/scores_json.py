"""scores.json: built by one function, from the predictions file's bytes, and checked against it.

The engine writes predictions.jsonl, then ``build_scores`` reads that file back, hashes the
bytes it parses and scores them; `verify`, `report` and `compare` call the same function on a
saved run and ``disagreement`` says why the saved scores.json cannot be trusted (or None).
So a scores.json is only ever a cache of what its predictions say.
"""

from __future__ import annotations

import math
from pathlib import Path

from bioeval.scoring.base import Scorer

# the fields re-derived from predictions.jsonl (the rest: who/what, and training facts)
DERIVED = ("predictions_sha256", "scorer", "metrics", "n", "skipped", "invalid", "ci", "also")


def scoring_options(spec: dict) -> dict:
    """Bootstrap options of a run, from its spec.json (the manifest's protocol.scoring values)."""
    scoring = (spec.get("protocol") or {}).get("scoring") or {}
    return {"resamples": int(scoring.get("bootstrap_resamples", 1000)), "level": float(scoring.get("ci_level", 0.95)),
            "seed": int(scoring.get("bootstrap_seed", 0))}


def build_scores(run_id: str, spec: dict, predictions: str | Path, *, scorer: Scorer | None = None,
                 selected_checkpoint: int | None = None, select_on: str | None = None,
                 inputs: dict | None = None) -> dict:
    """scores.json of a run: the metrics of ``predictions`` (a file, or its PredictionTable when
    already read) scored as the run's spec says.

    ``inputs``: {split: {"file", "sha256"}} of the data files used (hashes of their bytes).
    """
    from bioeval.scoring.files import PredictionTable, read_predictions, score_table
    from bioeval.scoring.registry import scorer_from_spec

    from bioeval.scoring.also import also_from_spec

    table = predictions if isinstance(predictions, PredictionTable) else read_predictions(predictions)
    scorer = scorer or scorer_from_spec(spec)
    s = score_table(scorer, table, **scoring_options(spec))
    model, dataset = (spec.get("model") or {}), (spec.get("dataset") or {})
    scores = {"run_id": run_id, "model": model.get("key"), "dataset": dataset.get("key"), "task": dataset.get("task"),
              "scorer": scorer.name, "metrics": s.metrics(), "n": s.n, "skipped": s.skipped, "invalid": s.invalid,
              "ci": s.ci, "selected_checkpoint": selected_checkpoint, "select_on": select_on,
              "predictions_sha256": table.sha256, "inputs": inputs or {}}
    also = also_from_spec(spec, table, **scoring_options(spec))  # the canonical scorers beside the protocol's
    if also:
        scores["also"] = also
    return scores


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=0, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


def disagreement(recorded: dict, derived: dict) -> str | None:
    """One line saying how a saved scores.json differs from the one its predictions give, or None.

    A scores.json written before hashes were recorded (no predictions_sha256) is checked on
    the other fields only.
    """
    for key in DERIVED:
        if key == "predictions_sha256" and key not in recorded:
            continue
        if key == "ci" and not recorded.get("ci"):
            continue
        if key == "also" and key not in recorded and key not in derived:
            continue
        mine, theirs = derived.get(key), recorded.get(key)
        if key == "predictions_sha256" and mine != theirs:
            return (f"predictions.jsonl changed after scoring (sha256 {str(mine)[:12]}..., scores.json records "
                    f"{str(theirs)[:12]}...)")
        if key == "metrics" and isinstance(theirs, dict):
            for m, v in (mine or {}).items():
                if not _same(theirs.get(m), v):
                    return f"scores.json says {m} {_fmt(theirs.get(m))}, its predictions give {_fmt(v)}"
        if not _same(theirs, mine):
            return f"scores.json {key} {_fmt(theirs)} disagrees with its predictions ({_fmt(mine)})"
    return None


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    text = str(v)
    return text if len(text) <= 60 else text[:57] + "..."
