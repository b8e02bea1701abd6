"""Stage 4 of the data's path: pure scoring functions over predictions (no torch)."""

from bioeval.scoring.base import Counts, Prediction, Score, prf, score
from bioeval.scoring.registry import SCORERS, get_scorer

__all__ = ["Counts", "Prediction", "Score", "prf", "score", "SCORERS", "get_scorer"]
