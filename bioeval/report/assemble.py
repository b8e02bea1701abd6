"""Assemble a report: verification, data audit and run receipts of each manifest, then render.

`bioeval report` and `bioeval reproduce` call `write_report`; the HTML report reads the same
`collect` output, so both formats show the same facts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

from bioeval.errors import DataError


@dataclass
class Section:
    """Everything the report says about one manifest."""

    loaded: object
    verification: dict
    audit: dict | None
    audit_note: str | None
    receipts: dict[str, dict]
    runs: dict[str, Path] = field(default_factory=dict)  # run id -> run folder of the cells with results
    regression: list[dict] = field(default_factory=list)  # added models against the published ones


def receipt_of(run_dir: Path) -> dict | None:
    from bioeval.runs.read import RunFolder

    return RunFolder(run_dir).receipt()


def audit_of(loaded, settings) -> tuple[dict | None, str | None]:
    """The data audit, or None with the reason: the report is written even without data."""
    try:
        from bioeval.data.audit import audit_manifest
    except ModuleNotFoundError as exc:
        if exc.name != "bioeval.data.audit":
            raise
        return None, "this bioeval build has no data audit (bioeval.data.audit)"
    try:
        return audit_manifest(loaded, settings), None
    except DataError as exc:
        return None, str(exc)


def audit_gaps(audit: dict | None, note: str | None, settings) -> str | None:
    """Why the audit has no findings for some data, in words (None when it had all of it).

    On a fresh cache without --data-mirror the audit cannot read the paper's files; saying so
    keeps the report from silently losing its findings."""
    if audit is None:
        return f"the data audit was not run: {note}"
    absent = [f"{e.get('dataset', e.get('key', '?'))}/{e.get('split', '?')}" for e in audit.get("datasets", [])
              if e.get("available") is False]
    if not absent:
        return None
    mirror = "" if settings.data_mirror else " Pass --data-mirror DIR (or run `bioeval fetch MANIFEST`) first."
    return (f"the data audit could not read {len(absent)} split(s) ({', '.join(absent[:6])}"
            f"{', ...' if len(absent) > 6 else ''}): their findings are not in the report.{mirror}")


def collect(loaded, results: Path, settings, audit: bool = True) -> Section:
    from bioeval.verify.results import ResultIndex
    from bioeval.verify.verify import verify_manifest

    verification = verify_manifest(loaded, results)
    report_audit, note = audit_of(loaded, settings) if audit else (None, "not requested")
    index = ResultIndex(results)
    receipts: dict[str, dict] = {}
    runs: dict[str, Path] = {}
    rows = list(verification["cells"]) + list(verification.get("unexpected") or [])
    for row in rows:
        run_id = row.get("run_id")
        if row.get("verdict") == "invalid":  # a run that is not the cell's own (or cannot be read): no receipt, no drill-down
            continue
        if run_id in index.by_id and run_id not in runs and (row.get("matched_by") or row in verification.get("unexpected", [])):
            runs[run_id] = index.by_id[run_id]
            receipt = receipt_of(index.by_id[run_id])
            if receipt is not None:
                receipts[run_id] = receipt
    return Section(loaded, verification, report_audit, note, receipts, runs,
                   regression_blocks(loaded, verification, runs))


def regression_blocks(loaded, verification: dict, runs: dict[str, Path], metric: str = "f1") -> list[dict]:
    """Per added model and dataset: its value, every published model's value, its rank among them,
    and the paired difference (bootstrap interval) against the model it replaces (`like`)."""
    from bioeval.verify.compare import compare_cell

    rows = [r for r in verification["cells"] if r["metric"] == metric]
    blocks = []
    for model in (m for m in loaded.manifest.models if m.added):
        datasets = []
        for r in (r for r in rows if r["model"] == model.key):
            published = sorted((p for p in rows if p["dataset"] == r["dataset"] and p.get("expected") is not None),
                               key=lambda p: -p["expected"])
            entry = {"dataset": r["dataset"], "paper_dataset": r["paper_dataset"], "task": r["task"],
                     "observed": r["observed"], "observed_ci": r.get("observed_ci"), "verdict": r["verdict"],
                     "run_id": r["run_id"] if r["run_id"] in runs else None,
                     "published": [{k: p.get(k) for k in ("model", "paper_model", "expected", "observed", "verdict")}
                                   for p in published],
                     "rank": None, "paired": None}
            if r["observed"] is not None and published:
                better = sum(p["expected"] > r["observed"] for p in published)
                entry["rank"] = f"{better + 1} of {len(published) + 1}"
            if model.like:
                old = next((p for p in rows if p["model"] == model.like and p["dataset"] == r["dataset"]), None)
                old_run = runs.get(old["run_id"]) if old else None
                entry["paired"] = compare_cell(old_run, runs.get(r["run_id"]), metric)
                entry["paired"]["model"], entry["paired"]["model_b"] = model.like, model.key
            datasets.append(entry)
        blocks.append({"model": model.key, "like": model.like, "metric": metric, "datasets": datasets})
    return blocks


def regression_figures(regression: list[dict], out_dir: Path, stem: str) -> list[Path]:
    from bioeval.report.figures import regression_figure

    paths = [regression_figure(block, Path(out_dir) / f"{stem}-new-{block['model']}-{block['metric']}.png")
             for block in regression]
    return [p for p in paths if p is not None]


def header(results: Path) -> str:
    from bioeval import __version__

    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"# Reproduction report\n\nWritten by `bioeval report` (bioeval {__version__}) on {today} "
            f"from the results in `{results}`.\n")


def markdown_report(sections: list[Section], results: Path, out: Path | None = None,
                    figures_dir: Path | None = None, metric: str = "f1") -> tuple[str, list[Path]]:
    """The Markdown document and the PNG figures written beside it."""
    from bioeval.report.markdown import render_report

    written: list[Path] = []
    parts = [header(results)]
    for s in sections:
        figures = []
        if figures_dir is not None:
            from bioeval.report.figures import render_figures

            figures = render_figures(s.verification, figures_dir, s.loaded.path.stem, metric,
                                     title=s.loaded.manifest.paper.title)
            figures += regression_figures(s.regression, figures_dir, s.loaded.path.stem)
            written += figures
        parts.append(render_report(s.loaded, s.verification, s.audit, s.receipts, figures,
                                   out.parent if out else None, s.audit_note, s.regression))
    return "\n".join(parts), written


def write_report(manifests, results: Path, settings, out: Path | None = None, figures_dir: Path | None = None,
                 metric: str = "f1", html: Path | None = None, add_models=(), like: str | None = None,
                 loaded_list=None) -> dict:
    """Collect and write the Markdown (and, with ``html``, the self-contained HTML) report.

    Returns {"markdown": text, "figures": [paths], "html": path or None, "warnings": [text]}.
    """
    from bioeval.runs import write_text

    if loaded_list is None:
        from bioeval.manifest.extend import load_with_additions

        loaded_list = [load_with_additions(p, add_models, like) for p in manifests]
    from bioeval.runs.atomic import check_target

    for target in (out, html):  # before the figures: `--out /dev/full` must not create /dev/figures
        if target is not None:
            check_target(target)
    if figures_dir is None and out is not None:
        figures_dir = out.parent / "figures"
    sections = [collect(loaded, results, settings) for loaded in loaded_list]
    warnings = [f"{s.loaded.path}: {gap}" for s in sections if (gap := audit_gaps(s.audit, s.audit_note, settings))]
    text, written = markdown_report(sections, results, out, figures_dir, metric)
    if out is not None:
        write_text(out, text)
    if html is not None:
        from bioeval.report.html import render_html

        write_text(html, render_html(sections, results, metric))
    return {"markdown": text, "figures": written, "html": html, "warnings": warnings, "sections": sections}


def report_is_current(report_path: Path, manifest: Path, cells, settings) -> bool:
    """Newer than the manifest and every cell's scores: rewriting it (matplotlib) would change nothing."""
    from bioeval.runs.read import RunFolder

    if not report_path.is_file():
        return False
    inputs = [Path(manifest)] + [RunFolder.of(settings.workdir, c.run_id).scores_file for c in cells]
    if not all(p.is_file() for p in inputs):
        return False
    return report_path.stat().st_mtime >= max(p.stat().st_mtime for p in inputs)
