"""Data commands: `fetch`, `audit`, `lock` (library code in bioeval.data and bioeval.manifest.lock)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bioeval.errors import EXIT_OK, EXIT_RUNTIME, EXIT_VERIFY_FAILED

MANIFEST = click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@click.command()
@MANIFEST
@click.option("--only", default=None, help="Restrict to some datasets: dataset=KEY[,dataset=KEY] (model= and task= too).")
@click.option("--data-only", is_flag=True, help="Fetch the data splits but not the model snapshots.")
@click.pass_obj
def fetch(settings, manifest: Path, only: str | None, data_only: bool) -> None:
    """Fetch every data file and model snapshot a manifest needs, pinned and checked.

    Data: cache, mirror, url, hf or local, sha256-checked. Models: Hugging Face snapshots at
    their pinned revisions (HF_TOKEN for gated repos), or the shipped local folder.
    Prints what came from where; exits 3 when a required file is missing or refused.
    """
    from bioeval.cli.render import console
    from bioeval.data.fetch_all import fetch_all, render_fetch
    from bioeval.manifest import load_manifest

    loaded = load_manifest(manifest)
    rows = fetch_all(loaded, settings, only)
    if not data_only:
        from bioeval.engine.model_fetch import fetch_model_rows  # huggingface_hub only, no torch

        rows += fetch_model_rows(loaded, settings, only)
    render_fetch(rows, console())
    missing = [r for r in rows if not r["ok"]]
    if missing:
        console(stderr=True).print(f"[red]{len(missing)} required file(s) missing or refused[/red]; see the table above.")
        sys.exit(EXIT_RUNTIME)
    sys.exit(EXIT_OK)


@click.command()
@MANIFEST
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
    from bioeval.data.audit import audit_manifest
    from bioeval.data.audit_render import render_audit, strict_failures
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


@click.command()
@MANIFEST
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if lock would change the manifest.")
@click.pass_obj
def lock(settings, manifest: Path, check: bool) -> None:
    """Pin a manifest: resolve Hub branches/tags to commits, confirm model revisions, fill missing sha256.

    Writes the result back in place, keeping comments and layout. Needs the network (or
    HF_ENDPOINT pointing at a Hub mirror; files can also come from --data-mirror).
    """
    from bioeval.cli.render import console
    from bioeval.manifest.lock import lock_manifest, render_lock

    result = lock_manifest(manifest, settings, write=not check)
    render_lock(result, console(), check)
    if result.problems:
        sys.exit(EXIT_RUNTIME)
    if check and result.changes:
        sys.exit(EXIT_VERIFY_FAILED)
    sys.exit(EXIT_OK)


COMMANDS = [fetch, audit, lock]
