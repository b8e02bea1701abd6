"""JUnit XML of a verification: one testcase per cell x metric, so CI systems list each cell.

FAIL -> <failure>, INVALID -> <error>, MISSING -> <skipped>; one <testsuite> per task.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bioeval.runs import write_text


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def junit_xml(report: dict) -> str:
    root = ET.Element("testsuites", name=f"bioeval verify {report['manifest']}")
    by_task: dict[str, list[dict]] = {}
    for row in report["cells"]:
        by_task.setdefault(row["task"], []).append(row)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for task, rows in by_task.items():
        failures = sum(r["verdict"] == "FAIL" for r in rows)
        skipped = sum(r["verdict"] == "MISSING" for r in rows)
        errors = sum(r["verdict"] == "INVALID" for r in rows)
        suite = ET.SubElement(root, "testsuite", name=f"{Path(report['manifest']).stem}.{task}", tests=str(len(rows)),
                              failures=str(failures), errors=str(errors), skipped=str(skipped))
        for r in rows:
            case = ET.SubElement(suite, "testcase", classname=f"{task}.{r['dataset']}",
                                 name=f"{r['model']} x {r['dataset']} {r['metric']}")
            detail = (f"expected {_fmt(r['expected'])}, observed {_fmt(r['observed'])}, "
                      f"delta {_fmt(r['delta'])}, tolerance {_fmt(r['tolerance'])} ({r['rule']}), n {r['n']}, "
                      f"run {r['run_id']}")
            if r["verdict"] == "FAIL":
                ET.SubElement(case, "failure", message=f"|delta| {abs(r['delta']):.4f} > tolerance {r['tolerance']:.4f}",
                              type="VerificationFailed").text = detail
            elif r["verdict"] == "INVALID":  # the run's files do not check out: no number to judge
                ET.SubElement(case, "error", message="; ".join(r["notes"]), type="InvalidRun").text = detail
            elif r["verdict"] == "MISSING":
                ET.SubElement(case, "skipped", message="; ".join(r["notes"]) or "no result")
            else:
                ET.SubElement(case, "system-out").text = detail
        totals["tests"] += len(rows)
        totals["failures"] += failures
        totals["errors"] += errors
        totals["skipped"] += skipped
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: dict, path: str | Path) -> None:
    write_text(path, junit_xml(report))
