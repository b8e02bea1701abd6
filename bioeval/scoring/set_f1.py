"""`zhan2024-set-f1`: the scorer of Zhan et al.'s public code (PROTOCOL.md 1.1), reproduced exactly.

First line of the completion, stripped; split on ", " into a set; the gold response split the
same way (an empty gold is the set {""}); micro sums over instances.  An instance whose prompt
lost the response marker (truncated) is skipped entirely, its gold included.
"""

from __future__ import annotations

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
        predicted = set(first_line(pred.prediction).split(", "))
        gold = set(pred.reference.split(", "))
        return Counts(len(predicted & gold), len(predicted), len(gold))
