"""Evaluate a claim's check over intervals, in three values: True, False or None (undecided).

The evidence gives, per cell (model, dataset, metric), an interval the true value lies in, and
per pair of cells an interval of their difference: for the paper's table the values that print
as the published digits (rounding), for a reproduction the statistical intervals of
verify/claims.py.  A relation holds (True) only when it holds for every value in the intervals,
fails (False) only when it fails for every value, and is undecided otherwise: a tie, a value
printed as 0.95 against "exceeding 0.95", intervals that overlap.  The verdict therefore never
depends on a point comparison, nor on the order in which models and datasets are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bioeval.claims.schema import Check, field_of
from bioeval.claims.printed import half_unit


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float
    point: float

    def shown(self) -> dict:
        return {"value": round(self.point, 6), "interval": [round(self.lo, 6), round(self.hi, 6)]}


class Evidence(Protocol):
    # complete: a value it lacks is not part of the field (the paper's table: an excluded cell);
    # else (runs) an unrun cell may lie anywhere, so rankings and spreads that need it stay open
    complete: bool

    def value(self, model: str, dataset: str, metric: str) -> Interval | None: ...

    def diff(self, a: tuple, b: tuple) -> Interval | None: ...  # a - b, cells as (model, dataset, metric)


def and3(values) -> bool | None:
    values = list(values)
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


def sign3(iv: Interval | None, above: float = 0.0, strict: bool = True) -> bool | None:
    """Whether the interval lies above ``above`` (True), at or below it (False), or straddles it."""
    if iv is None:
        return None
    if iv.lo > above or (not strict and iv.lo >= above):
        return True
    if iv.hi < above or (strict and iv.hi <= above):
        return False
    return None


class Judge:
    """One evaluation: ``atoms`` collects the values each elementary relation was decided on."""

    def __init__(self, evidence: Evidence, model_keys: list[str], dataset_keys: list[str]):
        self.ev, self.model_keys, self.dataset_keys, self.atoms = evidence, sorted(model_keys), sorted(dataset_keys), []

    def atom(self, holds: bool | None, what: str, values: dict) -> bool | None:
        self.atoms.append({"holds": holds, "what": what, "values": values})
        return holds

    def evaluate(self, check: Check) -> bool | None:
        return getattr(self, "_" + check.kind)(check)

    # ------------------------------------------------------------------ kinds
    def _threshold(self, c: Check) -> bool | None:
        out = []
        for m in sorted(c.models):
            for d in sorted(c.datasets):
                iv = self.ev.value(m, d, c.metric)
                if c.op == "=":  # the quoted value at its printed digits: inside its rounding, or outside it
                    h = half_unit(c.value)
                    holds = None if iv is None else True if c.value - h <= iv.lo and iv.hi <= c.value + h else \
                        False if iv.hi < c.value - h or iv.lo > c.value + h else None
                    rel = f"= {c.value} (printed digits)"
                elif c.op == "between":
                    low, high = c.range
                    holds = and3([sign3(iv, low, strict=False), None if iv is None else
                                  sign3(Interval(-iv.hi, -iv.lo, -iv.point), -high, strict=False)])
                    rel = f"in {low}..{high}"
                else:
                    strict = c.op in (">", "<")
                    if c.op.startswith(">"):
                        holds = sign3(iv, c.value, strict)
                    else:
                        holds = None if iv is None else sign3(Interval(-iv.hi, -iv.lo, -iv.point), -c.value, strict)
                    rel = f"{c.op} {c.value}"
                out.append(self.atom(holds, f"{m} {c.metric} on {d} {rel}",
                                     {f"{m}/{d}/{c.metric}": iv.shown() if iv else None}))
        return and3(out)

    def _ranking(self, c: Check) -> bool | None:
        if c.rank == "datasets":
            return self._dataset_ranking(c)
        field = field_of(c, self.model_keys)
        top = c.top or len(c.models)
        groups = [(d,) for d in sorted(c.datasets)] if c.over == "each" else [tuple(sorted(c.datasets))]
        out = []
        for ds in groups:
            present = [m for m in sorted(field) if all(self.ev.value(m, d, c.metric) for d in ds)]
            for m in sorted(c.models):
                sure = possible = 0
                values = {}
                for other in present:
                    if other == m:
                        continue
                    diff = self._mean_diff(other, m, ds, c.metric)  # other - m
                    if c.order == "lowest":
                        diff = None if diff is None else Interval(-diff.hi, -diff.lo, -diff.point)
                    better = sign3(diff)  # the other is ranked before m
                    sure += better is True
                    possible += better is not False
                    values[f"{other} - {m}"] = diff.shown() if diff else None
                unseen = [o for o in field if o not in present and o != m]
                if not getattr(self.ev, "complete", True):  # runs: a model not run may rank anywhere
                    possible += len(unseen)
                    values.update({f"{o} - {m}": None for o in unseen})
                if m not in present:
                    holds = None
                elif sure >= top:
                    holds = False
                else:
                    holds = True if possible < top else None
                where = ds[0] if len(ds) == 1 else "the mean over " + ", ".join(ds)
                out.append(self.atom(holds, f"{m} among the {c.order} {top} of {len(present)} on {c.metric} "
                                            f"({where}): {sure} surely and {possible} possibly before it", values))
        return and3(out)

    def _dataset_ranking(self, c: Check) -> bool | None:
        """Each model's claimed datasets among its own top (or bottom) ones, the field `among`'s datasets."""
        top, out = c.top or len(c.datasets), []
        for m in sorted(c.models):
            listed = sorted(self.dataset_keys if not c.among else c.among)
            field = [d for d in listed if self.ev.value(m, d, c.metric)]
            unseen = 0 if getattr(self.ev, "complete", True) else len(listed) - len(field)
            for d in sorted(c.datasets):
                sure = possible = 0
                values = {}
                for other in field:
                    if other == d:
                        continue
                    diff = self.ev.diff((m, other, c.metric), (m, d, c.metric))
                    if c.order == "lowest":
                        diff = None if diff is None else Interval(-diff.hi, -diff.lo, -diff.point)
                    before = sign3(diff)
                    sure += before is True
                    possible += before is not False
                    values[f"{m}/{other} - {m}/{d}"] = diff.shown() if diff else None
                if d in field:
                    possible += unseen  # runs: a dataset not run may rank before it
                holds = None if d not in field else False if sure >= top else True if possible < top else None
                out.append(self.atom(holds, f"{d} among the {c.order} {top} of {m}'s {len(field)} datasets on "
                                            f"{c.metric}: {sure} surely and {possible} possibly before it", values))
        return and3(out)

    def _comparison(self, c: Check) -> bool | None:
        out = []
        for d in sorted(c.datasets):
            for metric, relation in sorted(c.relations.items()):
                diff = self.ev.diff((c.a, d, metric), (c.b, d, metric))
                if relation == "higher":
                    holds = sign3(diff)
                elif relation == "lower":
                    holds = None if diff is None else sign3(Interval(-diff.hi, -diff.lo, -diff.point))
                else:  # equal: the difference within +-margin
                    holds = None if diff is None else (
                        True if -c.margin <= diff.lo and diff.hi <= c.margin else
                        False if diff.lo > c.margin or diff.hi < -c.margin else None)
                out.append(self.atom(holds, f"{c.a} {relation} than {c.b} on {metric} ({d})",
                                     {f"{c.a} - {c.b}/{d}/{metric}": diff.shown() if diff else None}))
        return and3(out)

    def _count(self, c: Check) -> bool | None:
        results = []
        for sub in c.of:
            field = "models" if c.per == "model" else "datasets"
            for key in sorted(getattr(sub, field)) or [None]:
                results.append(self.evaluate(sub if key is None else sub.model_copy(update={field: (key,)})))
        true, undecided = results.count(True), results.count(None)
        holds = True if true >= c.at_least else False if true + undecided < c.at_least else None
        return self.atom(holds, f"at least {c.at_least} of {len(results)} hold: {true} hold, {undecided} undecided",
                         {"hold": true, "undecided": undecided, "of": len(results)})

    def _all(self, c: Check) -> bool | None:
        return and3([self.evaluate(sub) for sub in c.of])

    def _spread(self, c: Check) -> bool | None:
        field = sorted(field_of(c, self.model_keys))
        spreads = {name: self._group_spread(field, ds, c.metric) for name, ds in sorted(c.groups.items())}
        mine = spreads[c.subject]
        out = []
        for name, other in spreads.items():
            if name == c.subject:
                continue
            holds = None if mine is None or other is None else \
                True if mine.hi < other.lo else False if other.hi < mine.lo else None
            out.append(self.atom(holds, f"{c.subject} varies less across models than {name} ({c.metric} range, "
                                        "mean over the group's datasets)",
                                 {c.subject: mine.shown() if mine else None, name: other.shown() if other else None}))
        return and3(out)

    # ------------------------------------------------------------------ helpers
    def _mean_diff(self, a: str, b: str, datasets: tuple, metric: str) -> Interval | None:
        diffs = [self.ev.diff((a, d, metric), (b, d, metric)) for d in datasets]
        if any(x is None for x in diffs):
            return None
        n = len(diffs)  # the mean of the per-dataset intervals: conservative where they are random
        return Interval(sum(x.lo for x in diffs) / n, sum(x.hi for x in diffs) / n, sum(x.point for x in diffs) / n)

    def _group_spread(self, field: list[str], datasets, metric: str) -> Interval | None:
        ranges = []
        for d in sorted(datasets):
            ivs = [iv for m in field if (iv := self.ev.value(m, d, metric)) is not None]
            if len(ivs) < 2 or (len(ivs) < len(field) and not getattr(self.ev, "complete", True)):
                return None  # runs: a model not run may widen the range
            points = [iv.point for iv in ivs]
            low = max(0.0, max(a.lo - b.hi for a in ivs for b in ivs if a is not b))
            ranges.append(Interval(low, max(iv.hi for iv in ivs) - min(iv.lo for iv in ivs),
                                   max(points) - min(points)))
        n = len(ranges)
        return Interval(sum(r.lo for r in ranges) / n, sum(r.hi for r in ranges) / n, sum(r.point for r in ranges) / n)


def judge_claim(claim, evidence: Evidence, model_keys: list[str],
                dataset_keys: list[str]) -> tuple[bool | None, list[dict]]:
    """(holds, atoms) of one checkable claim."""
    judge = Judge(evidence, model_keys, dataset_keys)
    holds = judge.evaluate(claim.check)
    return holds, judge.atoms


def deciding(holds: bool | None, atoms: list[dict]) -> list[dict]:
    """The atoms that decide the verdict: the failing ones, the undecided ones, or all when it holds."""
    if holds is False:
        return [a for a in atoms if a["holds"] is False]
    if holds is None:
        return [a for a in atoms if a["holds"] is None]
    return atoms
