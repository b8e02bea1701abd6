"""Further scorers reported beside the protocol's own (``scoring.also``): e.g. the canonical
entity-level F1 for NER next to the authors' set-F1.  Same predictions, same skip rule, same
bootstrap; only the protocol's scorer is verified against expected values."""

from __future__ import annotations

from typing import Sequence

from bioeval.scoring.base import Prediction
from bioeval.scoring.files import score_with_ci
from bioeval.scoring.registry import get_scorer, options_for


def also_block(names: Sequence[str], predictions: Sequence[Prediction], *, positive=(), negative=(), labels=None,
               resamples: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """{scorer name: {metrics, ci, n, skipped, invalid}} for scores.json's "also" block."""
    out = {}
    for name in names:
        scorer = get_scorer(name, **options_for(positive, negative, labels))
        result = score_with_ci(scorer, predictions, resamples=resamples, level=level, seed=seed)
        out[name] = {"metrics": result.metrics(), "ci": result.ci, "n": result.n, "skipped": result.skipped,
                     "invalid": result.invalid}
    return out


def also_for_cell(protocol, dataset, predictions: Sequence[Prediction]) -> dict:
    sc = protocol.scoring
    return also_block(sc.also.value, predictions, positive=sc.positive_phrases.value,
                      negative=sc.negative_phrases.value, labels=dataset.labels,
                      resamples=sc.bootstrap_resamples.value, level=sc.ci_level.value, seed=sc.bootstrap_seed.value)


def also_from_spec(spec: dict, predictions: Sequence[Prediction]) -> dict:
    """The same from a run's spec.json (re-scoring a run without its manifest)."""
    sc = spec.get("protocol", {}).get("scoring", {})
    return also_block(sc.get("also") or [], predictions, positive=sc.get("positive_phrases") or [],
                      negative=sc.get("negative_phrases") or [], labels=spec.get("dataset", {}).get("labels"),
                      resamples=sc.get("bootstrap_resamples", 1000), level=sc.get("ci_level", 0.95),
                      seed=sc.get("bootstrap_seed", 0))
