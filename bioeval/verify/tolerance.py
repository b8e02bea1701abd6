"""Which tolerance applies to a cell's metric, and the parts of the statistical one.

Overrides and the scoped declarations (seed_spread, selection_bias, sampling) follow one
precedence, bioeval.manifest.scopes: the rule naming more of model, dataset, task and metric
wins; then model > dataset > task > metric; then the later rule.

``abs`` and ``rel`` are fixed half-widths.  ``auto`` is the statistical model of
bioeval.verify.statistics (docs/statistics.md): sampling, seed and selection-bias parts.
"""

from __future__ import annotations

import math

from bioeval.manifest.schema import SamplingScheme, Tolerance, ToleranceRule
from bioeval.manifest.scopes import most_specific, specificity  # noqa: F401 (specificity: re-exported)
from bioeval.verify.sampling import EPSILON


def rule_for(tolerance: Tolerance, model: str, dataset: str, metric: str) -> ToleranceRule:
    return most_specific(tolerance.overrides, model, dataset, metric, default=tolerance.default)


def allowed(rule: ToleranceRule, expected: float) -> float:
    """The fixed half-width of an abs or rel rule (auto has none: see bioeval.verify.statistics)."""
    if rule.kind == "abs":
        return float(rule.value)
    if rule.kind == "rel":
        return float(rule.value) * abs(expected)
    raise ValueError(f"tolerance kind {rule.kind} has no fixed half-width")


def alpha_of(rule: ToleranceRule, tolerance: Tolerance) -> float:
    """Per-value error rate: 1 - tolerance.level, or the two-sided tail of the rule's z."""
    if rule.z is not None:
        return 2.0 * (1.0 - 0.5 * (1.0 + math.erf(rule.z / math.sqrt(2.0))))
    return 1.0 - tolerance.level


def within(observed: float, expected: float, width: float) -> bool:
    return abs(observed - expected) <= width + EPSILON


def sampling_scheme(tolerance: Tolerance, cell, metric: str, n: int | None) -> tuple[SamplingScheme | None, dict]:
    """The declared scheme, or the one derived from protocol.evaluation.test_subsample and the
    test split's records: a cap below the records means both sides drew a random cut of n from N
    (the published side's cut is taken to be random: nothing says otherwise); else both scored
    the whole test set.  Returns (declaration or None, {published, ours, n, population, source})."""
    declared = most_specific(tolerance.sampling, cell.model.key, cell.dataset.key, metric, cell.dataset.task)
    records = cell.dataset.splits["test"].records
    if declared is not None:
        return declared, {"published": declared.published, "ours": declared.ours, "n": declared.n or n,
                          "population": declared.population or records, "source": declared.source}
    cap = cell.protocol.evaluation.test_subsample.value
    kind = "subsample" if cap and records and records > cap else "full"
    return None, {"published": kind, "ours": kind, "n": n, "population": records, "source": "derived"}


def seed_spread(tolerance: Tolerance, cell, metric: str):
    return most_specific(tolerance.seed_spread, cell.model.key, cell.dataset.key, metric, cell.dataset.task)


def selection_bias(tolerance: Tolerance, cell, metric: str):
    return most_specific(tolerance.selection_bias, cell.model.key, cell.dataset.key, metric, cell.dataset.task)
