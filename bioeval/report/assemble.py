"""Assemble a report from each manifest's verification, data audit and run receipts, then render.

`bioeval report` and `bioeval reproduce` verify, then call `write_report` with what
`verify_manifest` returned: the report reads no run file that verify did not read (its
RunFolders come with the verification) and never verifies again.  The HTML report reads the
same `collect` output and the same rendered figures, so both formats show the same facts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bioeval.errors import DataError

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.settings import Settings


@dataclass
class Section:
    """Everything the report says about one manifest."""

    manifest: LoadedManifest
    verification: dict
    audit: dict | None
    audit_note: str | None
    receipts: dict[str, dict]
    runs: dict[str, object] = field(default_factory=dict)  # run id -> RunFolder of the cells with results
    regression: list[dict] = field(default_factory=list)  # added models against the published ones


def audit_of(loaded: LoadedManifest, settings: Settings) -> tuple[dict | None, str | None]:
    """The data audit, or None with the reason: the report is written even without data."""
    try:
        from bioeval.audit.datasets import audit_manifest
    except ModuleNotFoundError as exc:
        if exc.name != "bioeval.audit.datasets":
            raise
        return None, "this bioeval build has no data audit (bioeval.audit.datasets)"
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


def collect(loaded: LoadedManifest, verification: dict, settings: Settings, audit: bool = True) -> Section:
    """The report's facts about one manifest from its ``verification`` (verify_manifest's result;
    a plain dict of that shape, e.g. read back from `verify --json`, has its runs looked up again)."""
    from bioeval.verify.verdicts import Verdict
    from bioeval.verify.verify import Verification

    if not isinstance(verification, Verification):
        from bioeval.verify.results import ResultIndex

        verification = Verification(verification, ResultIndex(verification["results"]))
    report_audit, note = audit_of(loaded, settings) if audit else (None, "not requested")
    receipts: dict[str, dict] = {}
    runs: dict[str, object] = {}
    rows = list(verification["cells"]) + list(verification.get("unexpected") or [])
    for row in rows:
        run_id = row.get("run_id")
        if row.get("verdict") == Verdict.INVALID:  # a run that is not the cell's own (or cannot be read): no receipt, no drill-down
            continue
        folder = verification.folder(run_id) if run_id not in runs else None
        if folder is not None and (row.get("matched_by") or row in verification.get("unexpected", [])):
            runs[run_id] = folder
            receipt = folder.receipt()
            if receipt is not None:
                receipts[run_id] = receipt.raw
    return Section(loaded, verification, report_audit, note, receipts, runs,
                   regression_blocks(loaded, verification, runs))


def regression_blocks(loaded, verification: dict, runs: dict[str, object], metric: str = "f1") -> list[dict]:
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


def section_figures(s: Section, figures_dir: Path, metric: str = "f1") -> list[Path]:
    """The PNG figures of one section, rendered into ``figures_dir``."""
    from bioeval.report.figures import render_figures

    figures = render_figures(s.verification, figures_dir, s.manifest.path.stem, metric,
                             title=s.manifest.manifest.paper.title)
    return figures + regression_figures(s.regression, figures_dir, s.manifest.path.stem)


def markdown_report(sections: list[Section], results: Path, out: Path | None = None,
                    figures: list[list[Path]] | None = None) -> str:
    """The Markdown document; ``figures``: each section's PNGs, linked from it (None: no figures)."""
    from bioeval.report.markdown import render_report

    parts = [header(results)]
    for i, s in enumerate(sections):
        parts.append(render_report(s.manifest, s.verification, s.audit, s.receipts, figures[i] if figures else [],
                                   out.parent if out else None, s.audit_note, s.regression))
    return "\n".join(parts)


def write_report(verifications: list, loaded_list: list, results: Path, settings, out: Path | None = None,
                 figures_dir: Path | None = None, metric: str = "f1", html: Path | None = None) -> dict:
    """Write the Markdown (and, with ``html``, the self-contained HTML) report of the manifests in
    ``loaded_list`` from their ``verifications`` (verify_manifest's results, in the same order).
    Figures are rendered once: the HTML embeds the PNGs the Markdown links.

    Returns {"markdown": text, "figures": [paths], "html": path or None, "warnings": [text]}.
    """
    import tempfile

    from bioeval.runs import write_text
    from bioeval.runs.atomic import check_target

    for target in (out, html):  # before the figures: `--out /dev/full` must not create /dev/figures
        if target is not None:
            check_target(target)
    if figures_dir is None and out is not None:
        figures_dir = out.parent / "figures"
    sections = [collect(loaded, v, settings) for loaded, v in zip(loaded_list, verifications)]
    warnings = [f"{s.manifest.path}: {gap}" for s in sections if (gap := audit_gaps(s.audit, s.audit_note, settings))]
    with tempfile.TemporaryDirectory() as tmp:  # the HTML's figures when the Markdown has none
        where = figures_dir if figures_dir is not None else Path(tmp) if html is not None else None
        figures = [section_figures(s, where, metric) for s in sections] if where is not None else None
        text = markdown_report(sections, results, out, figures if figures_dir is not None else None)
        if out is not None:
            write_text(out, text)
        if html is not None:
            from bioeval.report.html import render_html

            write_text(html, render_html(sections, results, metric, figures))
    written = [p for fs in figures or [] for p in fs] if figures_dir is not None else []
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
