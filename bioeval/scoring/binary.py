"""`binary-prf`: precision, recall and F1 of the positive class (Guo & Sarker 2025).

Their prompts (Table 2) tell the model which sentence to state, e.g. "the tweet is
self-reporting breast cancer" or "the tweet is not self-reporting ...".  An answer is mapped
to a label by looking for those phrases, case-insensitively and with whitespace collapsed.
Negative phrases are checked first: "is not self-reporting X" contains the words of the
positive phrase too.

An answer that states neither phrase is *invalid* (the paper counts invalid answers).  It is
scored as a negative prediction (it never claims the positive class, so it adds no true or
false positive, and a positive gold becomes a miss) and is counted in ``Score.invalid``.

Gold references may be a stated phrase or a plain label: 1/0, true/false, yes/no,
positive/negative (case-insensitive).
"""

from __future__ import annotations

import re

from bioeval.errors import UsageError
from bioeval.scoring.base import Counts, Prediction

_SPACE = re.compile(r"\s+")
POSITIVE_LABELS = {"1", "true", "yes", "positive", "pos"}
NEGATIVE_LABELS = {"0", "false", "no", "negative", "neg"}


def normalize(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower().strip(".\"'"))


class BinaryPRF:
    name = "binary-prf"

    def __init__(self, positive_phrases=(), negative_phrases=(), **_ignored):
        self.positive = tuple(normalize(p) for p in positive_phrases if p.strip())
        self.negative = tuple(normalize(p) for p in negative_phrases if p.strip())
        if not self.positive or not self.negative:
            raise UsageError("scorer binary-prf needs the prompt's answer phrases.",
                             "Set protocol.scoring.positive_phrases and negative_phrases in the manifest, "
                             "or give `--positive PHRASE --negative PHRASE` to `bioeval score`.")

    def label(self, text: str) -> bool | None:
        """True/False for an answer stating a positive/negative phrase; None when it states neither."""
        t = _SPACE.sub(" ", text.lower())
        if any(p in t for p in self.negative):
            return False
        if any(p in t for p in self.positive):
            return True
        return None

    def gold(self, pred: Prediction) -> bool:
        ref = normalize(pred.reference)
        if ref in POSITIVE_LABELS:
            return True
        if ref in NEGATIVE_LABELS:
            return False
        value = self.label(ref)
        if value is None:
            raise UsageError(f"instance {pred.id!r}: reference {pred.reference[:80]!r} is neither a label "
                             "(1/0, yes/no, true/false, positive/negative) nor one of the stated phrases.",
                             "Fix the reference column, or the scoring phrases in the manifest.")
        return value

    def counts(self, pred: Prediction) -> Counts | None:
        if pred.prompt_truncated:
            return None
        gold = self.gold(pred)
        answer = self.label(pred.prediction)
        positive = answer is True
        return Counts(int(positive and gold), int(positive), int(gold), answer is None)
