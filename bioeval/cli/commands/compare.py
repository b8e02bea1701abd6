"""`bioeval compare`: regression check between two results folders (or two models in one)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.errors import VerificationFailed
from bioeval.limits import MAX_RESAMPLES, MAX_SEED
from bioeval.verify.verdicts import Comparison


@click.command()
@click.argument("runs_a", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("runs_b", type=click.Path(path_type=Path, exists=True, file_okay=False), required=False)
@click.option("--pair", "pair", multiple=True, metavar="OLD=NEW",
              help="Pair model OLD's cells in A with model NEW's in B, per dataset (repeatable). B defaults to A.")
@click.option("--threshold", default=0.02, show_default=True, type=click.FloatRange(0, 1), help="A cell regresses when B - A < -threshold.")
@click.option("--metric", type=click.Choice(["precision", "recall", "f1"]), default="f1", show_default=True)
@click.option("--resamples", default=1000, show_default=True, type=click.IntRange(0, MAX_RESAMPLES),
              help="Paired bootstrap resamples.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, MAX_SEED))
@click.option("--instances", is_flag=True, help="Also list the instances whose outcome flipped, and in which direction.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare(runs_a: Path, runs_b: Path | None, pair: tuple, threshold: float, metric: str, resamples: int, seed: int,
            instances: bool, as_json: bool) -> None:
    """Regression check: per cell B - A with a paired-bootstrap interval.

    Exit 1 when a cell drops by more than --threshold (point delta) or a run is INVALID;
    exit 2 when no cell could be paired at all.
    """
    from bioeval.errors import UsageError
    from bioeval.verify.compare import compare_results, parse_pairs

    pairs = parse_pairs(pair)
    if runs_b is None:
        if not pairs:
            raise UsageError("compare needs two results folders, or one with --pair OLD=NEW.",
                             "Example: bioeval compare old-runs new-runs; bioeval compare runs --pair phi-4=mynew")
        runs_b = runs_a
    data = compare_results(runs_a, runs_b, metric, threshold, resamples=resamples, seed=seed, pairs=pairs)
    if instances:
        from bioeval.verify.instances import flips

        for r in data["cells"]:
            if r["path_a"] and r["path_b"] and r["verdict"] != Comparison.INVALID:
                try:
                    r["flips"] = flips(r["path_a"], r["path_b"])
                except UsageError as exc:
                    r["notes"].append(f"instances not listed: {exc}")
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        from bioeval.cli.render import render_compare

        render_compare(data)
    s = data["summary"]
    if s["regressed"] or s["invalid"]:
        what = ", ".join(f"{old} ({runs_a}) to {new} ({runs_b})" for old, new in pairs.items()) or f"{runs_a} to {runs_b}"
        raise VerificationFailed(f"{s['regressed']} cell(s) dropped by more than {threshold} in {metric}, "
                                 f"{s['invalid']} invalid, from {what}.")


COMMANDS = [compare]
