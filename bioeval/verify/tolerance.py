"""Which tolerance applies to a cell's metric, and how wide it is.

Overrides: the most specific rule wins, counted by how many of model, dataset and metric it
names (model+dataset+metric > two of them > one > the default).  Among rules naming the same
number of fields, one naming the model beats one naming the dataset, which beats the metric;
among rules naming the very same fields, the later one in the manifest wins.

``auto`` = max(floor, z * sqrt(f (1 - f) / n)): f is the published value, n the scored test
size (PROTOCOL.md section 3: the sampling standard error of an F1 near f).
"""

from __future__ import annotations

import math

from bioeval.manifest.schema import Tolerance, ToleranceRule

EPSILON = 1e-9  # published values are decimals; keep 0.7 - 0.68 <= 0.02 a pass


def specificity(rule) -> tuple[int, int, int, int]:
    named = (getattr(rule, "model", None) is not None, getattr(rule, "dataset", None) is not None,
             getattr(rule, "metric", None) is not None)
    return (sum(named), *named)


def rule_for(tolerance: Tolerance, model: str, dataset: str, metric: str) -> ToleranceRule:
    best: ToleranceRule = tolerance.default
    best_rank = (-1, 0, 0, 0)
    for rule in tolerance.overrides:
        if rule.model not in (None, model) or rule.dataset not in (None, dataset) or rule.metric not in (None, metric):
            continue
        rank = specificity(rule)
        if rank >= best_rank:  # >=: the later of two equally specific rules wins
            best, best_rank = rule, rank
    return best


def allowed(rule: ToleranceRule, expected: float, n: int | None) -> float:
    """The largest |observed - expected| that still passes."""
    if rule.kind == "abs":
        return float(rule.value)
    if rule.kind == "rel":
        return float(rule.value) * abs(expected)
    if not n:
        return rule.floor
    return max(rule.floor, rule.z * math.sqrt(expected * (1 - expected) / n))


def describe(rule: ToleranceRule) -> str:
    if rule.kind == "abs":
        return f"abs {rule.value:g}"
    if rule.kind == "rel":
        return f"rel {rule.value:g}"
    return f"auto z={rule.z:g} floor={rule.floor:g}"


def within(observed: float, expected: float, width: float) -> bool:
    return abs(observed - expected) <= width + EPSILON
