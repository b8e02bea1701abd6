"""Internal consistency of the published table (the manifest's expected values).

Checks per model x dataset, each failure a finding ``{"model", "dataset", "check", "detail"}``:
- ``range``: every value in [0, 1];
- ``f1-harmonic``: F1 equals 2PR/(P+R) within the rounding of the printed digits (the digits
  are read from the values: 0.8523 -> 4; the bound is exact: P and R may each be off by half a
  unit in the last digit, and so may F1);
- ``single-label``: P = R = F1 (within rounding) where every test instance has exactly one gold
  label and the scorer is the set-F1 micro scorer (TC; RE whose test responses are single
  labels): unequal values mean some outputs had more or fewer than one label, which is
  possible but worth a look.
"""

from __future__ import annotations

from bioeval.claims.printed import half_unit, printed_digits

SINGLE_LABEL_SCORERS = {"zhan2024-set-f1"}
EPS = 1e-12


def harmonic(p: float, r: float) -> float:
    return 0.0 if p + r <= 0 else 2 * p * r / (p + r)


def check_cell(p: float, r: float, f1: float, single_label: bool) -> list[tuple[str, str]]:
    problems = []
    for name, v in (("precision", p), ("recall", r), ("f1", f1)):
        if not 0 <= v <= 1:
            problems.append(("range", f"{name} = {v} is outside [0, 1]"))
    if problems:
        return problems
    # each value's own digits: a float drops trailing zeros (0.9860 -> 0.986), which only widens
    # the bound, so a value printed with more digits can never be flagged wrongly
    hp, hr, hf = (0.5 * 10 ** -printed_digits(v) for v in (p, r, f1))
    digits = max(printed_digits(v) for v in (p, r, f1))
    low = harmonic(max(p - hp, 0), max(r - hr, 0))
    high = harmonic(min(p + hp, 1), min(r + hr, 1))
    if not (low - hf - EPS <= f1 <= high + hf + EPS):
        problems.append(("f1-harmonic",
                         f"F1 = {f1} but 2PR/(P+R) = {harmonic(p, r):.{digits + 2}f} from P = {p}, R = {r} "
                         f"(F1 must lie in {low - hf:.{digits + 1}f}..{high + hf:.{digits + 1}f} given the printed digits)"))
    if single_label and max(p, r, f1) - min(p, r, f1) > hp + hr + hf + EPS:
        problems.append(("single-label",
                         f"P = {p}, R = {r}, F1 = {f1} differ although every test instance has exactly one gold label; "
                         "with the set-F1 scorer that happens only if some outputs held more or fewer than one label"))
    return problems


def audit_table(manifest, single_label: dict[str, bool], scorer_of: dict[str, str]) -> list[dict]:
    """Findings over ``manifest.expected``; ``single_label[dataset key]`` says whether the test gold is single-label."""
    out = []
    for model_key, per_dataset in manifest.expected.items():
        for dataset_key, metrics in per_dataset.items():
            if not all(m in metrics for m in ("precision", "recall", "f1")):
                continue
            single = single_label.get(dataset_key, False) and scorer_of.get(dataset_key) in SINGLE_LABEL_SCORERS
            for check, detail in check_cell(metrics["precision"].value, metrics["recall"].value,
                                            metrics["f1"].value, single):
                out.append({"model": model_key, "dataset": dataset_key, "check": check, "detail": detail})
    return out


# ----------------------------------------------------------------------------- feasibility
# What the set-F1 scorer can produce from a given test file.  Per scored instance the
# prediction is a set of at least one item ("" split on ", " is {""}), the gold a set of
# |G_i| >= 1 items; the table prints c/p, c/g and 2c/(p+g) with c, p, g integer sums.

def interval(value: float, truncated: bool = False) -> tuple[float, float]:
    """The exact values that print as ``value``: rounded to nearest, or (``truncated``) also cut."""
    h = half_unit(value)
    return value - h - EPS, value + (2 * h if truncated else h) + EPS


def _ceil(x: float) -> int:
    return int(-(-x // 1))


def witness(p: float, r: float, f1: float, gold_totals, min_predicted, truncated: bool = False):
    """A (c, p, g) of integers that prints as (P, R, F1), or None when none exists.

    ``gold_totals``: the possible gold item totals g; ``min_predicted(g)``: the least total of
    predicted items (one per scored instance).  P, R > 0 are required (a zero row is always feasible).
    """
    (plo, phi), (rlo, rhi), (flo, fhi) = (interval(v, truncated) for v in (p, r, f1))
    for g in gold_totals:
        low_p = min_predicted(g)
        for c in range(max(1, _ceil(rlo * g)), min(g, int(rhi * g)) + 1):
            for pred in range(max(low_p, c, _ceil(c / phi)), int(c / max(plo, EPS)) + 1):
                if flo <= 2 * c / (pred + g) <= fhi:
                    return {"correct": c, "predicted": pred, "gold": g}
    return None


def recall_fits(r: float, gold_totals) -> bool:
    lo, hi = interval(r)
    return any(_ceil(lo * g) <= int(hi * g) for g in gold_totals)


def infeasible_p_over_r(p: float, r: float) -> bool:
    """With one gold item per instance, p >= g, so P <= R: true when the printed P exceeds R beyond rounding."""
    return p - half_unit(p) > r + half_unit(r) + EPS


def identical_rows(expected: dict) -> list[dict]:
    """Groups of models with exactly the same published (P, R, F1) on one dataset."""
    groups: dict[tuple, list[str]] = {}
    for model_key, per_dataset in expected.items():
        for dataset_key, metrics in per_dataset.items():
            if all(m in metrics for m in ("precision", "recall", "f1")):
                triple = tuple(metrics[m].value for m in ("precision", "recall", "f1"))
                groups.setdefault((dataset_key, triple), []).append(model_key)
    return [{"dataset": d, "values": list(t), "models": sorted(ms)} for (d, t), ms in groups.items() if len(ms) > 1]
