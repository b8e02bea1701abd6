"""The verification gate: one function (`failure`) decides whether a verification lets a
pipeline pass.

A gate never passes on nothing: results that are missing or invalid fail it (missing ones
only unless allowed); cells of added models (verdict `new`) are compared, not verified, and
neither pass nor fail it.
"""

from __future__ import annotations

from bioeval.errors import VerificationFailed
from bioeval.verify.verdicts import GlobalVerdict, Verdict


def counts(verification: dict) -> dict[str, int]:
    """How many values got each verdict (the summary's counts, 0 where absent)."""
    s = verification.get("summary", {})
    return {str(v): int(s.get(v, 0)) for v in Verdict}


def failure(verification: dict, allow_missing: bool = False, strict: bool = False,
            where: str = "") -> VerificationFailed | None:
    """The one decision: why this verification does not let a pipeline pass (the error the CLI
    raises, exit 1), or None.  It fails on the global verdict (family-wise control), on any
    discrepant value with ``strict``, on missing values unless allowed, and on nothing checked
    (no published value, or every value without results even when allowed)."""
    if not verification.get("cells"):  # no expected value among the selected cells: nothing passed
        return VerificationFailed(nothing_to_verify(verification, where))
    s, c = verification["summary"], counts(verification)
    reasons = _reasons(s, strict, allow_missing)
    if reasons:
        return VerificationFailed(f"{where + ': ' if where else ''}{reasons}",
                                  "Missing results only: pass --allow-missing." if
                                  s["global_verdict"] == GlobalVerdict.REPRODUCED and not strict else None)
    if not (c[Verdict.REPRODUCED] or c[Verdict.DISCREPANT] or c[Verdict.INVALID] or c[Verdict.NEW]):
        return VerificationFailed(f"no value could be checked: all {len(verification['cells'])} are without results"
                                  f"{' for ' + where if where else ''}.",
                                  "Point --results at the folder the runs were written to (a workdir, or one run "
                                  "folder).")  # all missing: --allow-missing is no pass
    return None


def _reasons(s: dict, strict: bool, allow_missing: bool) -> str | None:
    """The failing parts of a summary in one line (of N values), or None."""
    problems = []
    if strict and s[Verdict.DISCREPANT]:
        problems.append(f"{s[Verdict.DISCREPANT]} value(s) discrepant (--strict: any discrepancy fails)")
    elif s["global_verdict"] != GlobalVerdict.REPRODUCED:
        why = [f"{s['family_discrepant']} value(s) discrepant after Holm at family-wise error {s['level']:g}"
               if s["family_discrepant"] else "",
               f"{s['fixed_rule_discrepant']} outside a fixed abs/rel tolerance" if s["fixed_rule_discrepant"] else "",
               f"{s[Verdict.INVALID]} invalid" if s[Verdict.INVALID] else ""]
        why.append(f"{s['seed_study_required']} value(s) judged on an assumed seed spread while the manifest "
                   "requires a seed study (tolerance.require_seed_study: run `--seeds 3` or more)"
                   if s.get("seed_study_required") else "")
        problems.append(f"global verdict {s['global_verdict']}: " + ", ".join(w for w in why if w))
    if s[Verdict.MISSING] and not allow_missing:
        problems.append(f"{s[Verdict.MISSING]} value(s) without results")
    if not problems:
        return None
    return "; ".join(problems) + f" (of {s['values']} values)."


def passed(verification: dict) -> str:
    """The one line saying what a verification that passed its gate checked."""
    c, s = counts(verification), verification.get("summary", {})
    text = f"verified: {c[Verdict.REPRODUCED]} value(s) reproduced, global verdict {s['global_verdict']}"
    if c[Verdict.NEW]:
        text += f"; {c[Verdict.NEW]} value(s) of added models compared, not verified"
    return text + "."


def enforce(verification: dict, allow_missing: bool = False, strict: bool = False, where: str = "") -> str:
    """Raise the gate's failure, else return what passed (what `verify` and `reproduce` print)."""
    problem = failure(verification, allow_missing, strict, where)
    if problem is not None:
        raise problem
    return passed(verification)


def nothing_to_verify(verification: dict, where: str = "") -> str:
    """The one paragraph for a verification that compared no value (verify's help: exit 1)."""
    manifest = where or verification.get("manifest") or "the manifest"
    found = len(verification.get("unexpected") or [])
    return (f"{manifest}: nothing to verify: no selected cell has an expected value (the manifest's `expected:` "
            f"is empty, or --only selects no cell that has one), so no value was compared"
            f"{f'; {found} cell(s) with results but no published value are listed above' if found else ''}. "
            "Add the paper's values under `expected:` (each with its source), or widen --only; to compare runs "
            "without published values use `bioeval compare`.")


def results_folder(path) -> "Path":
    """A results path the user named: it must exist (a workdir, or one run's folder)."""
    from pathlib import Path

    from bioeval.errors import UsageError

    path = Path(path)
    if not path.exists():
        raise UsageError(f"results folder {path} does not exist.",
                         "Give --results DIR (or the global --workdir) where the runs were written: a workdir "
                         "holding <run_id>/ folders, or one run's folder.")
    if not path.is_dir():
        raise UsageError(f"results path {path} is a file, not a folder.",
                         "Give the workdir holding <run_id>/ folders, or one run's folder.")
    return path
