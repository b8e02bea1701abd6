"""`zhan2024-set-f1`: the scorer of Zhan et al.'s public code (PROTOCOL.md 1.1), reproduced exactly.

First line of the completion, stripped; split on ", " into a set; the gold response split the
same way (an empty gold is the set {""}); micro sums over instances.  An instance whose prompt
lost the response marker (truncated) is skipped entirely, its gold included.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from bioeval.scoring.base import Counts, Prediction


def first_line(completion: str) -> str:
    return completion.split("\n", 1)[0].strip()


class SetF1:
    name = "zhan2024-set-f1"

    def __init__(self, **_ignored):  # options of other scorers (labels, phrases) do not apply
        pass

    def counts(self, pred: Prediction) -> Counts | None:
        if pred.prompt_truncated:
            return None
        return Counts(*_counts(pred.prediction, pred.reference)[:3])

    def counts_many(self, answers, references, skip=None) -> np.ndarray:
        """(k, 4) counts of k pairs in one C-driven loop (re-scoring files): no Prediction objects,
        no deduplication (it cost more than it saved once answers are mostly distinct)."""
        flat = chain.from_iterable(map(_counts, answers, references))
        return np.fromiter(flat, dtype=np.int64, count=4 * len(answers)).reshape(len(answers), 4)


def _counts(answer: str, reference: str) -> tuple[int, int, int, int]:
    predicted = set(answer.split("\n", 1)[0].strip().split(", "))  # first_line, inlined: a million calls
    gold = set(reference.split(", "))
    return len(predicted & gold), len(predicted), len(gold), 0
