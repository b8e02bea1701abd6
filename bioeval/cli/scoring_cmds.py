"""score, verify, compare, report: scoring and checking against the paper (no torch, no GPU)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.errors import VerificationFailed


def _f(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def _ci(ci) -> str:
    return "-" if not ci else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


@click.command()
@click.argument("predictions", type=click.Path(path_type=Path))
@click.option("--scorer", "scorer_name", required=True, help="zhan2024-set-f1, ner-entity-f1 or binary-prf.")
@click.option("--labels", default=None, help="NER label map, index = tag id: O,B-Chemical,B-Disease,...")
@click.option("--positive", "positive", multiple=True, help="binary-prf: a phrase stating the positive class (repeatable).")
@click.option("--negative", "negative", multiple=True, help="binary-prf: a phrase stating the negative class (repeatable).")
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples (0: no interval).")
@click.option("--level", default=0.95, show_default=True, help="Interval level.")
@click.option("--seed", default=0, show_default=True, help="Bootstrap seed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def score(predictions: Path, scorer_name: str, labels: str | None, positive: tuple, negative: tuple,
          resamples: int, level: float, seed: int, as_json: bool) -> None:
    """Score a JSON-lines file of {"id", "prediction", "reference", "prompt_truncated"?}."""
    from bioeval.scoring import get_scorer
    from bioeval.scoring.files import score_file

    label_list = [x.strip() for x in labels.split(",")] if labels else None
    scorer = get_scorer(scorer_name, labels=label_list, positive_phrases=list(positive), negative_phrases=list(negative))
    result = score_file(scorer, predictions, resamples=resamples, level=level, seed=seed)
    data = {"scorer": scorer.name, **result.to_json()}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    from rich.table import Table

    from bioeval.cli.render import console

    t = Table(title=f"{predictions} ({scorer.name})", title_justify="left")
    for col in ("metric", "value", f"{int(level * 100)}% CI"):
        t.add_column(col, justify="right" if col != "metric" else "left")
    for m in ("precision", "recall", "f1"):
        t.add_row(m, _f(data[m]), _ci(result.ci.get(m)))
    console().print(t)
    console().print(f"n {result.n} scored, {result.skipped} skipped (truncated prompt), {result.invalid} invalid; "
                    f"correct {result.correct}, predicted {result.predicted}, gold {result.gold}")


@click.command()
@click.argument("manifest", type=click.Path(path_type=Path))
@click.option("--results", type=click.Path(path_type=Path), default=None,
              help="Results folder (<run_id>/scores.json ...); default: the global --workdir.")
@click.option("--only", default=None, help="Filter cells: model=KEY,dataset=KEY,task=NER.")
@click.option("--json", "as_json", is_flag=True, help="Print the verification as JSON.")
@click.option("--junit", type=click.Path(path_type=Path), default=None, help="Also write JUnit XML here.")
@click.option("--allow-missing", is_flag=True, help="Exit 0 when cells have no results (still exit 1 on a failed verdict).")
@click.option("--strict", is_flag=True, help="Exit 1 on any discrepant value (no multiplicity control).")
@click.pass_obj
def verify(settings, manifest: Path, results: Path | None, only: str | None, as_json: bool, junit: Path | None,
           allow_missing: bool, strict: bool) -> None:
    """Check saved results against the paper's values (no GPU): per value reproduced, discrepant,
    missing or invalid, and one global verdict with family-wise error control (Holm).

    Exit 1 when the global verdict is not-reproduced (with --strict: on any discrepant value),
    and on missing values unless --allow-missing.
    """
    from bioeval.manifest import load_manifest
    from bioeval.verify.verify import gate, verify_manifest

    loaded = load_manifest(manifest)
    _warn_no_results(results or settings.workdir)
    report = verify_manifest(loaded, results or settings.workdir, only)
    if junit:
        from bioeval.verify.junit import write_junit

        write_junit(report, junit)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _render_verify(report)
        if not report["cells"]:
            click.echo(click.style("note: ", fg="yellow") + f"{manifest} has no expected values for the selected "
                       "cells: nothing to verify.", err=True)
    failure = gate(report, strict=strict, allow_missing=allow_missing)
    if failure:
        raise VerificationFailed(failure, "Missing results only: pass --allow-missing."
                                 if report["summary"]["global_verdict"] == "reproduced" and not strict else None)


def _warn_no_results(results: Path) -> None:
    if not Path(results).is_dir():
        click.echo(click.style("warning: ", fg="yellow") + f"results folder {results} does not exist; every cell is "
                   "MISSING. Give --results DIR (or the global --workdir) where the runs were written.", err=True)


VERDICT_COLORS = {"reproduced": "green", "discrepant": "red", "missing": "yellow", "invalid": "magenta", "new": "cyan"}


def _interval(r: dict) -> str:
    if not r.get("interval"):
        return "-"
    lo, hi = r["interval"]
    return f"[{lo:.4f}, {hi:.4f}]"


def _render_verify(report: dict) -> None:
    from rich.table import Table

    from bioeval.cli.render import console

    by_task: dict[str, list[dict]] = {}
    for r in report["cells"]:
        by_task.setdefault(r["task"], []).append(r)
    for task, rows in by_task.items():
        t = Table(title=f"{task}: expected vs observed", title_justify="left")
        for col in ("model", "dataset", "metric", "expected", "observed", "delta", "interval", "p", "K", "n",
                    "verdict", "note"):
            t.add_column(col, justify="left" if col in ("model", "dataset", "metric", "verdict", "note") else "right",
                         overflow="fold")
        for r in rows:
            expected = _f(r["expected"]) + (f" {_ci(r['published_ci'])}" if r.get("published_ci") else "")
            note = "; ".join([r["rule"]] + r["notes"])
            if r.get("in_published_ci") is False:
                note = "outside published CI; " + note
            verdict = r["verdict"] + (f" ({r['direction']})" if r.get("direction") else "")
            if r.get("family_discrepant"):
                verdict += " *"
            p = "-" if r["p_value"] is None else f"{r['p_value']:.3g}"
            t.add_row(r["model"], r["dataset"], r["metric"], expected, _f(r["observed"]),
                      "-" if r["delta"] is None else f"{r['delta']:+.4f}", _interval(r), p, str(r["runs"]),
                      str(r["n"] or "-"), f"[{VERDICT_COLORS.get(r['verdict'], 'white')}]{verdict}[/]", note)
        console().print(t)
    s = report["summary"]
    color = "green" if s["global_verdict"] == "reproduced" else "red"
    console().print(f"[green]{s['reproduced']} reproduced[/green], [red]{s['discrepant']} discrepant[/red], "
                    f"[yellow]{s['missing']} missing[/yellow], [magenta]{s['invalid']} invalid[/magenta]  "
                    f"({report['manifest']} vs {report['results']})")
    console().print(f"expected false discrepancies under perfect reproduction: {s['expected_false_discrepancies']:g} "
                    f"of {s['tested']} tested value(s); discrepant after Holm (*): {s['family_discrepant']}")
    console().print(f"global verdict ({s['method']}, family-wise error {s['level']:g}): "
                    f"[bold {color}]{s['global_verdict']}[/]")


@click.command()
@click.argument("runs_a", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("runs_b", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--threshold", default=0.02, show_default=True, help="A cell regresses when B - A < -threshold.")
@click.option("--metric", type=click.Choice(["precision", "recall", "f1"]), default="f1", show_default=True)
@click.option("--resamples", default=1000, show_default=True, help="Paired bootstrap resamples.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare(runs_a: Path, runs_b: Path, threshold: float, metric: str, resamples: int, seed: int, as_json: bool) -> None:
    """Regression check: per cell B - A with a paired-bootstrap interval; exit 1 when a cell
    drops by more than --threshold (point delta)."""
    from bioeval.verify.compare import compare_results

    data = compare_results(runs_a, runs_b, metric, threshold, resamples=resamples, seed=seed)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        from rich.table import Table

        from bioeval.cli.render import console

        colors = {"OK": "green", "REGRESSED": "red", "IMPROVED": "cyan", "MISSING": "yellow"}
        t = Table(title=f"{metric}: {runs_b} (B) - {runs_a} (A), threshold {threshold}", title_justify="left")
        for col in ("model", "dataset", "A", "B", "delta", "95% CI", "n", "verdict", "note"):
            t.add_column(col, justify="right" if col in ("A", "B", "delta", "n") else "left", overflow="fold")
        for r in data["cells"]:
            t.add_row(str(r["model"]), str(r["dataset"]), _f(r["a"]), _f(r["b"]),
                      "-" if r["delta"] is None else f"{r['delta']:+.4f}", _ci(r["ci"]), str(r["n_shared"] or "-"),
                      f"[{colors[r['verdict']]}]{r['verdict']}[/]", "; ".join(r["notes"]))
        console().print(t)
    regressed = data["summary"]["regressed"]
    if regressed:
        raise VerificationFailed(f"{regressed} cell(s) dropped by more than {threshold} in {metric} from {runs_a} to {runs_b}.")


@click.command()
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--results", type=click.Path(path_type=Path), default=None,
              help="Results folder; default: the global --workdir.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the Markdown here (default: print it).")
@click.option("--figures", "figures_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write PNG figures here (default: <out's folder>/figures when --out is given).")
@click.option("--metric", type=click.Choice(["precision", "recall", "f1"]), default="f1", show_default=True,
              help="Metric of the figures.")
@click.pass_obj
def report(settings, manifests: tuple[Path, ...], results: Path | None, out: Path | None, figures_dir: Path | None,
           metric: str) -> None:
    """Markdown report (published | reproduced | delta | verdict per task, protocol ledger,
    deviations, data audit, run environments) with PNG figures. Several manifests make one
    document, one section each. Never fails on FAIL or MISSING (use `verify` for a gate)."""
    import datetime

    from bioeval import __version__
    from bioeval.manifest import load_manifest
    from bioeval.report.markdown import render_report
    from bioeval.runs import write_text
    from bioeval.verify.results import ResultIndex
    from bioeval.verify.verify import verify_manifest

    results = results or settings.workdir
    _warn_no_results(results)
    if figures_dir is None and out is not None:
        figures_dir = out.parent / "figures"
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    written: list[Path] = []
    sections = [f"# Reproduction report\n\nWritten by `bioeval report` (bioeval {__version__}) on {today} "
                f"from the results in `{results}`.\n"]
    for path in manifests:
        loaded = load_manifest(path)
        verification = verify_manifest(loaded, results)
        audit, note = _audit(loaded, settings)
        index = ResultIndex(results)
        receipts = {}
        for row in verification["cells"]:
            if row["matched_by"] and row["run_id"] in index.by_id and row["run_id"] not in receipts:
                receipt = _receipt(index.by_id[row["run_id"]])
                if receipt is not None:
                    receipts[row["run_id"]] = receipt
        figures = []
        if figures_dir is not None:
            from bioeval.report.figures import render_figures

            figures = render_figures(verification, figures_dir, loaded.path.stem, metric,
                                     title=loaded.manifest.paper.title)
            written += figures
        sections.append(render_report(loaded, verification, audit, receipts, figures,
                                      out.parent if out else None, note))
    text = "\n".join(sections)
    if out is None:
        click.echo(text)
    else:
        write_text(out, text)
        click.echo(f"wrote {out}" + (f" and {len(written)} figure(s) in {figures_dir}" if written else ""), err=True)


def _receipt(run_dir: Path) -> dict | None:
    from bioeval.verify.results import _read

    receipt = _read(run_dir / "receipt.json")
    return receipt if isinstance(receipt, dict) else None


def _audit(loaded, settings) -> tuple[dict | None, str | None]:
    """The data audit, or None with the reason: the report is written even without data."""
    from bioeval.errors import DataError

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


COMMANDS = [score, verify, compare, report]
