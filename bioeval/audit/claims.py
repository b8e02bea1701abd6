"""Claims judged against the paper's own table (the manifest's expected values), for `audit`.

A printed value stands for every value that rounds to it (0.9469 for 0.94685..0.94695; a value
is taken to have at least two decimals, since 0.30 reaches the manifest as 0.3), so a
claim is ``contradicted-by-table`` only when it fails for every such value, and ``consistent``
otherwise; a claim that holds only thanks to that rounding or a tie (0.95 printed against
"exceeding 0.95") is consistent with ``within_rounding: true`` and says so.
"""

from __future__ import annotations

from bioeval.claims.logic import Interval, deciding, judge_claim
from bioeval.claims.printed import printed_digits

EPS = 1e-9
MIN_DECIMALS = 2

CONSISTENT, CONTRADICTED, NOT_CHECKABLE = "consistent", "contradicted-by-table", "not-checkable"


class TableEvidence:
    complete = True  # a cell the paper does not print (an excluded one) is not in the field

    def __init__(self, expected: dict):
        self.expected = expected

    def value(self, model: str, dataset: str, metric: str) -> Interval | None:
        mv = self.expected.get(model, {}).get(dataset, {}).get(metric)
        if mv is None:
            return None
        # the values that print as mv.value: [v - h, v + h), a hair inside so that 0.73 against
        # 0.72 is surely higher (0.725 prints as one of them, not both)
        # 0.30 is the float 0.3: at least the two decimals every table of both papers prints
        # (report/markdown.py shows published values the same way)
        h = 0.5 * 10 ** -max(printed_digits(mv.value), MIN_DECIMALS) - EPS
        return Interval(max(mv.value - h, 0.0), min(mv.value + h, 1.0), mv.value)

    def diff(self, a: tuple, b: tuple) -> Interval | None:
        x, y = self.value(*a), self.value(*b)
        if x is None or y is None:
            return None
        return Interval(x.lo - y.hi, x.hi - y.lo, x.point - y.point)


def judge_table(manifest) -> list[dict]:
    """One record per claim, in the manifest's order: verdict, the deciding values, the quote."""
    evidence = TableEvidence(manifest.expected)
    models = [x.key for x in manifest.models if not x.added]
    out = []
    for claim in manifest.claims:
        record = {"id": claim.id, "where": claim.where, "quote": claim.quote, "source": claim.source,
                  "kind": claim.check.kind if claim.check else None}
        if claim.check is None:
            out.append({**record, "verdict": NOT_CHECKABLE, "reason": claim.not_checkable, "deciding": []})
            continue
        holds, atoms = judge_claim(claim, evidence, models, [d.key for d in manifest.datasets if not d.added])
        record["verdict"] = CONTRADICTED if holds is False else CONSISTENT
        record["within_rounding"] = holds is None
        record["deciding"] = deciding(holds, atoms)
        record["atoms"] = len(atoms)
        if claim.check.note:
            record["reading"] = claim.check.note
        out.append(record)
    return out


def summary_line(records: list[dict]) -> str:
    n = len(records)
    counts = {v: sum(r["verdict"] == v for r in records) for v in (CONSISTENT, CONTRADICTED, NOT_CHECKABLE)}
    rounding = sum(r.get("within_rounding", False) for r in records)
    return (f"{n} claims against the paper's table: {counts[CONSISTENT]} consistent"
            f"{f' ({rounding} only within rounding or a tie)' if rounding else ''}, "
            f"{counts[CONTRADICTED]} contradicted by the table, {counts[NOT_CHECKABLE]} not checkable")


def describe(atom: dict) -> str:
    """One deciding relation in words with its values: 'x f1 on d > 0.95: 0.9469 (0.94685..0.94695)'."""
    parts = []
    for name, v in atom["values"].items():
        if isinstance(v, dict):
            parts.append(f"{name} {v['value']:g} ({v['interval'][0]:.6g}..{v['interval'][1]:.6g})")
        else:
            parts.append(f"{name} {v}")
    return f"{atom['what']}: " + ", ".join(parts) if parts else atom["what"]


def findings(records: list[dict]) -> list[dict]:
    """The audit findings of kind `claim`: contradicted first (medium), then within rounding (low),
    then consistent and not-checkable (info)."""
    from bioeval.audit.findings import finding

    out = []
    for r in records:
        head = f"claim {r['id']} ({r['where']}): \u201c{r['quote']}\u201d"
        evidence = {k: r[k] for k in ("id", "verdict", "where", "quote", "deciding") if k in r}
        if r["verdict"] == NOT_CHECKABLE:
            out.append(finding("claim", "info", "", None, f"{head} is not checkable: {r['reason']}",
                               "it is kept with its quote; no table or run can decide it", evidence))
            continue
        shown = "; ".join(describe(a) for a in r["deciding"][:4])
        more = f" (and {len(r['deciding']) - 4} more)" if len(r["deciding"]) > 4 else ""
        models = sorted({k.split("/")[0].split(" - ")[0] for a in r["deciding"] for k in a["values"]
                         if "/" in k})
        if r["verdict"] == CONTRADICTED:
            out.append(finding("claim", "medium", "", None, f"{head} is contradicted by the paper's own table: {shown}{more}",
                               "the sentence does not follow from the values it summarises", evidence, models))
        elif r["within_rounding"]:
            out.append(finding("claim", "low", "", None, f"{head} holds only within the rounding of the printed "
                               f"values or a tie: {shown}{more}",
                               "the printed digits cannot tell; the unrounded values may contradict it", evidence, models))
        else:
            out.append(finding("claim", "info", "", None, f"{head} is consistent with the paper's table",
                               f"every value that prints as the table's digits satisfies it ({r['atoms']} relations)",
                               evidence))
    return out
