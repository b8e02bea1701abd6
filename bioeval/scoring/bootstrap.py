"""Seeded percentile bootstrap intervals for micro P/R/F1, and a paired bootstrap for deltas.

Every scorer reduces an instance to counts (correct, predicted, gold), and the metrics are
functions of the summed counts, so a bootstrap resample only needs the sums.  Resampling n
instances with replacement is the same as drawing, for each *distinct* count row, how often
it is picked: a multinomial over the distinct rows with their frequencies.  Instances take
few distinct rows (a classifier has at most 4), so 1,000 resamples of a million predictions
cost milliseconds, with the same distribution as resampling instance by instance.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from bioeval.limits import BOOTSTRAP_SEED, CI_LEVEL, RESAMPLES

METRIC_NAMES = ("precision", "recall", "f1")


def counts_matrix(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """(n, 3) int64 array of (correct, predicted, gold) from Counts rows (extra columns dropped)."""
    arr = np.asarray(rows, dtype=np.int64).reshape(len(rows), -1)
    return arr[:, :3]


def prf_arrays(c: np.ndarray, p: np.ndarray, g: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised prf(): zeros where nothing is correct (as the authors' code)."""
    c = c.astype(float)
    ok = c > 0
    precision = np.divide(c, p, out=np.zeros_like(c), where=ok)
    recall = np.divide(c, g, out=np.zeros_like(c), where=ok)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(c), where=ok & (denom > 0))
    return {"precision": precision, "recall": recall, "f1": f1}


def histogram(rows) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows (sorted, so the draws do not depend on input order) and their frequencies.

    ``rows`` are Counts-like tuples or pairs of them (paired bootstrap); every int column is
    kept (the invalid flag too: harmless, it only splits a row into two with the same sums).
    """
    freq = Counter(rows)
    keys = sorted(freq)
    flat = [tuple(_flat(k)) for k in keys] if keys and isinstance(keys[0][0], tuple) else keys
    return np.asarray(flat, dtype=np.int64).reshape(len(keys), -1), np.asarray([freq[k] for k in keys], dtype=np.int64)


def histogram_array(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """histogram() of an (n, k) int array: the same distinct rows, in the same (lexicographic) order."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.min(initial=0) < 0:
        raise ValueError("counts are non-negative")
    radix = rows.max(axis=0, initial=0) + 1
    if float(np.prod(radix.astype(float))) >= 2.0 ** 62:  # cannot pack into one int64: the slow, general way
        return histogram([tuple(r) for r in rows.tolist()])
    packed = np.zeros(len(rows), dtype=np.int64)
    for col in range(rows.shape[1]):  # mixed radix, first column most significant: sorts like tuples
        packed = packed * radix[col] + rows[:, col]
    keys, first, freq = np.unique(packed, return_index=True, return_counts=True)
    return rows[first], freq.astype(np.int64)


def _flat(pair):
    for part in pair:
        yield from part


def _resampled_sums(distinct: np.ndarray, freq: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(resamples, k) column sums of bootstrap resamples of n = freq.sum() rows."""
    n = int(freq.sum())
    draws = rng.multinomial(n, freq / n, size=resamples)  # (resamples, distinct rows)
    return draws @ distinct


def _interval(values: np.ndarray, level: float) -> list[float]:
    alpha = (1 - level) / 2
    lo, hi = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return [float(lo), float(hi)]


def bootstrap_ci(rows: Sequence[Sequence[int]], resamples: int = RESAMPLES, level: float = CI_LEVEL,
                 seed: int = BOOTSTRAP_SEED) -> dict:
    """{"precision": [lo, hi], "recall": [...], "f1": [...], "level", "resamples", "seed"}."""
    meta = {"level": level, "resamples": resamples, "seed": seed, "method": "percentile"}
    if len(rows) == 0 or resamples < 1:
        return {**{m: None for m in METRIC_NAMES}, **meta}
    rows = rows if isinstance(rows[0], tuple) else [tuple(r) for r in rows]
    sums = _resampled_sums(*histogram(rows), resamples, np.random.default_rng(seed))
    metrics = prf_arrays(sums[:, 0], sums[:, 1], sums[:, 2])
    return {**{m: _interval(metrics[m], level) for m in METRIC_NAMES}, **meta}


def bootstrap_ci_array(rows: np.ndarray, resamples: int = RESAMPLES, level: float = CI_LEVEL,
                       seed: int = BOOTSTRAP_SEED) -> dict:
    """bootstrap_ci() of an (n, 4) counts array (what re-scoring uses): the same numbers, faster."""
    meta = {"level": level, "resamples": resamples, "seed": seed, "method": "percentile"}
    if len(rows) == 0 or resamples < 1:
        return {**{m: None for m in METRIC_NAMES}, **meta}
    sums = _resampled_sums(*histogram_array(rows), resamples, np.random.default_rng(seed))
    metrics = prf_arrays(sums[:, 0], sums[:, 1], sums[:, 2])
    return {**{m: _interval(metrics[m], level) for m in METRIC_NAMES}, **meta}


def paired_bootstrap(rows_a: Sequence[Sequence[int]], rows_b: Sequence[Sequence[int]], resamples: int = RESAMPLES,
                     level: float = CI_LEVEL, seed: int = BOOTSTRAP_SEED) -> dict:
    """Interval of metric(B) - metric(A) over the same instances, resampled together.

    ``rows_a[i]`` and ``rows_b[i]`` must be the same instance.  Returns per metric
    {"delta": point, "ci": [lo, hi], "p_drop": share of resamples with B below A}.
    """
    if len(rows_a) != len(rows_b):
        raise ValueError(f"paired bootstrap needs the same instances ({len(rows_a)} vs {len(rows_b)} rows)")
    out: dict = {"n": len(rows_a), "level": level, "resamples": resamples, "seed": seed,
                 "method": "paired percentile"}
    if len(rows_a) == 0:
        return {**out, **{m: {"delta": None, "ci": None, "p_drop": None} for m in METRIC_NAMES}}
    a, b = counts_matrix(rows_a), counts_matrix(rows_b)
    point_a = prf_arrays(*(a.sum(axis=0)[None, :].T))
    point_b = prf_arrays(*(b.sum(axis=0)[None, :].T))
    width = len(rows_a[0])
    pairs = [(tuple(x), tuple(y)) for x, y in zip(rows_a, rows_b)]
    sums = _resampled_sums(*histogram(pairs), resamples, np.random.default_rng(seed))
    ma = prf_arrays(sums[:, 0], sums[:, 1], sums[:, 2])
    mb = prf_arrays(sums[:, width], sums[:, width + 1], sums[:, width + 2])
    for m in METRIC_NAMES:
        diff = mb[m] - ma[m]
        out[m] = {"delta": float(point_b[m][0] - point_a[m][0]), "ci": _interval(diff, level),
                  "p_drop": float(np.mean(diff < 0))}
    return out
