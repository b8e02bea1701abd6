"""The audit's findings: one record shape, severities, and their order.

A finding is ``{"kind", "severity", "dataset", "split", "models", "message", "evidence"}``
(the `audit --json` contract): ``kind`` is one of KINDS, ``severity`` one of SEVERITIES
(most severe first), ``models`` the model keys of the published rows it concerns (empty when
it is about the data alone), ``message`` two sentences (what was found; what it means for the
published table) and ``evidence`` the numbers behind it, with the assumptions they rest on.
"""

from __future__ import annotations

KINDS = ("count-mismatch", "empty-gold", "trivial-baseline", "published-infeasible", "off-lattice",
         "identical-rows", "label-ceiling", "split-overlap", "budget",
         "label-set-collapsed", "other-release", "pair-dropped",  # these three: audit/originals.py
         "claim")  # bioeval/audit/claims.py
SEVERITIES = ("high", "medium", "low", "info")


def finding(kind: str, severity: str, dataset: str, split: str | None, fact: str, meaning: str,
            evidence: dict, models=()) -> dict:
    if kind not in KINDS or severity not in SEVERITIES:
        raise ValueError(f"finding kind {kind!r} / severity {severity!r} is not in the contract")
    fact, meaning = _sentence(fact), _sentence(meaning)
    return {"kind": kind, "severity": severity, "dataset": dataset, "split": split, "models": sorted(models),
            "message": f"{fact} {meaning}", "evidence": evidence}


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def by_severity(findings: list[dict]) -> list[dict]:
    """Most severe first; within a severity, in KINDS order, then dataset (a stable, readable order)."""
    return sorted(findings, key=lambda f: (SEVERITIES.index(f["severity"]), KINDS.index(f["kind"]),
                                           f["dataset"] or "", f["split"] or ""))
