"""`bioeval audit`: the paper's data and published tables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bioeval.errors import EXIT_OK, EXIT_VERIFY_FAILED


@click.command()
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the audit as JSON (stdout).")
@click.option("--strict", is_flag=True, help="Exit 1 when a count, a checksum or the published table is off.")
@click.option("--only", default=None, help="Restrict to some datasets: dataset=KEY[,dataset=KEY] (task= and model= too).")
@click.option("--tokenizer", default=None, type=click.Path(path_type=Path),
              help="tokenizer.json (or a folder with one) to count budget tokens exactly; else they are estimated.")
@click.pass_obj
def audit(settings, manifest: Path, as_json: bool, strict: bool, only: str | None, tokenizer: Path | None) -> None:
    """Audit a manifest's data and published table: counts vs the paper, sha256, label
    distributions, empty gold, feasibility and lattice of the published values, identical rows,
    label ceilings, split overlap, trivial baselines under both scorers, token budgets.
    Findings are listed most severe first (`--json`: the `findings` list)."""
    from bioeval.audit.datasets import audit_manifest
    from bioeval.audit.render import render_audit, strict_failures
    from bioeval.manifest import load_manifest

    loaded = load_manifest(manifest)
    report = audit_manifest(loaded, settings, only, tokenizer)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        render_audit(report)
    if strict and strict_failures(report):
        sys.exit(EXIT_VERIFY_FAILED)
    sys.exit(EXIT_OK)


COMMANDS = [audit]
