"""What every scorer is: per-instance counts (correct, predicted, gold), summed into micro P/R/F1.

All scorers of the two papers are micro sums, so a scorer only has to say, for one instance,
how many predicted items were correct, how many it predicted and how many the gold has, or
``None`` when the instance is skipped.  Sums, bootstrap resampling and verification then
work the same for every scorer, and over arrays (fast for a million predictions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Protocol


@dataclass(frozen=True)
class Prediction:
    id: str
    prediction: str
    reference: str
    prompt_truncated: bool = False


@dataclass(frozen=True)
class Counts:
    correct: int
    predicted: int
    gold: int
    invalid: bool = False  # an answer the scorer could not parse (counted, not skipped)


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    n: int  # instances scored
    skipped: int = 0
    invalid: int = 0
    correct: int = 0
    predicted: int = 0
    gold: int = 0
    ci: dict = field(default_factory=dict)

    def metrics(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1}

    def to_json(self) -> dict:
        return {"precision": self.precision, "recall": self.recall, "f1": self.f1, "n": self.n,
                "skipped": self.skipped, "invalid": self.invalid, "correct": self.correct,
                "predicted": self.predicted, "gold": self.gold, "ci": self.ci}


def prf(correct: float, predicted: float, gold: float) -> tuple[float, float, float]:
    """Micro precision, recall, F1; all zero when nothing is correct (as the authors' code)."""
    if correct == 0:
        return 0.0, 0.0, 0.0
    p = correct / predicted
    r = correct / gold
    return p, r, 2 * p * r / (p + r)


class Scorer(Protocol):
    name: str

    def counts(self, pred: Prediction) -> Counts | None: ...


def score(scorer: Scorer, predictions: Iterable[Prediction]) -> Score:
    c = p = g = n = skipped = invalid = 0
    for pred in predictions:
        k = scorer.counts(pred)
        if k is None:
            skipped += 1
            continue
        n += 1
        c += k.correct
        p += k.predicted
        g += k.gold
        invalid += k.invalid
    precision, recall, f1 = prf(c, p, g)
    return Score(precision, recall, f1, n, skipped, invalid, c, p, g)


ScorerFactory = Callable[..., Scorer]
