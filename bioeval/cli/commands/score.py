"""`bioeval score`: re-score saved predictions (a run folder, or a JSON-lines file)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bioeval.errors import UsageError
from bioeval.limits import BOOTSTRAP_SEED, CI_LEVEL, MAX_RESAMPLES, MAX_SEED, RESAMPLES


def _label_list(ctx, param, value: str | None) -> list[str] | None:
    """`O,B-Chemical,...` as a list; an empty name (`,,`, a trailing comma) is a usage error."""
    if value is None:
        return None
    labels = [x.strip() for x in value.split(",")]
    if not all(labels):
        raise click.BadParameter(f"{value!r} has an empty label name; give names separated by commas, "
                                 "e.g. O,B-Chemical,I-Chemical.")
    return labels


@click.command()
@click.argument("predictions", type=click.Path(path_type=Path))
@click.option("--scorer", "scorer_name", default=None,
              help="zhan2024-set-f1, ner-entity-f1 or binary-prf (default for a run folder: its spec.json's).")
@click.option("--labels", default=None, callback=_label_list, help="NER label map, index = tag id: O,B-Chemical,B-Disease,...")
@click.option("--positive", "positive", multiple=True, help="binary-prf: a phrase stating the positive class (repeatable).")
@click.option("--negative", "negative", multiple=True, help="binary-prf: a phrase stating the negative class (repeatable).")
@click.option("--resamples", default=None, type=click.IntRange(0, MAX_RESAMPLES),
              help="Bootstrap resamples (0: no interval; default 1000 or the run's).")
@click.option("--level", default=None, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Interval level, between 0 and 1 (default 0.95 or the run's).")
@click.option("--seed", default=None, type=click.IntRange(0, MAX_SEED), help="Bootstrap seed (default 0 or the run's).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def score(predictions: Path, scorer_name: str | None, labels: list[str] | None, positive: tuple, negative: tuple,
          resamples: int | None, level: float | None, seed: int | None, as_json: bool) -> None:
    """Score a run folder (scorer and labels from its spec.json) or a JSON-lines file of
    {"id", "completion" (or "prediction"), "reference", "prompt_truncated"?} (then --scorer is needed)."""
    if predictions.is_dir():
        from bioeval.runs.read import RunFolder
        from bioeval.verify.instances import score_run

        if labels or positive or negative:
            raise UsageError("--labels, --positive and --negative come from the run's spec.json for a run folder.",
                             f"Score {RunFolder(predictions).predictions_file} with --scorer to give them yourself.")
        scorer, result = score_run(predictions, scorer_name, resamples, level, seed)
        level = level if level is not None else CI_LEVEL
    else:
        from bioeval.scoring import get_scorer
        from bioeval.scoring.files import score_file

        if not scorer_name:
            raise UsageError(f"{predictions}: a predictions file needs --scorer.",
                             "Give --scorer zhan2024-set-f1|ner-entity-f1|binary-prf, or a run folder (its spec.json "
                             "names the scorer).")
        scorer = get_scorer(scorer_name, labels=labels, positive_phrases=list(positive),
                            negative_phrases=list(negative))
        level = CI_LEVEL if level is None else level
        result = score_file(scorer, predictions, resamples=RESAMPLES if resamples is None else resamples,
                            level=level, seed=seed or BOOTSTRAP_SEED)
    data = {"scorer": scorer.name, "level": level, **result.to_json()}
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    from bioeval.cli.render import render_score

    render_score(data, f"{predictions} ({scorer.name})")


COMMANDS = [score]
