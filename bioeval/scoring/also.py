"""Further scorers reported beside the protocol's own (``scoring.also``): e.g. the canonical
entity-level F1 for NER next to the authors' set-F1.  Same predictions file, same skip rule,
same bootstrap, built inside ``build_scores`` so `verify` re-derives it like the main metrics;
only the protocol's scorer is verified against expected values."""

from __future__ import annotations

from bioeval.limits import BOOTSTRAP_SEED, CI_LEVEL, RESAMPLES
from bioeval.scoring.files import PredictionTable, score_table
from bioeval.scoring.registry import get_scorer, options_for


def also_from_spec(spec: dict, table: PredictionTable, resamples: int = RESAMPLES, level: float = CI_LEVEL,
                   seed: int = BOOTSTRAP_SEED) -> dict:
    """{scorer name: {metrics, ci, n, skipped, invalid}} for the names in the spec's scoring.also."""
    sc = (spec.get("protocol") or {}).get("scoring") or {}
    options = options_for(sc.get("positive_phrases") or [], sc.get("negative_phrases") or [],
                          (spec.get("dataset") or {}).get("labels"))
    out = {}
    for name in sc.get("also") or []:
        s = score_table(get_scorer(name, **options), table, resamples=resamples, level=level, seed=seed)
        out[name] = {"metrics": s.metrics(), "ci": s.ci, "n": s.n, "skipped": s.skipped, "invalid": s.invalid}
    return out
