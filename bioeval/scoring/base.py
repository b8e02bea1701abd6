"""What every scorer is: per-instance counts (correct, predicted, gold), summed into micro P/R/F1.

All scorers of the two papers are micro sums, so a scorer only has to say, for one instance,
how many predicted items were correct, how many it predicted and how many the gold has, or
``None`` when the instance is skipped.  Sums, bootstrap resampling and verification then
work the same for every scorer, and over arrays (fast for a million predictions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Protocol


class Prediction(NamedTuple):
    """One scored instance (a tuple, so reading a million of them stays cheap)."""

    id: str
    prediction: str
    reference: str
    prompt_truncated: bool = False


class Counts(NamedTuple):
    """One instance's contribution to the micro sums (a tuple: a million of them stay cheap)."""

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


@dataclass
class InstanceCounts:
    """Per-instance counts of the scored (not skipped) instances, in input order.

    ``rows`` holds one ``(correct, predicted, gold, invalid)`` tuple per scored instance and
    ``ids`` its instance id; the bootstrap turns the rows into a numpy array.
    """

    ids: list[str]
    rows: list[Counts]
    skipped: int = 0

    def total(self) -> Score:
        c = sum(r[0] for r in self.rows)
        p = sum(r[1] for r in self.rows)
        g = sum(r[2] for r in self.rows)
        invalid = sum(1 for r in self.rows if r[3])
        precision, recall, f1 = prf(c, p, g)
        return Score(precision, recall, f1, len(self.rows), self.skipped, invalid, c, p, g)


MEMO_LIMIT = 100_000


def instance_counts(scorer: Scorer, predictions: Iterable[Prediction]) -> InstanceCounts:
    """Counts of every instance.  Scorers are pure functions of (prediction, reference,
    prompt_truncated), and answers repeat a lot (label sets, class phrases), so identical
    instances are scored once; the memo stops growing at MEMO_LIMIT distinct answers."""
    ids: list[str] = []
    rows: list[Counts] = []
    skipped = 0
    counts = scorer.counts
    memo: dict[tuple, Counts | None] = {}
    for pred in predictions:
        key = (pred[1], pred[2], pred[3])
        k = memo.get(key, memo)
        if k is memo:
            k = counts(pred)
            if len(memo) < MEMO_LIMIT:
                memo[key] = k
        if k is None:
            skipped += 1
            continue
        ids.append(pred[0])
        rows.append(k)
    return InstanceCounts(ids, rows, skipped)

