"""Stage 4 of the data's path: pure scoring functions over predictions (no torch)."""

from bioeval.scoring.base import Counts, InstanceCounts, Prediction, Score, instance_counts, prf, score
from bioeval.scoring.registry import SCORERS, get_scorer, scorer_for, scorer_from_spec

__all__ = ["Counts", "InstanceCounts", "Prediction", "Score", "instance_counts", "prf", "score", "SCORERS",
           "get_scorer", "scorer_for", "scorer_from_spec"]
