"""`binary-prf`: precision, recall and F1 of the positive class (Guo & Sarker 2025).

Their prompts (Table 2) tell the model which sentence to state, e.g. "the tweet is
self-reporting breast cancer" or "the tweet is not self-reporting ...".  The paper gives no
rule beyond that, so the mapping (``map_answer``, a pure function) is ours, labelled
``assumed`` in the manifest:

1. reasoning is removed: every ``<think>...</think>`` block, text before a lone ``</think>``
   (R1 chat templates put the opening tag into the prompt) and everything after an
   unterminated ``<think>`` (generation cut off while reasoning);
2. the rest is cut into statements (lines and sentences); the *final* statement that states a
   phrase is the answer (R1-style outputs quote both options before answering);
3. that statement must state exactly one side: both or neither (and a text with no phrase at
   all) make the answer *invalid*.  Phrases are matched case-insensitively with whitespace
   collapsed and markdown emphasis removed; negative phrases are matched first and masked,
   since "is not self-reporting X" must not also count as a positive statement.

An invalid answer never claims the positive class: it adds no true or false positive, a
positive gold becomes a miss, and it is counted in ``Score.invalid`` (the paper reports its
invalid answers).

Gold references may be a stated phrase or a plain label: 1/0, true/false, yes/no,
positive/negative (case-insensitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bioeval.errors import UsageError
from bioeval.scoring.base import Counts, Prediction

_SPACE = re.compile(r"\s+")
_THINK = re.compile(r"<think>.*?</think>", re.S | re.I)
_BOUNDARY = re.compile(r"\n|[.!?](?=\s|$)")
POSITIVE_LABELS = {"1", "true", "yes", "positive", "pos"}
NEGATIVE_LABELS = {"0", "false", "no", "negative", "neg"}


def normalize(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower().strip(".\"'"))


def strip_reasoning(text: str) -> str:
    """The text outside ``<think>`` blocks (closed, opened in the prompt, or cut off unterminated)."""
    text = _THINK.sub("\n", text)
    lower = text.lower()
    close = lower.rfind("</think>")
    if close >= 0:  # the opening tag was in the prompt: all before the close is reasoning
        text, lower = text[close + len("</think>"):], lower[close + len("</think>"):]
    start = lower.find("<think>")
    return text if start < 0 else text[:start]


@dataclass(frozen=True)
class Mapped:
    label: bool | None  # None: invalid
    reason: str  # "positive", "negative", "both" (the final statement states both), "neither"
    statement: str = ""  # the statement the label was read from


@lru_cache(maxsize=256)
def _pattern(phrases: tuple[str, ...]) -> re.Pattern | None:
    """The phrases as one regex; any whitespace (a line break too) may separate their words."""
    # longest first: "... not self-reporting potential COVID-19 cases" before its prefix "... potential"
    alternatives = [r"\s+".join(map(re.escape, p.split())) for p in sorted(phrases, key=len, reverse=True) if p.split()]
    return re.compile("|".join(alternatives)) if alternatives else None


def _spans(pattern: re.Pattern | None, text: str) -> list[tuple[int, int]]:
    return [] if pattern is None else [m.span() for m in pattern.finditer(text)]


def map_answer(text: str, positive: tuple[str, ...], negative: tuple[str, ...]) -> Mapped:
    """The label of a completion: the final statement stating a phrase decides (see the module doc).

    ``positive``/``negative``: phrases already lower-cased with whitespace collapsed (``normalize``).
    """
    text = strip_reasoning(text).lower().replace("*", "")
    neg = _spans(_pattern(tuple(negative)), text)
    masked = list(text)
    for a, b in neg:  # "is not self-reporting X" must not read as "is self-reporting X"
        masked[a:b] = "\0" * (b - a)
    pos = _spans(_pattern(tuple(positive)), "".join(masked))
    if not pos and not neg:
        return Mapped(None, "neither")
    last = max(pos + neg, key=lambda span: span[1])
    inside = [span for span in pos + neg if span[0] < last[1]]
    # the statement holding the last phrase: between line breaks / sentence ends outside phrases
    cuts = [m.start() for m in _BOUNDARY.finditer(text)
            if not any(a <= m.start() < b for a, b in inside)]
    start = max([c + 1 for c in cuts if c < last[0]], default=0)
    end = min([c for c in cuts if c >= last[1]], default=len(text))
    sides = {("positive" if span in pos else "negative") for span in pos + neg if start <= span[0] and span[1] <= end}
    statement = " ".join(text[start:end].split())
    if len(sides) == 2:
        return Mapped(None, "both", statement)
    side = sides.pop()
    return Mapped(side == "positive", side, statement)


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
        """True/False for an answer stating a positive/negative phrase; None when invalid (both or neither)."""
        return map_answer(text, self.positive, self.negative).label

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
