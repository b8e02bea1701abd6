"""The parts of one published value's prediction interval, before any run is judged: the scored
test size, the sampling part (from our bootstrap, the paper's interval, or the binomial), the
declared seed spread and the selection bias.  verify judges runs with them and `plan` reports
what they can detect (verify/detection.py), so both read this one definition (without numpy
until there are runs: see `_mean`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bioeval.verify import sampling as sp
from bioeval.verify import tolerance as tol

if TYPE_CHECKING:
    from bioeval.manifest.resolve import Cell


def test_size(cell: Cell, scores: dict | None) -> int | None:
    """The scored test size: scores.json's n, else the manifest's test records capped by test_subsample."""
    if scores and scores.get("n"):
        return int(scores["n"])
    records = cell.dataset.splits["test"].records
    cap = cell.protocol.evaluation.test_subsample.value
    if records is None:
        return cap
    return min(records, cap) if cap else records


def value_parts(tolerance, cell: Cell, metric: str, usable: list, n, published: float):
    """(parts, sources, the seed_spread declaration or None, bias shift, sampling scheme) for one
    value; `usable`: our runs of its cell (none in `plan`)."""
    declared, scheme = tol.sampling_scheme(tolerance, cell, metric, n)
    factor = sp.sampling_factor(scheme["published"], scheme["ours"], scheme["n"], scheme["population"])
    level = cell.protocol.scoring.ci_level.value
    boots = [sp.bootstrap_se(((r.scores or {}).get("ci") or {}).get(metric), level) for r in usable]
    boots = [b for b in boots if b is not None]
    ci_se = sp.published_ci_se(cell.expected[metric].ci) if metric in cell.expected else None
    if boots:  # the instance bootstrap of our runs: right for multi-item metrics too
        se, se_source = _mean(boots), "bootstrap"
    elif ci_se is not None:  # the paper's own interval: P and R move with the positives, not n
        se, se_source = ci_se, "published interval"
    elif sp.binomial_se(published, scheme["n"]):
        se, se_source = sp.binomial_se(published, scheme["n"]), "binomial"
    else:  # a value at 0 or 1 (or a degenerate bootstrap): unknown, not zero
        se, se_source = sp.score_se(published, scheme["n"]), "score (value at 0 or 1)"
    sampling = None if se is None else se * factor ** 0.5
    at = _mean([r.metrics.get(metric) or 0.0 for r in usable]) if se_source == "bootstrap" else published
    sides = (scheme["published"] == "subsample") + (scheme["ours"] == "subsample")
    scheme = {**scheme, "trials": sp.effective_trials(se, at, scheme["n"]),
              "fpc": factor / sides if sides else 1.0}
    spread = tol.seed_spread(tolerance, cell, metric)
    declared_bias = tol.selection_bias(tolerance, cell, metric)
    ours = our_selection(cell, usable)
    bias = declared_bias if declared_bias and ours != declared_bias.published_select_on else None
    sources = {"sampling": f"{se_source}, {scheme['published']}/{scheme['ours']} (published/ours), "
                           f"n {scheme['n']} of {scheme['population']}, scheme {scheme['source']}",
               "seed": None, "bias": ("declared (" + bias.source + ")") if bias else "none"}
    if declared_bias and not bias:
        sources["bias"] = (f"none: our run also selected on {ours}, as the published one did "
                           "(the declared shift is already in our value)")
    if se is None:
        sources["sampling"] = "unknown (no n and no bootstrap interval): sampling part taken as 0"
    parts = {"sampling": sampling, "seed": None, "bias": bias.shift if bias else 0.0}
    return parts, sources, spread, (bias.shift if bias else 0.0), scheme


def our_selection(cell: Cell, usable: list) -> str | None:
    """Where our run picked its checkpoint: scores.json's select_on, else what the protocol says."""
    for r in usable:
        if r.scores and "select_on" in r.scores:
            return r.scores["select_on"]
    ev = cell.protocol.evaluation
    return ev.select_on.value if cell.protocol.mode.value == "finetune" else None


def _mean(values: list[float]) -> float:
    """numpy's mean (its pairwise sum, the bits verify has always had); imported only here,
    where there are runs to average, so `plan` never pays for numpy."""
    import numpy as np

    return float(np.mean(values))
