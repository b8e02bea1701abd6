"""JUnit XML of a verification: one testcase per cell x metric, so CI systems list each cell.

discrepant and invalid -> <failure>, missing -> <skipped>; one <testsuite> per task.
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
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for task, rows in by_task.items():
        failures = sum(r["verdict"] in ("discrepant", "invalid") for r in rows)
        skipped = sum(r["verdict"] == "missing" for r in rows)
        suite = ET.SubElement(root, "testsuite", name=f"{Path(report['manifest']).stem}.{task}", tests=str(len(rows)),
                              failures=str(failures), errors="0", skipped=str(skipped))
        for r in rows:
            case = ET.SubElement(suite, "testcase", classname=f"{task}.{r['dataset']}",
                                 name=f"{r['model']} x {r['dataset']} {r['metric']}")
            detail = (f"expected {_fmt(r['expected'])}, observed {_fmt(r['observed'])} (mean of {r['runs']} run(s)), "
                      f"delta {_fmt(r['delta'])}, interval {r['interval']} ({r['rule']}), p {_fmt(r['p_value'])}, "
                      f"n {r['n']}, run {r['run_id']}")
            if r["verdict"] == "discrepant":
                ET.SubElement(case, "failure", message=f"published {r['expected']:.4f} outside [{r['interval'][0]:.4f}, "
                              f"{r['interval'][1]:.4f}] ({r['direction']})", type="VerificationFailed").text = detail
            elif r["verdict"] == "invalid":
                ET.SubElement(case, "failure", message="; ".join(r["notes"]) or "invalid run",
                              type="InvalidRun").text = detail
            elif r["verdict"] == "missing":
                ET.SubElement(case, "skipped", message="; ".join(r["notes"]) or "no result")
            else:
                ET.SubElement(case, "system-out").text = detail
        totals["tests"] += len(rows)
        totals["failures"] += failures
        totals["skipped"] += skipped
    for k, v in totals.items():
        root.set(k, str(v))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: dict, path: str | Path) -> None:
    write_text(path, junit_xml(report))
