"""`bioeval report`: the Markdown report (and the self-contained HTML report)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.cli.options import add_model_options


@click.command()
@click.argument("manifests", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--results", type=click.Path(path_type=Path), default=None,
              help="Results folder (a workdir, or one run's folder); default: the global --workdir.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the Markdown here (default, or `-`: print it).")
@click.option("--figures", "figures_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write PNG figures here (default: <out's folder>/figures when --out is given).")
@click.option("--html", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write one self-contained HTML file (data, figures and script inline; opens from disk; "
                   "`-`: print it).")
@click.option("--metric", type=click.Choice(["precision", "recall", "f1"]), default="f1", show_default=True,
              help="Metric of the figures.")
@add_model_options
@click.option("--json", "as_json", is_flag=True, help="Print what was written, and the verification, as JSON.")
@click.pass_obj
def report(settings, manifests: tuple[Path, ...], results: Path | None, out: Path | None, figures_dir: Path | None,
           html: Path | None, metric: str, add_model: tuple, like: str | None, as_json: bool) -> None:
    """Markdown report (published | reproduced | delta | verdict per task, protocol ledger,
    tolerances, deviations, data audit, run environments) with PNG figures. Several manifests
    make one document, one section each. Never fails on discrepant or missing values (use `verify` for a gate)."""
    from bioeval.manifest.extend import load_with_additions
    from bioeval.report.assemble import write_report
    from bioeval.verify.gate import results_folder
    from bioeval.verify.verify import verify_manifest

    folder = results_folder(results or settings.workdir)
    out = None if out == Path("-") else out  # printing is what no --out does
    loaded_list = [load_with_additions(p, add_model, like) for p in manifests]
    verifications = [verify_manifest(loaded, folder) for loaded in loaded_list]
    written = write_report(verifications, loaded_list, folder, settings, out=out, figures_dir=figures_dir,
                           metric=metric, html=html)
    for w in written["warnings"]:
        click.echo(click.style("warning: ", fg="yellow") + w, err=True)
    if as_json:
        click.echo(json.dumps({"markdown": str(out) if out else None, "html": str(html) if html else None,
                               "figures": [str(p) for p in written["figures"]], "warnings": written["warnings"],
                               "verifications": [s.verification for s in written["sections"]]}, indent=2))
    elif out is None:
        click.echo(written["markdown"])
    if out is not None or html is not None:
        what = [str(p) for p in (out, html) if p is not None]
        figs = written["figures"]
        click.echo(f"wrote {' and '.join(what)}" + (f" with {len(figs)} figure(s) in {figs[0].parent}" if figs else ""),
                   err=True)


COMMANDS = [report]
