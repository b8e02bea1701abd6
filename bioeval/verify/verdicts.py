"""The verdict vocabularies, each defined once: a verification's (what `verify_manifest` writes
into each row and the summary: a published value against our runs) and a comparison's (what
`bioeval compare` writes: run B against run A, a regression check with no published value).
StrEnum: a member is the string it names, so the JSON contracts, the report and the tables
read exactly the words they always did."""

from __future__ import annotations

from enum import StrEnum


class Verdict(StrEnum):
    """One value's verdict."""

    REPRODUCED = "reproduced"  # the published value inside our prediction interval
    DISCREPANT = "discrepant"  # outside it
    MISSING = "missing"  # no usable run
    INVALID = "invalid"  # a run that cannot be trusted (verify/results.py says why)
    NEW = "new"  # a cell of an added model or dataset: compared, not verified

    @property
    def failing(self) -> bool:
        return self in (Verdict.DISCREPANT, Verdict.INVALID)


class GlobalVerdict(StrEnum):
    """The verification's one verdict (summary["global_verdict"])."""

    REPRODUCED = "reproduced"
    NOT_REPRODUCED = "not-reproduced"
    UNDECIDED = "undecided: seed study required"  # tolerance.require_seed_study and values on an assumed spread
    NOTHING = "none: nothing to verify"  # no selected cell has a published value


class Comparison(StrEnum):
    """One cell's verdict in `bioeval compare` (B - A); capitals, as its JSON has always had."""

    OK = "OK"  # within the threshold
    REGRESSED = "REGRESSED"  # the point delta below -threshold
    IMPROVED = "IMPROVED"  # above +threshold
    MISSING = "MISSING"  # no run on one side
    INVALID = "INVALID"  # a run that cannot be read or re-derived


def failing(verdict) -> bool:
    """Whether a row's verdict (a Verdict or its string) fails the value."""
    return str(verdict) in (Verdict.DISCREPANT, Verdict.INVALID)
