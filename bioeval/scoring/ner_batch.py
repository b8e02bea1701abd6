"""`ner-entity-f1` over many (answer, reference) pairs at once, in numpy.

The same numbers as ``NerEntityF1.counts`` one pair at a time (a property test checks it), for
re-scoring a million saved predictions in seconds (docs/scoring.md, Performance).  Pairs go
in blocks of ``BLOCK``, each block's strings as one UTF-8 buffer (``Texts.utf8``: an Arrow
column's own bytes, or the strings joined):

1. A list in the files' usual form (``"[0, 1, 2]"``, ``"[0,1]"``, ``"[]"``: digits, commas,
   single spaces; for answers, the first line) is recognised by checking each pair of
   neighbouring bytes against the pairs such a list allows; its ids are its runs of digits.
   No Python work per string.  Any other form (whitespace around it, signs, non-ASCII
   digits...) goes through ``parse_ids`` one string at a time, with the per-pair rules.
2. seqeval's chunk rules are lookups in the (previous tag, tag) transition table over all ids
   of the block at once, and each chunk becomes a key on its last id: (length, type).
3. An invalid answer predicts nothing, so it is laid out as its gold's length of "outside"
   ids; answers and golds then align id for id, and the correct chunks are the equal keys.
"""

from __future__ import annotations

import numpy as np

from bioeval.scoring.set_f1 import first_line
from bioeval.scoring.texts import Texts

# byte classes, and the neighbouring pairs a list of ids "[d, d,d]" allows
OTHER, OPEN, CLOSE, COMMA, SPACE, DIGIT = range(6)
CLASS = np.zeros(256, dtype=np.uint8)
CLASS[ord("[")], CLASS[ord("]")], CLASS[ord(",")], CLASS[ord(" ")] = OPEN, CLOSE, COMMA, SPACE
CLASS[ord("0"):ord("9") + 1] = DIGIT
ALLOWED = np.zeros(256, dtype=bool)
for _a, _b in ((OPEN, DIGIT), (OPEN, CLOSE), (DIGIT, DIGIT), (DIGIT, COMMA), (DIGIT, CLOSE), (COMMA, SPACE),
               (COMMA, DIGIT), (SPACE, DIGIT)):
    ALLOWED[_a * 8 + _b] = True
# lookups as bytes.translate tables: a C loop over bytes, no index arrays
CLASS_BYTES, ALLOWED_BYTES = CLASS.tobytes(), ALLOWED.astype(np.uint8).tobytes()
NOT_DIGITS = bytes(b for b in range(256) if not ord("0") <= b <= ord("9"))
BLOCK = 1 << 16  # pairs scored together: a block's arrays stay in the CPU's caches
MAX_DIGITS = 7  # longer ids (leading zeros, or beyond any label map) are left to parse_ids


class TagLists:
    """Tag-id lists of many strings: ``lengths[i]`` ids (-1: not a list of ids), all ids end to
    end in ``values`` (ids of ``limit`` or more are stored as ``limit``)."""

    def __init__(self, lengths: np.ndarray, values: np.ndarray):  # values: uint8 or int16
        self.lengths, self.values = lengths, values
        self.sizes = np.maximum(lengths, 0)
        self.base = np.cumsum(self.sizes) - self.sizes  # where string i's ids begin in values

    def beyond(self, limit: int) -> np.ndarray:
        """Which strings hold an id of ``limit`` or more."""
        at = np.flatnonzero(self.values >= limit)
        owner = np.searchsorted(self.base + self.sizes, at, side="right")
        return np.bincount(owner, minlength=len(self.sizes)) > 0


def read_tag_lists(texts: Texts, parse, limit: int, answers: bool) -> TagLists:
    """The ids of each string (of its first line, stripped, for answers; stripped for golds)."""
    limit = min(limit, 2 ** 15 - 1)
    data, starts, ends = texts.utf8()
    lengths, values = _fast_lists(data, starts, ends, limit, answers)
    slow = np.flatnonzero(lengths == -2)
    if len(slow) == 0:
        return TagLists(lengths, values)
    cut = first_line if answers else str.strip
    parsed = [parse(cut(texts[i])) for i in slow.tolist()]
    lengths[slow] = [-1 if ids is None else len(ids) for ids in parsed]
    out = TagLists(lengths, np.empty(int(np.maximum(lengths, 0).sum()), dtype=np.int16))
    fast = lengths >= 0
    fast[slow] = False
    counts = out.sizes[fast]
    # fast ids keep their order; each string's block moves to its place among the slow ones
    shift = np.repeat(out.base[fast] - (np.cumsum(counts) - counts), counts)
    out.values[np.arange(len(values)) + shift] = values
    for i, ids in zip(slow.tolist(), parsed):
        if ids:
            out.values[out.base[i]:out.base[i] + len(ids)] = [min(x, limit) for x in ids]
    return out


def _fast_lists(data: np.ndarray, starts: np.ndarray, ends: np.ndarray, limit: int, first_line: bool = False):
    """(lengths, ids) of the strings data[starts:ends] (of their first lines) that are lists in
    the usual form; the others get length -2 (to be parsed one by one)."""
    n, k = len(data), len(starts)
    lengths = np.full(k, -2, dtype=np.int64)
    if n < 2 or k == 0:
        return lengths, np.zeros(0, dtype=np.int16)
    raw = data.tobytes()
    cls = np.empty(n + 1, dtype=np.uint8)  # one OTHER past the end: every byte has a next one
    cls[:n] = np.frombuffer(raw.translate(CLASS_BYTES), dtype=np.uint8)
    cls[n] = OTHER
    if first_line:
        ends = _first_line_ends(data, cls, starts, ends)
    good = _usual_lists(cls, starts, ends)
    s, e = starts[good], ends[good]
    if len(s) == 0:
        return lengths, np.zeros(0, dtype=np.int16)
    digit = cls == DIGIT
    per_list = (e - s) // 3  # "[d, d, d]" has 3 bytes per id ("[]": 2), and never fewer
    if per_list.sum() == np.count_nonzero(digit):
        # every digit is in a good list, each id has one digit, and each list has the usual
        # form (else it would hold more ids than its bytes / 3): the ids are all digits, in order
        to_value = bytes.maketrans(b"0123456789", bytes(min(d, limit) for d in range(10)))
        lengths[good] = per_list
        return lengths, np.frombuffer(raw.translate(to_value, NOT_DIGITS), dtype=np.uint8)
    ids = _digits_in_lists(digit, s, e, n, k)
    last = ids[:n] & ~digit[1:]  # an id's last digit (in a good list, '[' precedes every id: p >= 1)
    at = np.flatnonzero(last)
    if (ids[2:n] & digit[1:n - 1] & digit[:n - 2]).any():  # ids of three or more digits: digit by digit
        heads = np.flatnonzero(ids[1:] & ~digit[:-1]) + 1  # first digit of each id
        values, too_long = _multi_digit(data, digit, heads, limit)
        if len(too_long):  # an id of more than MAX_DIGITS digits: its list goes the slow way
            owner = np.flatnonzero(good)[np.searchsorted(s, too_long, side="right") - 1]
            ends = ends.copy()
            ends[owner] = starts[owner]  # an empty segment is never a list
            return _fast_lists(data, starts, ends, limit)  # ends are already first lines
    else:
        values = _short_ids(data, digit, at, limit)
    lengths[good] = np.searchsorted(at, e) - np.searchsorted(at, s)
    return lengths, values


def _first_line_ends(data: np.ndarray, cls: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Where each string's list ends when its first line is one (a first line that is a list
    ends at the string's first "]", before a newline or the end); the others end where they start."""
    n = len(data)
    closes = np.flatnonzero(cls == CLOSE)
    close = np.append(closes, n)[np.searchsorted(closes, starts)]
    after = np.minimum(close + 1, n - 1)
    one_line = (close < ends) & ((close + 1 == ends) | (data[after] == ord("\n")))
    return np.where(one_line, close + 1, starts)  # others: empty, never a list here


def _usual_lists(cls: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which strings are lists in the usual form: "[" ... "]" with every neighbouring pair of
    bytes one such a list allows (one reduceat over all strings, no loop)."""
    k = len(starts)
    pair = (cls[:-1] * np.uint8(8) + cls[1:]).tobytes()
    pair_ok = np.frombuffer(pair.translate(ALLOWED_BYTES), dtype=bool)  # data[p + 1] may follow data[p]
    size = ends - starts
    cand = size >= 2
    s, last = np.where(cand, starts, 0), np.where(cand, ends - 1, 1)
    bounds = np.empty(2 * k, dtype=np.int64)
    bounds[0::2], bounds[1::2] = s, last
    return cand & (cls[s] == OPEN) & (cls[last] == CLOSE) & np.logical_and.reduceat(pair_ok, bounds)[0::2]


def _digits_in_lists(digit: np.ndarray, s: np.ndarray, e: np.ndarray, n: int, k: int) -> np.ndarray:
    """Which bytes are digits of the good lists data[s:e] (other strings may hold digits too)."""
    if len(s) == k and s[0] == 0 and e[-1] == n and (s[1:] == e[:-1]).all():
        return digit  # the good lists tile the buffer: every digit is one of theirs
    bounds = np.empty(2 * len(s), dtype=np.int64)
    bounds[0::2], bounds[1::2] = s, e
    runs = np.diff(bounds, prepend=0, append=n + 1)  # bytes outside (gap), inside, outside, ... the good lists
    return digit & np.repeat(np.arange(len(runs)) % 2 == 1, runs)


def _short_ids(data: np.ndarray, digit: np.ndarray, at: np.ndarray, limit: int) -> np.ndarray:
    """The values of ids of one or two digits, each read at its last digit ``at``."""
    zero = np.uint8(ord("0"))
    values = data[at] - zero + np.uint8(10) * (data[at - 1] - zero) * digit[at - 1]  # wraps only where x 0
    np.minimum(values, min(limit, 99), out=values)
    return values


def _multi_digit(data: np.ndarray, digit: np.ndarray, heads: np.ndarray, limit: int):
    """The values of the ids starting at ``heads`` (clamped to ``limit``), and the heads of ids
    longer than MAX_DIGITS digits."""
    values = data[heads].astype(np.int16) - ord("0")
    at = np.flatnonzero(digit[heads + 1])
    value = values[at].astype(np.int32)
    for step in range(1, MAX_DIGITS):
        pos = heads[at] + step
        value = np.minimum(value * 10 + (data[pos].astype(np.int32) - ord("0")), limit)  # monotone: exact below limit
        going = digit[pos + 1]
        values[at[~going]] = value[~going]
        at, value = at[going], value[going]
        if len(at) == 0:
            break
    return values, heads[at]


class Chunker:
    """seqeval's default-mode chunks of many tag-id sequences at once."""

    def __init__(self, table: list[tuple[bool, bool]], width: int, types: list[str]):
        self.width = width  # labels + 1: the last id is "outside" (sequence edges, ids beyond the map)
        names = sorted(set(types))
        self.type_id = np.array([names.index(t) for t in types], dtype=np.int32)
        self.n_types = len(names)
        # flags of each (previous, current) code; one more code marks a sequence's first id,
        # whose previous tag is "outside": nothing ends there and something may start
        self.first_code = width * width
        self.end = np.array([e for e, _ in table] + [False], dtype=bool)
        self.start = np.array([s for _, s in table] + [True], dtype=bool)
        self.bytewise = self.first_code < 256  # codes fit in a byte: flags by bytes.translate
        if self.bytewise:
            self.end_bytes = np.resize(np.r_[self.end, False], 256).astype(np.uint8).tobytes()
            self.start_bytes = np.resize(np.r_[self.start, False], 256).astype(np.uint8).tobytes()

    def _flags(self, code: np.ndarray, which: str) -> np.ndarray:
        if self.bytewise:
            return np.frombuffer(code.tobytes().translate(getattr(self, f"{which}_bytes")), dtype=bool)
        return getattr(self, which)[code]

    def chunk_keys(self, values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Per id: 0, or (length, type) of the chunk that ends on it, as length * n_types + type + 1.

        Two chunks are the same entity exactly when they end on the same id of the same
        sequence with equal keys, so aligned sequences compare elementwise."""
        outside, width = self.width - 1, self.width
        n = len(values)
        keys = np.zeros(n, dtype=np.int32)
        if n == 0:
            return keys
        first = (np.cumsum(sizes) - sizes)[sizes > 0]
        last = first + sizes[sizes > 0] - 1
        x = np.minimum(values, outside).astype(np.uint8 if self.bytewise else np.int32)
        code = np.empty_like(x)
        np.multiply(x[:-1], width, out=code[1:])  # the previous id ...
        code += x  # ... and this one
        code[first] = self.first_code
        closes = self._flags(code, "end")  # closes[p]: the step into p ends a chunk on p - 1
        ends_here = np.empty(n, dtype=bool)
        ends_here[:-1] = closes[1:]
        ends_here[last] = self.end[x[last].astype(np.int64) * width + outside]  # the sequence's end closes it
        ends = np.flatnonzero(ends_here)
        # a chunk begins at the last start up to its end; with none in its sequence, at the
        # sequence's first id (seqeval's `begin` starts at 0 for each sequence)
        started = self._flags(code, "start")
        begin = np.flatnonzero(started)[np.cumsum(started, dtype=np.int32)[ends] - 1]
        keys[ends] = (ends - begin + 1) * self.n_types + self.type_id[x[ends]] + 1
        return keys


def counts_many(scorer, answers, references, skip: np.ndarray | None = None) -> np.ndarray:
    """(k, 4) counts (correct, predicted, gold, invalid) of k pairs; LocatedScoringError for a bad
    gold, except in the pairs ``skip`` marks (their rows are to be dropped)."""
    from bioeval.errors import LocatedScoringError

    answers, references = Texts.of(answers), Texts.of(references)
    skip = np.zeros(len(answers), dtype=bool) if skip is None else skip
    out = np.zeros((len(answers), 4), dtype=np.int64)
    for lo in range(0, len(answers), BLOCK):
        hi = min(lo + BLOCK, len(answers))
        try:
            out[lo:hi] = _block_counts(scorer, answers.slice(lo, hi), references.slice(lo, hi), skip[lo:hi])
        except LocatedScoringError as exc:
            exc.index += lo
            raise
    return out


def _block_counts(scorer, answers: Texts, references: Texts, skip: np.ndarray) -> np.ndarray:
    from bioeval.errors import LocatedScoringError
    from bioeval.scoring.ner_f1 import parse_ids

    k, n_labels, chunker = len(answers), len(scorer.labels), scorer._chunker
    gold_tags = read_tag_lists(references, parse_ids, n_labels, answers=False)
    bad_gold = ((gold_tags.lengths < 0) | gold_tags.beyond(n_labels)) & ~skip
    if bad_gold.any():
        pair = int(np.flatnonzero(bad_gold)[0])
        raise LocatedScoringError(pair, f"reference {references[pair][:80]!r} is not a list of tag ids within the "
                                  f"label map ({n_labels} labels).",
                                  "Check the dataset's `labels` and the reference column of the predictions.")
    answer_tags = read_tag_lists(answers, parse_ids, n_labels, answers=True)
    # an answer is invalid when it is not a list of ids, has another length, or an id beyond the
    # map: it predicts nothing, so it is laid out as its gold's length of "outside" ids
    valid = (answer_tags.lengths == gold_tags.lengths) & ~answer_tags.beyond(n_labels)
    sizes = gold_tags.sizes  # a skipped pair's unreadable gold has no ids: nothing to lay out
    if valid.all():
        aligned = answer_tags.values
    else:
        aligned = np.full(len(gold_tags.values), chunker.width - 1, dtype=answer_tags.values.dtype)
        aligned[np.repeat(valid, sizes)] = answer_tags.values[np.repeat(valid, answer_tags.sizes)]
    gold, predicted = chunker.chunk_keys(gold_tags.values, sizes), chunker.chunk_keys(aligned, sizes)
    said = predicted != 0

    def per_pair(flags: np.ndarray) -> np.ndarray:  # how many ids of each pair are flagged
        running = np.zeros(len(flags) + 1, dtype=np.int64)
        np.cumsum(flags, out=running[1:])
        return running[gold_tags.base + sizes] - running[gold_tags.base]

    return np.stack([per_pair(said & (predicted == gold)), per_pair(said), per_pair(gold != 0),
                     (~valid).astype(np.int64)], axis=1)
