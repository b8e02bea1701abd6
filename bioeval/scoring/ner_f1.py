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

import re

from bioeval.errors import UsageError
from bioeval.scoring.base import Counts, Prediction
from bioeval.scoring.set_f1 import first_line

Entity = tuple[str, int, int]  # (type, first token, last token), as seqeval
_DIGIT_TO_ID = bytes.maketrans(b"0123456789", bytes(range(10)))  # b"012" -> b"\x00\x01\x02"


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
    return _entities_split([_split(label) for label in tags])


def _entities_split(split: list[tuple[str, str]]) -> list[Entity]:
    chunks: list[Entity] = []
    prev_tag, prev_type, begin = "O", "", 0
    for i, (tag, type_) in enumerate([*split, ("O", "_")]):
        if prev_tag == "O" and tag == "O":  # the common case: nothing ends, nothing starts
            prev_type = type_
            continue
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return chunks


def parse_ids(text: str) -> list[int] | None:
    """``"[0, 1, 2]"`` -> [0, 1, 2]; None when it is not a list of non-negative integers."""
    if len(text) < 2 or text[0] != "[" or text[-1] != "]":
        return None
    inner = text[1:-1]
    if not inner.strip():
        return []
    try:  # int() over the comma-split parts: ~3x faster than json.loads for these short lists
        value = list(map(int, inner.split(",")))
    except ValueError:
        return None
    return value if min(value) >= 0 else None


class NerEntityF1:
    name = "ner-entity-f1"

    def __init__(self, labels: list[str] | tuple[str, ...] | None = None, **_ignored):
        if not labels:
            raise UsageError("scorer ner-entity-f1 needs the dataset's label map.",
                             "Give the dataset `labels: [O, B-X, I-X, ...]` in the manifest, or "
                             "`--labels O,B-X,I-X` to `bioeval score`.")
        self.labels = tuple(labels)
        # seqeval's chunk rules depend only on (previous label, label): tabulate them once.
        split = [_split(label) for label in self.labels] + [("O", "_")]  # last: the "outside" sentinel
        self._types = [t for _, t in split]
        self._width = len(split)
        self._table = [(_end_of_chunk(pt, t, ptype, ty), _start_of_chunk(pt, t, ptype, ty))
                       for pt, ptype in split for t, ty in split]
        # Fast path for the files' usual form "[0, 1, 2]" with single-digit ids: the ids as the
        # bytes of a digit string, cached by that string (gold sequences recur across runs).
        self._digits_ok = len(self.labels) <= 10
        self._by_digits: dict[str, list[Entity]] = {}
        self._chunk_re = self._bio_regex() if self._digits_ok else None
        self._cache: dict[tuple[int, ...], list[Entity]] = {}

    def _entities(self, ids: list[int]) -> list[Entity] | None:
        key = tuple(ids)
        hit = self._cache.get(key)
        if hit is None:
            if ids and max(ids) >= len(self.labels):
                return None
            hit = self._decode(ids)
            if len(self._cache) < 200_000:  # gold sequences repeat across runs and checkpoints
                self._cache[key] = hit
        return hit

    def _decode(self, ids) -> list[Entity]:
        """entities() over tag ids via the transition table (same result, ~5x faster)."""
        table, width, types = self._table, self._width, self._types
        outside = width - 1
        chunks: list[Entity] = []
        prev, begin = outside, 0
        for i, cur in enumerate((*ids, outside)):
            end, start = table[prev * width + cur]
            if end:
                chunks.append((types[prev], begin, i - 1))
            if start:
                begin = i
            prev = cur
        return chunks

    def _digits(self, text: str) -> str | None:
        """"[0, 1, 2]" -> "012" when every id is one digit and the separators are ", "."""
        if not self._digits_ok or len(text) < 2 or text[0] != "[" or text[-1] != "]":
            return None
        inner = text[1:-1].replace(", ", "")
        if inner.isascii() and inner.isdigit() and len(inner) == text.count(",") + 1:
            return inner
        return "" if text == "[]" else None

    def _decode_digits(self, digits: str) -> list[Entity] | None:
        hit = self._by_digits.get(digits)
        if hit is None:
            if digits and int(max(digits)) >= len(self.labels):
                return None
            hit = self._decode_runs(digits)
            if len(self._by_digits) < 200_000:
                self._by_digits[digits] = hit
        return hit

    def _bio_regex(self) -> "re.Pattern | None":
        """For plain BIO label maps, seqeval's chunks are the matches of ``B I* | I+`` per type,
        so one regex (run in C) decodes a digit string. None for BIOES/other schemes."""
        by_type: dict[str, dict[str, str]] = {}
        for i, label in enumerate(self.labels):
            if label == "O":
                continue
            prefix, type_ = _split(label)
            if prefix not in ("B", "I") or (len(label) > 1 and label[1] != "-"):
                return None
            by_type.setdefault(type_, {})[prefix] = str(i)
        if not by_type:
            return None
        self._group_types = {f"t{n}": t for n, t in enumerate(by_type)}
        parts = []
        for n, ids in enumerate(by_type.values()):
            b, i = ids.get("B"), ids.get("I")
            alts = ([f"{b}{i}*" if i else b] if b else []) + ([f"{i}+"] if i else [])
            parts.append(f"(?P<t{n}>{'|'.join(alts)})")
        return re.compile("|".join(parts))

    def _decode_runs(self, digits: str) -> list[Entity]:
        """_decode() over a digit string; for BIO maps one regex (run in C) does it."""
        if self._chunk_re is not None:
            types = self._group_types
            return [(types[m.lastgroup], m.start(), m.end() - 1) for m in self._chunk_re.finditer(digits)]
        return self._decode(digits.encode().translate(_DIGIT_TO_ID))

    def counts(self, pred: Prediction) -> Counts | None:
        if pred.prompt_truncated:
            return None
        gold_digits = self._digits(pred.reference.strip())
        if gold_digits is not None:
            gold = self._decode_digits(gold_digits)
            if gold is not None:
                answer = self._digits(first_line(pred.prediction))
                if answer is not None:
                    if len(answer) != len(gold_digits):
                        return Counts(0, 0, len(gold), True)
                    predicted = gold if answer == gold_digits else self._decode_digits(answer)
                    if predicted is None:
                        return Counts(0, 0, len(gold), True)
                    correct = len(gold) if predicted is gold else len(set(predicted) & set(gold)) if predicted and gold else 0
                    return Counts(correct, len(predicted), len(gold))
        return self._counts_general(pred)

    def counts_many(self, answers, references, skip=None):
        """counts() of many (completion, reference) pairs at once, in numpy (re-scoring files);
        pairs marked in ``skip`` may hold unreadable golds (their rows are dropped)."""
        from bioeval.scoring import ner_batch

        if getattr(self, "_chunker", None) is None:
            self._chunker = ner_batch.Chunker(self._table, self._width, self._types)
        return ner_batch.counts_many(self, answers, references, skip)

    def _counts_general(self, pred: Prediction) -> Counts | None:
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
