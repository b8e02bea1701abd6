"""Predictions on disk -> Score with bootstrap intervals (what `bioeval score` and re-scoring use).

Speed matters here (re-scoring a million saved predictions, bench/bench_scoring.py): the file
is parsed with one json.loads call, and a Prediction is only built for answers not seen before
(scorers are pure functions of prediction, reference and prompt_truncated).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from bioeval.errors import UsageError
from bioeval.scoring.base import MEMO_LIMIT, Counts, InstanceCounts, Prediction, Score, Scorer
from bioeval.scoring.bootstrap import bootstrap_ci

HINT = ('Each line needs "id", "prediction" (or "completion") and "reference" '
        '(optional "prompt_truncated": true|false).')


def read_records(path: str | Path) -> list[dict]:
    """The JSON objects of a JSON-lines file; UsageError naming the first bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read predictions {path}: {getattr(exc, 'strerror', None) or exc}.", HINT) from None
    if not text:
        return []
    try:  # one json.loads over the whole file is ~4x faster than one per line
        rows = json.loads("[" + text.replace("\n", ",") + "]")
        if len(rows) == text.count("\n") + 1 and all(type(r) is dict for r in rows):
            return rows
    except ValueError:
        pass
    rows = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{path}:{lineno}: not valid JSON ({exc}).", HINT) from None
        if not isinstance(row, dict):
            raise UsageError(f"{path}:{lineno}: not a JSON object.", HINT)
        rows.append(row)
    return rows


def to_prediction(row: dict, where: str = "") -> Prediction:
    try:
        prediction = row["prediction"] if "prediction" in row else row["completion"]
        return Prediction(str(row["id"]), prediction, row["reference"], bool(row.get("prompt_truncated") or False))
    except KeyError as exc:
        raise UsageError(f"{where}record {row.get('id', '?')!r}: missing field {exc}.", HINT) from None


def iter_predictions(path: str | Path) -> Iterator[Prediction]:
    for row in read_records(path):
        yield to_prediction(row, f"{path}: ")


def counts_from_records(scorer: Scorer, records: Iterable[dict], where: str = "") -> InstanceCounts:
    """instance_counts() over raw records, building a Prediction only for unseen answers."""
    ids: list[str] = []
    rows: list[Counts] = []
    skipped = 0
    memo: dict = {}
    counts = scorer.counts
    for row in records:
        try:
            key = (row["prediction"] if "prediction" in row else row["completion"], row["reference"],
                   bool(row.get("prompt_truncated")))
        except KeyError:
            to_prediction(row, where)  # raises the UsageError naming the field
            raise
        k = memo.get(key, memo)
        if k is memo:
            k = counts(to_prediction(row, where))
            if len(memo) < MEMO_LIMIT:
                memo[key] = k
        if k is None:
            skipped += 1
            continue
        ids.append(row["id"])
        rows.append(k)
    return InstanceCounts([str(i) for i in ids], rows, skipped)


def with_ci(counts: InstanceCounts, resamples: int = 1000, level: float = 0.95, seed: int = 0) -> Score:
    result = counts.total()
    result.ci = bootstrap_ci(counts.rows, resamples=resamples, level=level, seed=seed)
    return result


def score_file(scorer: Scorer, path: str | Path, resamples: int = 1000, level: float = 0.95, seed: int = 0) -> Score:
    return with_ci(counts_from_records(scorer, read_records(path), f"{path}: "), resamples, level, seed)


def score_with_ci(scorer: Scorer, predictions: Iterable[Prediction], resamples: int = 1000, level: float = 0.95,
                  seed: int = 0) -> Score:
    from bioeval.scoring.base import instance_counts

    return with_ci(instance_counts(scorer, predictions), resamples, level, seed)
