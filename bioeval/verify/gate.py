"""The verification gate: one place decides whether a verification lets a pipeline pass.

A gate never passes on nothing: results that are missing or invalid fail it (missing ones
only unless allowed); cells of added models (verdict `new`) are compared, not verified, and
neither pass nor fail it.
"""

from __future__ import annotations

from bioeval.errors import VerificationFailed

FAILING = ("fail", "discrepant")  # the verdict names before and after the statistics rework


def counts(verification: dict) -> dict[str, int]:
    s = verification.get("summary", {})
    return {"fail": sum(int(s.get(k, 0)) for k in FAILING), "missing": int(s.get("missing", 0)),
            "invalid": int(s.get("invalid", 0)), "pass": int(s.get("pass", 0)) + int(s.get("reproduced", 0)),
            "new": int(s.get("new", 0))}


def gate(verification: dict, allow_missing: bool = False, where: str = "", strict: bool = False) -> str:
    """Raise VerificationFailed when a value fails, is invalid, or (unless allowed) is missing;
    otherwise return a one-line summary of what passed.

    Where verify gives a global verdict (family-wise control, `verify.gate`), that decides what
    fails; this adds the rules no verdict can express: nothing checked is no pass."""
    c = counts(verification)
    total = len(verification.get("cells", []))
    s = verification.get("summary", {})
    if not total:  # no expected value among the selected cells: nothing was checked, so nothing passed
        raise VerificationFailed(nothing_to_verify(verification, where))
    if "global_verdict" in s:
        from bioeval.verify import verify as statistics_gate

        failure = statistics_gate.gate(verification, strict=strict, allow_missing=allow_missing)
        if failure:
            raise VerificationFailed(f"{where + ': ' if where else ''}{failure}",
                                     "Missing results only: pass --allow-missing." if
                                     s["global_verdict"] == "reproduced" and not strict else None)
    elif c["fail"] or c["invalid"] or (c["missing"] and not allow_missing):
        hint = None
        if c["missing"] and not (c["fail"] or c["invalid"]):
            hint = "Missing results only: pass --allow-missing, or point --results at the folder the runs were written to."
        elif c["invalid"]:
            hint = "Invalid runs are named in the table's notes; rerun those cells (`bioeval run --force --only ...`)."
        raise VerificationFailed(f"{c['fail']} value(s) outside tolerance, {c['missing']} without results (of {total})"
                                 f"{', ' + str(c['invalid']) + ' invalid' if c['invalid'] else ''}"
                                 f"{' for ' + where if where else ''}.", hint)
    if total and not (c["pass"] or c["fail"] or c["invalid"] or c["new"]):  # all missing: --allow-missing is no pass
        raise VerificationFailed(f"no value could be checked: all {total} are without results"
                                 f"{' for ' + where if where else ''}.",
                                 "Point --results at the folder the runs were written to (a workdir, or one run folder).")
    text = f"verified: {c['pass']} value(s) within tolerance"
    if "global_verdict" in s:
        text = f"verified: {c['pass']} value(s) reproduced, global verdict {s['global_verdict']}"
    if c["new"]:
        text += f"; {c['new']} value(s) of added models compared, not verified"
    return text + "."


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
