"""The Markdown report of one manifest: published vs reproduced per task, the protocol ledger,
deviations, the data audit and the environment receipts.

Each manifest's section starts with a level-2 heading, so the sections of several manifests
concatenate into one document (`bioeval report A.yaml B.yaml --out RESULTS.md` does that).
Cells without results say "not reproduced here (needs a GPU host)" (or "not run here" for
CPU cells) instead of a wall of MISSING.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bioeval.manifest.load import LoadedManifest
from bioeval.report.redact import REDACTED, is_secret_key, redact_text
from bioeval.verify.verdicts import Comparison, Verdict, failing

METRIC_SHORT = {"precision": "P", "recall": "R", "f1": "F1"}
NOT_GPU = "not reproduced here (needs a GPU host)"
NOT_RUN = "not run here"
AUDIT_HIDDEN = {"dataset", "split", "findings", "key", "source", "origin", "available", "path"}  # in the manifest


def _cell(text) -> str:
    """A Markdown table cell: no newlines, escaped pipes."""
    return str(text).replace("\n", "\\n").replace("|", "\\|")


def _num(x, digits: int = 4) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def group_cells(verification: dict) -> dict[tuple[str, str], dict]:
    """(model, dataset) -> {"task", "metrics": {metric: row}, "verdict", "reproduced"}."""
    cells: dict[tuple[str, str], dict] = {}
    for row in verification["cells"]:
        if row.get("expected") is None:  # cells of added models: in the regression section
            continue
        c = cells.setdefault((row["model"], row["dataset"]), {"task": row["task"], "metrics": {}, "row": row})
        c["metrics"][row["metric"]] = row
    for c in cells.values():
        verdicts = {str(r["verdict"]) for r in c["metrics"].values()}
        c["reproduced"] = verdicts != {Verdict.MISSING}
        c["verdict"] = cell_verdict(verdicts)
    return cells


def cell_verdict(verdicts) -> str:
    """One verdict per cell from its metrics' verdicts, the worst one winning."""
    given = {str(v) for v in verdicts}
    for v in (Verdict.INVALID, Verdict.DISCREPANT, Verdict.MISSING, Verdict.REPRODUCED):
        if v in given:
            return str(v)
    return next(iter(given))


def _global_sentence(s: dict) -> str:
    """verify's global verdict in words, where it gives one."""
    if "global_verdict" not in s:
        return ""
    return (f" Global verdict ({s['method']}, family-wise error {s['level']:g}): **{s['global_verdict']}**; "
            f"{s['expected_false_discrepancies']:g} discrepant values expected by chance under perfect reproduction "
            "(docs/statistics.md)." + _rests_on_sentence(s) + _detection_sentence(s))


def _detection_sentence(s: dict) -> str:
    """How many values could show a shift of 0.05 at all (verify/detection.py)."""
    if "values_detecting_0.05" not in s or not s.get("tested"):
        return ""
    return (f" {s['values_detecting_0.05']} of {s['tested']} tested values can show a true shift of 0.05 "
            f"with probability {s['mde_power']:g} (each cell's smallest detectable shift is in its notes).")


def _rests_on_sentence(s: dict) -> str:
    """Which declared seed spreads the verdict rests on (docs/statistics.md: the level needs them)."""
    if not s.get("declared_spreads"):
        return ""
    worse = s["expected_false_discrepancies_if_spreads_too_small"]
    spreads = ", ".join(f"sd {d['sd']:g}: {d['values']}" for d in s["declared_spreads"])
    return (f" The verdict rests on declared seed spreads for {s['values_on_declared_spreads']} value(s) "
            f"({spreads}); were they 1.25x / 1.5x too small, {worse['1.25x']:g} / {worse['1.5x']:g} "
            "false discrepancies would be expected.")


def _as_printed(x: float) -> str:
    """A published value with the decimals the paper printed (at least 2): 0.84, 0.741, 0.9587."""
    text = f"{x:.4f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{x:.2f}"


def _published(row: dict) -> str:
    text = _as_printed(row["expected"])
    if row.get("published_ci"):
        lo, hi = row["published_ci"]
        text += f" ({_as_printed(lo)}–{_as_printed(hi)})"
    return text


def render_report(loaded: LoadedManifest, verification: dict, audit: dict | None = None,
                  receipts: dict[str, dict] | None = None, figures: list[Path] | None = None,
                  out_dir: Path | None = None, audit_note: str | None = None,
                  regression: list[dict] | None = None) -> str:
    m = loaded.manifest
    p = m.paper
    cite = f"{p.authors} {p.year or ''}".strip()
    arxiv = f", arXiv {p.arxiv}{p.version or ''}" if p.arxiv else ""
    cells = group_cells(verification)
    reproduced = [c for c in cells.values() if c["reproduced"]]
    lines = [f"## {p.title}", "",
             f"{cite}{arxiv}. Published values: {p.tables or 'see the manifest'}. "
             f"Manifest `{loaded.path}` (sha256 `{loaded.sha256[:16]}…`); results `{verification['results']}`.", ""]
    if cells:
        from bioeval.verify.gate import counts

        c = counts(verification)
        new = f"; {c[Verdict.NEW]} values of added models compared, not verified" if c[Verdict.NEW] else ""
        counted = (f"{c[Verdict.REPRODUCED]} values reproduced, {c[Verdict.DISCREPANT]} discrepant, "
                   f"{c[Verdict.INVALID]} invalid, {c[Verdict.MISSING]} values not reproduced here{new}.")
        lines += [f"**{len(reproduced)} of {len(cells)} cells reproduced here**: {counted}"
                  + _global_sentence(verification["summary"]), ""]
    else:
        ran = len(verification.get("unexpected") or [])
        lines += [f"**The manifest has no published values to verify**; {ran} cell(s) have results here.", ""]
    gpu_of = {x.key: x.resources.gpus for x in m.models}
    tasks = list(dict.fromkeys(d.task for d in m.datasets))
    for task in tasks if cells else []:
        lines += _task_section(task, [(k, c) for k, c in cells.items() if c["task"] == task], gpu_of)
    if verification.get("unexpected"):
        lines += _unexpected_section(verification["unexpected"])
    if regression:
        lines += regression_section(regression)
    from bioeval.report.both_ways import both_ways_section
    lines += both_ways_section(verification)
    lines += baseline_section(loaded, verification)
    from bioeval.report.claims import claims_section
    lines += claims_section(loaded, verification)
    if figures:
        lines += ["### Figures", ""]
        for fig in figures:
            rel = os.path.relpath(fig, out_dir) if out_dir else str(fig)
            lines += [f"![{fig.stem}]({Path(rel).as_posix()})", ""]
    lines += _ledger_section(loaded)
    lines += _tolerance_section(loaded)
    lines += ["### Deviations from the paper", ""]
    lines += [f"- **{d.what}**" + (f": {d.why}" if d.why else "") for d in m.deviations] or ["- none recorded"]
    lines += [""]
    lines += _datasets_section(loaded)
    lines += _audit_section(audit, audit_note)
    lines += _receipts_section(receipts or {})
    return "\n".join(lines).rstrip() + "\n"


def _task_section(task: str, cells: list, gpu_of: dict) -> list[str]:
    lines = [f"### {task}", ""]
    if not cells:
        return lines + ["No cells with published values.", ""]
    metrics = [mt for mt in ("precision", "recall", "f1") if any(mt in c["metrics"] for _, c in cells)]
    if not any(c["reproduced"] for _, c in cells):
        needs_gpu = any(gpu_of.get(k[0], 0) > 0 for k, _ in cells)
        lines += [f"_{NOT_GPU if needs_gpu else NOT_RUN}_: {len(cells)} cells. The paper's values:", ""]
        header = ["Model", "Dataset"] + [METRIC_SHORT[mt] for mt in metrics]
        rows = [[c["row"]["paper_model"], c["row"]["paper_dataset"]] +
                [_published(c["metrics"][mt]) if mt in c["metrics"] else "–" for mt in metrics] for _, c in cells]
        return lines + _table(header, rows)
    short = "/".join(METRIC_SHORT[mt] for mt in metrics)
    header = ["Model", "Dataset", f"Published {short}", f"Reproduced {short}", "Δ " + short, "Verdict", "n", "Notes"]
    rows = []
    for (model, _), c in cells:
        ms = c["metrics"]
        pub = " / ".join(_published(ms[mt]) for mt in metrics)
        if not c["reproduced"]:
            rows.append([c["row"]["paper_model"], c["row"]["paper_dataset"], pub,
                         NOT_GPU if gpu_of.get(model, 0) > 0 else NOT_RUN, "–", "–", "–", ""])
            continue
        rep = " / ".join(_num(ms[mt]["observed"]) for mt in metrics)
        delta = " / ".join("–" if ms[mt]["delta"] is None else f"{ms[mt]['delta']:+.4f}" for mt in metrics)
        verdict = c["verdict"]
        failed = [METRIC_SHORT[mt] for mt in metrics if failing(ms[mt]["verdict"])]
        if failed:
            verdict += " (" + ", ".join(failed) + ")"
        identities = sorted({r["identity"] for r in ms.values() if r.get("identity")}, key=len)  # verify/envdiff.py
        identity = identities[0] if identities else None  # "differs from the reference" beats "..., within tolerance"
        verdict = f"**{verdict}**" + (f"; {identity}" if identity else "")
        notes = sorted({n for r in ms.values() for n in r.get("notes", [])})
        tol = ms[metrics[-1]]
        if tol.get("tolerance") is not None:
            runs = f", {tol['runs']} run(s)" if tol.get("runs") is not None else ""
            notes.insert(0, f"tolerance ±{tol['tolerance']:.4f} ({tol['rule']}{runs})")
        if tol.get("mde") is not None:  # verify/detection.py: what this value could show at all
            notes.insert(1, f"detects a shift of {tol['mde']:.3f} at 80%")
        in_ci = [METRIC_SHORT[mt] for mt in metrics if ms[mt].get("in_published_ci") is False]
        if in_ci:
            notes.append("outside the published CI: " + ", ".join(in_ci))
        rows.append([c["row"]["paper_model"], c["row"]["paper_dataset"], pub, rep, delta, verdict,
                     c["row"]["n"] if c["row"]["n"] is not None else "–", "; ".join(notes)])
    return lines + _table(header, rows)


def _unexpected_section(rows: list[dict]) -> list[str]:
    lines = ["### Reproduced cells without published values", "",
             "These cells ran here; the manifest has no expected values for them, so there is no verdict.", ""]
    body = []
    for r in rows:
        ms, ci = r["metrics"], r.get("ci") or {}
        cell = [r["paper_model"], r["paper_dataset"], r["task"]]
        for mt in ("precision", "recall", "f1"):
            text = _num(ms.get(mt))
            if ci.get(mt):
                text += f" [{ci[mt][0]:.3f}, {ci[mt][1]:.3f}]"
            cell.append(text)
        body.append(cell + [r["n"] if r["n"] is not None else "–", f"`{r['run_id']}`"])
    return lines + _table(["Model", "Dataset", "Task", "P", "R", "F1", "n", "Run"], body)


def _value(v) -> str:
    text = json.dumps(v, ensure_ascii=False) if isinstance(v, (str, list, dict)) else str(v)
    return f"`{text}`" if "`" not in text else text


def _ledger_section(loaded: LoadedManifest) -> list[str]:
    from bioeval.manifest.summary import ledger

    rows = ledger(loaded)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    lines = ["### Protocol ledger", "",
             "Every protocol value with where it comes from: `paper` (stated in the paper), `authors-code` "
             "(the authors' public code), `assumed` (our choice where both are silent). Counts: "
             + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ".", ""]
    return lines + _table(["Field", "Value", "Source", "Note"],
                          [[r["field"].removeprefix("protocol."), _value(r["value"]), r["source"], _ledger_note(r)]
                           for r in rows])


def _ledger_note(row: dict) -> str:
    """The note and every alternative another source gives (e.g. the paper's learning rate beside the code's)."""
    parts = [row["note"]] if row.get("note") else []
    parts += [f"alternative: {_value(a['value'])} ({a['source']}{': ' + a['note'] if a.get('note') else ''})"
              for a in row.get("alternatives") or []]
    return "; ".join(parts)


def _finding(f) -> str:
    if isinstance(f, str):
        return f
    if isinstance(f, dict):
        head = f.get("check") or f.get("kind") or f.get("code") or ""
        body = f.get("detail") or f.get("message") or json.dumps({k: v for k, v in f.items() if k != "check"},
                                                                 ensure_ascii=False, default=str)
        return f"{head}: {body}" if head else str(body)
    return str(f)


def _audit_findings(findings: list[dict]) -> list[str]:
    """`audit`'s findings, most severe first, each with what it means for the published table."""
    if not findings:
        return []

    def models(f):
        ms = f.get("models") or []
        return ", ".join(ms) if len(ms) <= 3 else f"{len(ms)} models"

    return ["Findings, most severe first (`bioeval audit --json` has the evidence of each):", ""] + _table(
        ["Severity", "Kind", "Dataset", "Split", "Models", "Finding"],
        [[f["severity"], f["kind"], f.get("dataset") or "", f.get("split") or "", models(f), f["message"]]
         for f in findings])


def _audit_section(audit: dict | None, note: str | None) -> list[str]:
    lines = ["### Data audit", ""]
    if audit is None:
        return lines + [f"_The data audit was not run: {note or 'no audit given'}._", ""]
    lines += _audit_findings(audit.get("findings") or [])
    for entry in audit.get("datasets", []):
        title = f"{entry.get('dataset', '?')}" + (f" / {entry['split']}" if entry.get("split") else "")
        facts = [f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in entry.items()
                 if k not in AUDIT_HIDDEN and isinstance(v, (int, float, str, bool)) and v != ""]
        findings = entry.get("findings") or []
        lines.append(f"- **{title}**" + (f" ({', '.join(facts)})" if facts else "") +
                     (":" if findings else ": no findings"))
        lines += [f"  - {_cell(_finding(f))}" for f in findings]
    if not audit.get("datasets"):
        lines.append("- no datasets audited")
    lines += ["", "Published-table checks (F1 against 2PR/(P+R), P = R = F1 for single-label tasks, values in [0, 1]):", ""]
    table = audit.get("published_table") or []
    if table:
        lines += _table(["Model", "Dataset", "Check", "Detail"],
                        [[f.get("model", ""), f.get("dataset", ""), f.get("check", ""), f.get("detail", "")] for f in table])
    else:
        lines += ["- no inconsistencies found", ""]
    return lines


def flatten(d: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if is_secret_key(str(k)):
            out[key] = REDACTED
        elif isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = redact_text(v if isinstance(v, str) else json.dumps(v, default=str))
    return out


def _receipts_section(receipts: dict[str, dict]) -> list[str]:
    lines = ["### Environment of the runs", ""]
    if not receipts:
        return lines + ["No run receipts (no cell was run here).", ""]
    groups: dict[str, list[str]] = {}
    for run_id, receipt in sorted(receipts.items()):
        groups.setdefault(json.dumps(flatten(receipt), sort_keys=True), []).append(run_id)
    for key, run_ids in groups.items():
        flat = json.loads(key)
        lines += [f"Runs {', '.join(f'`{r}`' for r in run_ids)}:", ""]
        lines += _table(["Key", "Value"], [[k, v] for k, v in flat.items()])
    return lines


def _tolerance_section(loaded: LoadedManifest) -> list[str]:
    from bioeval.manifest.summary import tolerance_rows

    lines = ["### Tolerances", "", "How far a reproduced value may be from the published one (the most specific rule "
             "wins).", ""]
    return lines + _table(["Applies to", "Rule", "Note"], [[r["applies_to"], r["rule"], r["note"]]
                                                           for r in tolerance_rows(loaded)])


def _datasets_section(loaded: LoadedManifest) -> list[str]:
    from bioeval.manifest.summary import dataset_rows

    rows = []
    for d in dataset_rows(loaded):
        records = ", ".join(f"{k} {v:,}" if v is not None else f"{k} ?" for k, v in d["records"].items())
        rows.append([d["key"] + (" (added)" if d["added"] else ""), d["paper_name"], d["task"], records,
                     "; ".join(d["notes"]) or "–"])
    return ["### Datasets", ""] + _table(["Key", "Name in the paper", "Task", "Records", "Notes"], rows)


def regression_section(regression: list[dict]) -> list[str]:
    """Added models per dataset: their value beside every published model's, and the paired
    difference against the model they replace (--like)."""
    lines = ["### New models on the paper's protocol", "",
             "Added models have no published values: their cells are compared, not verified (verdict NEW). "
             "Per dataset: the new model's value, every published model's value (published, and reproduced "
             "here where it was run), and the paired bootstrap difference against the model it replaces.", ""]
    for block in regression:
        lines += [f"#### {block['model']} ({block['metric'].upper()}" + (f", replaces {block['like']}" if block.get("like") else "")
                  + ")", ""]
        header = ["Dataset", f"{block['model']}", "Rank among published", "Best published", f"Δ vs {block.get('like') or '–'} (paired)", "n"]
        rows = []
        for d in block["datasets"]:
            pair = d.get("paired") or {}
            delta = "–" if pair.get("delta") is None else f"{pair['delta']:+.4f}"
            if pair.get("ci"):
                delta += f" [{pair['ci'][0]:+.4f}, {pair['ci'][1]:+.4f}]"
            if pair.get("verdict") in (Comparison.MISSING, Comparison.INVALID):
                delta = f"{pair['verdict'].lower()}: " + "; ".join(pair.get("notes", []))
            best = d["published"][0] if d["published"] else None
            rows.append([d["paper_dataset"], _num(d["observed"]), d["rank"] or "–",
                         f"{best['paper_model']} {_as_printed(best['expected'])}" if best else "–", delta,
                         pair.get("n_shared") or "–"])
        lines += _table(header, rows)
        for d in block["datasets"]:
            if d["published"]:
                cells = ", ".join(f"{p['paper_model']} {_as_printed(p['expected'])}"
                                  + (f" (here {p['observed']:.4f})" if p.get("observed") is not None else "")
                                  for p in d["published"])
                lines.append(f"- {d['paper_dataset']}: {block['model']} {_num(d['observed'])}; published: {cells}")
        lines.append("")
    return lines


def _verified_cells(loaded: LoadedManifest, verification: dict) -> dict:
    """(model, dataset) -> Cell: the cells verify resolved, or (a verification read back from
    JSON) the manifest's."""
    resolved = getattr(verification, "resolved", None)
    if resolved:
        return resolved
    from bioeval.manifest import cells as manifest_cells

    return {(c.model.key, c.dataset.key): c for c in manifest_cells(loaded)}


def baseline_section(loaded: LoadedManifest, verification: dict) -> list[str]:
    """Per dataset: each reproduced cell's F1 (fine-tuned or zero-shot) against the best trivial
    baseline on the instances it scored (verify/baseline.py): did a model learn anything?"""
    rows = [r for r in verification["cells"] if r["metric"] == "f1" and r.get("observed") is not None
            and r.get("baseline")]
    if not rows:
        return []
    mode = {pair: c.protocol.mode.value for pair, c in _verified_cells(loaded, verification).items()}
    margin = loaded.manifest.expected_min_over_baseline
    lines = ["### Against the trivial baselines", "",
             "Each reproduced F1 beside the best trivial baseline scored on the same test instances under the same "
             "scorer (the most frequent answer, the best constant answer chosen on those instances, or all-O tags)"
             + (f"; the manifest expects a margin of {margin.value:g}" if margin else "") + ".", ""]
    table = []
    for r in rows:
        b = r["baseline"]
        what = "all-O" if b["name"] == "all-O" else f"{b['name']}: {b['constant']!r}"
        if len(what) > 48:
            what = what[:45] + "..."
        table.append([r["paper_dataset"], r["paper_model"], mode.get((r["model"], r["dataset"]), "–"),
                      _num(r["observed"]), f"{_num(b['f1'])} ({what})", f"{r['observed'] - b['f1']:+.3f}", b["n"],
                      "–" if b.get("answer_parse_rate") is None else f"{100 * b['answer_parse_rate']:.0f}%",
                      "below the margin" if r.get("below_baseline_margin") else ""])
    return lines + _table(["Dataset", "Model", "Mode", "F1", "Best trivial baseline", "Over it", "n",
                           "Answers in the label set", ""], table)
