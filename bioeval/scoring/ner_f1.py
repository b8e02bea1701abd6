"""`ner-entity-f1`: entity-level micro P/R/F1 over BIO tags decoded from tag-id lists.

The lab's NER files hold responses like ``"[0, 1, 2, 0]"``: one tag id per input token,
with the dataset's label map (``labels``, index = id, e.g. BC5CDR ``O, B-Chemical,
B-Disease, I-Disease, I-Chemical``).  Entities are decoded exactly as seqeval's default
(conlleval) mode does, so the numbers equal ``seqeval.metrics`` on the same tag sequences
(a property test checks it); this module does not import seqeval because it is ~20x
slower for a million predictions.

A prediction that is not a list of known tag ids, or whose length differs from the gold's,
is *invalid*: it predicts nothing and all of its gold entities count as misses.
"""

from __future__ import annotations

import json

from bioeval.errors import UsageError
from bioeval.scoring.base import Counts, Prediction
from bioeval.scoring.set_f1 import first_line

Entity = tuple[str, int, int]  # (type, first token, last token), as seqeval


def _split(label: str) -> tuple[str, str]:
    """seqeval's prefix-mode split: 'B-Chemical' -> ('B', 'Chemical'); 'B' -> ('B', '_')."""
    return label[0], label[1:].split("-", maxsplit=1)[-1] or "_"


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def entities(tags: list[str]) -> list[Entity]:
    """Chunks of one tag sequence, with seqeval's default (non-strict) rules."""
    chunks: list[Entity] = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, label in enumerate([*tags, "O"]):
        tag, type_ = _split(label)
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def parse_ids(text: str) -> list[int] | None:
    """``"[0, 1, 2]"`` -> [0, 1, 2]; None when it is not a JSON list of non-negative ints."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(type(v) is int and v >= 0 for v in value):
        return None
    return value


class NerEntityF1:
    name = "ner-entity-f1"

    def __init__(self, labels: list[str] | tuple[str, ...] | None = None, **_ignored):
        if not labels:
            raise UsageError("scorer ner-entity-f1 needs the dataset's label map.",
                             "Give the dataset `labels: [O, B-X, I-X, ...]` in the manifest, or "
                             "`--labels O,B-X,I-X` to `bioeval score`.")
        self.labels = tuple(labels)
        self._cache: dict[tuple[int, ...], list[Entity]] = {}

    def _entities(self, ids: list[int]) -> list[Entity] | None:
        key = tuple(ids)
        hit = self._cache.get(key)
        if hit is None:
            if any(i >= len(self.labels) for i in ids):
                return None
            hit = entities([self.labels[i] for i in ids])
            if len(self._cache) < 200_000:  # gold sequences repeat across runs and checkpoints
                self._cache[key] = hit
        return hit

    def counts(self, pred: Prediction) -> Counts | None:
        if pred.prompt_truncated:
            return None
        gold_ids = parse_ids(pred.reference.strip())
        gold = None if gold_ids is None else self._entities(gold_ids)
        if gold is None:
            raise UsageError(f"instance {pred.id!r}: reference {pred.reference[:80]!r} is not a list of tag ids "
                             f"within the label map ({len(self.labels)} labels).",
                             "Check the dataset's `labels` and the reference column of the predictions.")
        ids = parse_ids(first_line(pred.prediction))
        if ids is None or len(ids) != len(gold_ids):
            return Counts(0, 0, len(gold), True)
        predicted = self._entities(ids)
        if predicted is None:
            return Counts(0, 0, len(gold), True)
        correct = len(set(predicted) & set(gold)) if predicted and gold else 0
        return Counts(correct, len(predicted), len(gold))
