"""`bioeval compare A B`: did anything get worse from results folder A (old) to B (new)?

Cells are matched by their (model, dataset) keys, or across model keys with ``pairs``
(``{"old-model": "new-model"}``, from `compare --pair OLD=NEW`): then the old model's cell in A
is paired with the new model's cell of the same dataset in B (A and B may be one workdir).
Where both runs saved predictions, the delta B - A is recomputed over the instance ids both
scored, with a paired-bootstrap interval.

A cell REGRESSED when its point delta is below -threshold.  We use the point delta, not the
interval's upper end: the upper end below -threshold would need the drop to be certain, and
on 1,000-instance test sets (intervals ~±0.03 wide) real drops of several points would pass
unnoticed.  The interval is printed beside it, and "significant" says whether it excludes 0.
A run whose predictions or scores cannot be read is INVALID (never OK).  Nothing paired at
all raises NothingToCompare (exit 2): a gate that compared nothing must not pass.
"""

from __future__ import annotations

from pathlib import Path

from bioeval.errors import BioevalError, NothingToCompare, UsageError
from bioeval.limits import BOOTSTRAP_SEED, CI_LEVEL, RESAMPLES
from bioeval.runs.read import RunFolder, Scores
from bioeval.verify.results import MATCH_KEYS, ResultIndex, keys_of, load_result
from bioeval.verify.verdicts import Comparison

OK, REGRESSED, IMPROVED, MISSING, INVALID = (Comparison.OK, Comparison.REGRESSED, Comparison.IMPROVED,
                                             Comparison.MISSING, Comparison.INVALID)
VERDICTS = tuple(Comparison)


def _instance_counts(run: RunFolder, spec: dict, scorer_name: str | None):
    from bioeval.scoring import scorer_from_spec
    from bioeval.scoring.files import count_table

    scorer = scorer_from_spec(spec, scorer_name)
    return scorer.name, count_table(scorer, run.predictions()).as_dict()


def parse_pairs(texts) -> dict[str, str]:
    """`OLD=NEW` texts -> {"OLD": "NEW"}."""
    pairs: dict[str, str] = {}
    for text in texts or ():
        old, sep, new = str(text).partition("=")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(f"--pair {text!r}: expected OLD=NEW (two model keys).",
                             "Example: --pair phi-4=mynew pairs each dataset's phi-4 cell in A with mynew's in B.")
        pairs[old.strip()] = new.strip()
    return pairs


def _keys(index: ResultIndex, pairs: dict[str, str], side: str) -> dict[tuple, Path]:
    found = index.pairs()
    if not pairs:
        return found
    wanted = set(pairs) if side == "a" else set(pairs.values())
    return {k: v for k, v in found.items() if k[0] in wanted}


def compare_results(a: str | Path, b: str | Path, metric: str = "f1", threshold: float = 0.02,
                    resamples: int = RESAMPLES, level: float = CI_LEVEL, seed: int = BOOTSTRAP_SEED,
                    pairs: dict[str, str] | None = None, allow_empty: bool = False) -> dict:
    pairs = dict(pairs or {})
    index_a, index_b = ResultIndex(a), ResultIndex(b)
    side_a, side_b = _keys(index_a, pairs, "a"), _keys(index_b, pairs, "b")
    # with pairs, B's (new, dataset) cells are compared under A's (old, dataset) key
    renamed_b = {(old, d): side_b[(new, d)] for old, new in pairs.items() for (m, d) in list(side_b) if m == new}
    b_by_key = renamed_b if pairs else side_b
    rows = []
    for key in sorted(set(side_a) | set(b_by_key), key=lambda k: (str(k[0]), str(k[1]))):
        model, dataset = key
        run_a, run_b = side_a.get(key), b_by_key.get(key)
        row = compare_cell(run_a, run_b, metric, threshold, resamples, level, seed)
        row.update(model=model, dataset=dataset, model_b=pairs.get(model, model) if model is not None else None)
        if run_a is not None and run_b is not None:
            seeds = (index_a.seed_runs(run_a), index_b.seed_runs(run_b))
            if seeds != (1, 1):  # a seed study: compare its base runs; `verify` judges all of them
                row["notes"].append(f"seed studies: {seeds[0]} run(s) in A, {seeds[1]} in B; compared the base runs")
        rows.append(row)
    summary = {v.lower(): sum(r["verdict"] == v for r in rows) for v in VERDICTS}
    summary["paired"] = sum(r["verdict"] in (OK, REGRESSED, IMPROVED, INVALID) for r in rows)
    if not summary["paired"] and not allow_empty:
        where = (f"no dataset has a run of {', '.join(pairs)} in {a} and of {', '.join(pairs.values())} in {b}"
                 if pairs else f"no (model, dataset) cell has a scored run in both {a} and {b}")
        raise NothingToCompare(f"nothing to compare: {where} ({len(side_a)} run(s) in A, {len(side_b)} in B).",
                               "Check both folders (`bioeval status DIR`); when the model keys differ, pair them "
                               "with --pair OLD=NEW.")
    return {"a": str(a), "b": str(b), "metric": metric, "threshold": threshold, "level": level, "pairs": pairs,
            "rule": "REGRESSED when the point delta (B - A) is below -threshold", "cells": rows, "summary": summary}


def compare_cell(run_a: Path | RunFolder | None, run_b: Path | RunFolder | None, metric: str = "f1",
                 threshold: float = 0.02, resamples: int = RESAMPLES, level: float = CI_LEVEL,
                 seed: int = BOOTSTRAP_SEED) -> dict:
    """One cell: A's run against B's run (either may be None), with a verdict.  A RunFolder given
    (verify's) is not read again."""
    row: dict = {"metric": metric, "a": None, "b": None, "delta": None, "ci": None, "n_shared": None,
                 "significant": None, "notes": []}
    folder_a, folder_b = (r if isinstance(r, RunFolder) or r is None else RunFolder(r) for r in (run_a, run_b))
    run_a, run_b = folder_a and folder_a.path, folder_b and folder_b.path
    row["run_a"], row["run_b"] = run_a and run_a.name, run_b and run_b.name
    row["path_a"], row["path_b"] = run_a and str(run_a), run_b and str(run_b)
    if run_a is None or run_b is None:
        row["verdict"] = MISSING
        row["notes"].append("run on neither side" if run_a is None and run_b is None
                            else f"only in {'B' if run_a is None else 'A'}")
        return row
    bad = [(side, r.invalid) for side, r in (("A", load_result(run_a, MATCH_KEYS, folder=folder_a)),
                                             ("B", load_result(run_b, MATCH_KEYS, folder=folder_b)))
           if r.invalid is not None]
    if bad:  # a tampered or unfinished run is compared with nothing
        row["verdict"] = INVALID
        row["notes"] += [f"run {side} invalid: {why}" for side, why in bad]
        return row
    spec_a, spec_b = folder_a.spec_json() or {}, folder_b.spec_json() or {}
    row["task"] = (spec_a.get("dataset") or {}).get("task")
    scores_a, scores_b = _scores(folder_a), _scores(folder_b)
    broken = []
    if folder_a.has_predictions() and folder_b.has_predictions():
        broken += _paired(row, (folder_a, spec_a), (folder_b, spec_b), (scores_a or {}).get("scorer"),
                          resamples, level, seed)
    for side, run, scores in (("A", folder_a, scores_a), ("B", folder_b, scores_b)):
        if scores is False:
            broken.append(f"{side}: {run.scores_file} is unreadable or has no metrics")
    if row["delta"] is None and scores_a and scores_b and metric in scores_a["metrics"] and metric in scores_b["metrics"]:
        row["a"], row["b"] = scores_a["metrics"][metric], scores_b["metrics"][metric]
        row["delta"] = row["b"] - row["a"]
        row["notes"].append("no paired predictions: delta of scores.json values, no interval")
    row["notes"] += broken
    if row["delta"] is None:
        row["verdict"] = INVALID if broken else MISSING
        if not broken:
            row["notes"].append("no scores or predictions on one side")
    elif row["delta"] < -threshold:
        row["verdict"] = REGRESSED
    elif row["delta"] > threshold:
        row["verdict"] = IMPROVED
    else:
        row["verdict"] = OK
    return row


def _paired(row: dict, a: tuple, b: tuple, scorer_name: str | None, resamples: int, level: float,
            seed: int) -> list[str]:
    """Fill ``row`` with the paired bootstrap of B - A over the instances both scored ((folder,
    spec) per side); return what broke it."""
    from bioeval.scoring.base import prf
    from bioeval.scoring.bootstrap import paired_bootstrap

    metric = row["metric"]
    try:
        name, ca = _instance_counts(*a, scorer_name)
        _, cb = _instance_counts(*b, name)  # the same scorer on both sides
    except BioevalError as exc:
        return [f"predictions could not be scored: {exc}"]
    shared = sorted(set(ca) & set(cb))
    boot = paired_bootstrap([ca[i] for i in shared], [cb[i] for i in shared], resamples, level, seed)
    idx = {"precision": 0, "recall": 1, "f1": 2}[metric]
    row["a"] = prf(*[sum(ca[i][j] for i in shared) for j in range(3)])[idx] if shared else None
    row["b"] = prf(*[sum(cb[i][j] for i in shared) for j in range(3)])[idx] if shared else None
    row["delta"], row["ci"] = boot[metric]["delta"], boot[metric]["ci"]
    row["n_shared"] = len(shared)
    if row["ci"]:
        row["significant"] = row["ci"][1] < 0 or row["ci"][0] > 0
    if len(shared) < max(len(ca), len(cb)):
        row["notes"].append(f"{len(shared)} shared instance ids (A {len(ca)}, B {len(cb)})")
    if not shared:
        row["delta"] = None
        return ["the two runs share no instance id"]
    return []


def _scores(folder: RunFolder):
    """scores.json; None when absent, False when unreadable or without metrics."""
    raw = folder.scores_json()
    if raw is None:
        return None
    scores = Scores.of(raw)
    return False if scores is None else scores.raw


__all__ = ["compare_results", "compare_cell", "parse_pairs", "keys_of"]
