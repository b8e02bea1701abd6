"""`label-accuracy`: the canonical score of a label task: is the answer the gold label?

The authors' set-F1 splits answers on ", " and gives partial credit; the usual measure for
relation classification and text classification is plain accuracy over instances.  Answers
and gold are compared after light normalisation (case, surrounding whitespace, quotes and a
final full stop; a ", "-separated answer is compared as a set of labels, so a multi-label
answer in another order still counts).  One count per instance: P = R = F1 = accuracy.
An instance whose prompt was truncated is skipped, as in every scorer of the kit.
"""

from __future__ import annotations

import re

from bioeval.scoring.base import Counts, Prediction
from bioeval.scoring.set_f1 import first_line

_SPACE = re.compile(r"\s+")


def normalize_labels(text: str) -> frozenset[str]:
    text = _SPACE.sub(" ", text.strip().lower()).strip(" .\"'")
    return frozenset(part.strip(" .\"'") for part in text.split(","))


class LabelAccuracy:
    name = "label-accuracy"

    def __init__(self, **_ignored):  # options of other scorers (labels, phrases) do not apply
        pass

    def counts(self, pred: Prediction) -> Counts | None:
        if pred.prompt_truncated:
            return None
        correct = normalize_labels(first_line(pred.prediction)) == normalize_labels(pred.reference)
        return Counts(int(correct), 1, 1)
