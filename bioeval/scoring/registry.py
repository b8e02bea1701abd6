"""Scorers by name, imported lazily so `bioeval score` pays only for the scorer it uses."""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING

from bioeval.errors import UsageError
from bioeval.scoring.base import Scorer

if TYPE_CHECKING:
    from bioeval.manifest.schema import Dataset, Protocol, ScoringSpec

# name -> "module:factory"; factories take keyword options (labels, phrases) and ignore none
SCORERS: dict[str, str] = {
    "zhan2024-set-f1": "bioeval.scoring.set_f1:SetF1",
    "ner-entity-f1": "bioeval.scoring.ner_f1:NerEntityF1",
    "binary-prf": "bioeval.scoring.binary:BinaryPRF",
    "label-accuracy": "bioeval.scoring.label_accuracy:LabelAccuracy",
}


def get_scorer(name: str, **options) -> Scorer:
    if name not in SCORERS:
        close = difflib.get_close_matches(name, list(SCORERS), n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise UsageError(f"unknown scorer {name!r}.", f"{hint}Known scorers: {', '.join(sorted(SCORERS))}.")
    module, _, attr = SCORERS[name].partition(":")
    factory = getattr(importlib.import_module(module), attr)
    return factory(**options)


def scorer_for(protocol: "Protocol | ScoringSpec", dataset: "Dataset") -> Scorer:
    """The scorer a cell uses, with its options from the protocol (or its scoring section) and the dataset."""
    scoring = getattr(protocol, "scoring", protocol)
    return get_scorer(scoring.scorer.value, **options_for(
        scoring.positive_phrases.value, scoring.negative_phrases.value, dataset.labels))


def scorer_from_spec(spec: dict, name: str | None = None) -> Scorer:
    """The same from a run's spec.json (what `compare` and re-scoring have without a manifest)."""
    scoring = spec.get("protocol", {}).get("scoring", {})
    name = name or scoring.get("scorer")
    if not name:
        raise UsageError("the run's spec.json names no scorer (protocol.scoring.scorer).",
                         "Re-create the run with a current bioeval, or score it with `bioeval score --scorer`.")
    return get_scorer(name, **options_for(scoring.get("positive_phrases") or [], scoring.get("negative_phrases") or [],
                                          spec.get("dataset", {}).get("labels")))


def options_for(positive, negative, labels) -> dict:
    return {"positive_phrases": list(positive or []), "negative_phrases": list(negative or []),
            "labels": list(labels) if labels else None}
