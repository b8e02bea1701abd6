"""`ner-entity-f1` over many (answer, reference) pairs at once, in numpy.

The same numbers as ``NerEntityF1.counts`` one pair at a time (a property test checks it), for
re-scoring a million saved predictions in seconds:

1. Tag-id lists in the files' usual form ``"[0, 1, 2]"`` (one-digit ids, ", " between) are
   checked and read in bulk, 100,000 strings per bytes comparison; any other form goes through
   ``parse_ids`` one string at a time (same rules as the per-pair scorer).
2. All sequences are laid end to end with an "outside" sentinel between them, and seqeval's
   chunk rules become two lookups in the (previous tag, tag) transition table, so every chunk
   end and start of every sequence comes out of a few array operations.
3. A chunk is (type, first token, last token); an answer chunk is correct when its gold has a
   chunk ending on the same token with the same first token and type (a gather by position).
"""

from __future__ import annotations

import numpy as np

from bioeval.scoring.set_f1 import first_line

CHUNK_STRINGS = 100_000  # strings per bulk pass (bounds the temporary copies)
OPEN, ZERO, NINE = ord("["), ord("0"), ord("9")
_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_CANON: dict[int, bytes] = {}  # m -> b"[0, 0, ..., 0]" with m zeros (b"[]" for 0)


def _canon(m: int) -> bytes:
    hit = _CANON.get(m)
    if hit is None:
        hit = _CANON[m] = b"[" + b", ".join([b"0"] * m) + b"]"
    return hit


SENTINEL = -1  # marks the start of a sequence in a layout (and its end)


def sequences(strings: list[str], parse, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """The tag ids of every string laid out as [S, s0..., S, s1..., ..., S] (int16, S = SENTINEL)
    and the number of ids of each string (-1 when it is not a tag-id list: it contributes none).
    Ids above ``limit`` are stored as ``limit`` (they are out of the label map either way).

    Strings of the exact form "[d, d, ...]" (one-digit ids) are read in bulk: a chunk whose bytes,
    digits replaced by 0, equal the canonical forms of its lengths is all strict, and its digits
    and "[" marks are the layout.  Other strings go through ``parse`` one at a time.
    """
    limit = min(limit, 2 ** 15 - 1)
    pieces, lengths = [], np.empty(len(strings), dtype=np.int64)
    for lo in range(0, len(strings), CHUNK_STRINGS):
        part = strings[lo:lo + CHUNK_STRINGS]
        joined = "".join(part)
        size = np.fromiter(map(len, part), dtype=np.int64, count=len(part))
        m = size // 3
        if joined.isascii() and ((size % 3 == 0) | (size == 2)).all():
            data = joined.encode("ascii")
            if data.translate(_TO_ZERO) == b"".join([_canon(x) for x in m.tolist()]):
                b = np.frombuffer(data, dtype=np.uint8)
                keep = (b == OPEN) | ((b >= ZERO) & (b <= NINE))
                x = b[keep].astype(np.int16) - ZERO
                x[b[keep] == OPEN] = SENTINEL
                pieces.append(x)
                lengths[lo:lo + len(part)] = m
                continue
        for j, text in enumerate(part):  # a chunk with other forms: string by string
            ids = parse(text)
            lengths[lo + j] = -1 if ids is None else len(ids)
            pieces.append(np.array([SENTINEL, *(min(i, limit) for i in ids or ())], dtype=np.int16))
    pieces.append(np.array([SENTINEL], dtype=np.int16))
    return np.concatenate(pieces), lengths


class Chunker:
    """seqeval's default-mode chunks of many tag-id sequences at once."""

    def __init__(self, table: list[tuple[bool, bool]], width: int, types: list[str]):
        self.width = width
        self.end = np.array([e for e, _ in table], dtype=bool)
        self.start = np.array([s for _, s in table], dtype=bool)
        names = sorted(set(types))
        self.type_id = np.array([names.index(t) for t in types], dtype=np.int64)
        self.n_types = len(names)
        # up to 16 labels a (previous, current) code fits in a byte: flags by bytes.translate
        self.bytewise = width * width <= 256
        if self.bytewise:
            self.end_tbl = bytes(self.end.tolist() + [False] * (256 - len(table)))
            self.start_tbl = bytes(self.start.tolist() + [False] * (256 - len(table)))

    def chunks(self, x: np.ndarray, lengths: np.ndarray):
        """(sequence, type, first, last) of every chunk of the laid-out sequences (see ``sequences``)."""
        sizes = np.maximum(lengths, 0)
        base = np.cumsum(sizes + 1) - (sizes + 1)  # position of the sentinel before each sequence
        outside = self.width - 1  # sentinels, and ids beyond the label map (the pair is invalid anyway)
        if self.bytewise:  # bytes: the sentinel -1 wraps to 255 and is clipped to outside with the rest
            x = np.minimum(x.astype(np.uint8), outside)
            code = (x[:-1] * self.width + x[1:]).tobytes()  # step p (p = 1..) looks at (x[p-1], x[p])
            ends = np.flatnonzero(np.frombuffer(code.translate(self.end_tbl), dtype=np.uint8)) + 1
            starts = np.flatnonzero(np.frombuffer(code.translate(self.start_tbl), dtype=np.uint8)) + 1
        else:
            x = np.where(x < 0, outside, np.minimum(x, outside)).astype(np.int32)
            code = x[:-1] * self.width + x[1:]
            ends = np.flatnonzero(self.end[code]) + 1
            starts = np.flatnonzero(self.start[code]) + 1
        seq = np.searchsorted(base, ends, side="left") - 1  # a step at base[s+1] closes sequence s
        last_start = np.searchsorted(starts, ends, side="left") - 1  # starts strictly before the end
        begin_pos = np.where(last_start >= 0, starts[np.maximum(last_start, 0)], -1)
        first_token = base[seq] + 1
        begin = np.where(begin_pos >= first_token, begin_pos - first_token, 0)
        return seq, self.type_id[x[ends - 1]], begin, ends - first_token - 1


def counts_many(scorer, answers: list[str], references: list[str]) -> np.ndarray:
    """(k, 4) counts (correct, predicted, gold, invalid) of k pairs; LocatedScoringError for a bad gold."""
    from bioeval.scoring.files import LocatedScoringError
    from bioeval.scoring.ner_f1 import parse_ids

    k = len(answers)
    if k == 0:
        return np.zeros((0, 4), dtype=np.int64)
    n_labels = len(scorer.labels)
    chunker = scorer._chunker
    # golds: distinct strings, parsed and chunked once
    gold_index: dict[str, int] = {}
    gold_of = np.fromiter((gold_index.setdefault(r.strip(), len(gold_index)) for r in references), dtype=np.int64,
                          count=k)
    golds = list(gold_index)
    gx, g_len = sequences(golds, parse_ids, n_labels)
    bad_gold = g_len < 0
    if (gx >= n_labels).any():  # an id beyond the label map: which gold holds it
        owner = np.cumsum(gx == SENTINEL) - 1
        bad_gold |= np.bincount(owner[gx >= n_labels], minlength=len(golds)) > 0
    if bad_gold.any():
        g = int(np.flatnonzero(bad_gold)[0])
        pair = int(np.flatnonzero(gold_of == g)[0])
        raise LocatedScoringError(pair, f"reference {references[pair][:80]!r} is not a list of tag ids within the "
                                  f"label map ({n_labels} labels).",
                                  "Check the dataset's `labels` and the reference column of the predictions.")
    g_seq, g_type, g_begin, g_last = chunker.chunks(gx, g_len)
    g_count = np.bincount(g_seq, minlength=len(golds))
    # answers: first line of each completion; invalid when unparsable, of another length, or out of range
    ax, a_len = sequences([first_line(a) for a in answers], parse_ids, n_labels)
    valid = (a_len >= 0) & (a_len == g_len[gold_of])
    if (ax >= n_labels).any():
        owner = np.cumsum(ax == SENTINEL) - 1
        valid &= np.bincount(owner[ax >= n_labels], minlength=k) == 0
    p_seq, p_type, p_begin, p_last = chunker.chunks(ax, a_len)
    mine = valid[p_seq]  # chunks of invalid answers count for nothing
    p_seq, p_type, p_begin, p_last = p_seq[mine], p_type[mine], p_begin[mine], p_last[mine]
    predicted = np.bincount(p_seq, minlength=k)
    # correct: an answer chunk is correct when its pair's gold has a chunk ending on the same token
    # with the same first token and type; the gold chunks are written into arrays indexed by the
    # gold layout position of their last token (one chunk ends per position), so this is a gather.
    g_sizes = np.maximum(g_len, 0)
    g_base = np.cumsum(g_sizes + 1) - (g_sizes + 1)
    g_end = g_base[g_seq] + 1 + g_last
    begin_at = np.full(len(gx), -1, dtype=np.int64)
    type_at = np.full(len(gx), -1, dtype=np.int64)
    begin_at[g_end], type_at[g_end] = g_begin, g_type
    at = g_base[gold_of[p_seq]] + 1 + p_last  # valid pairs have the gold's length: always in range
    hit = (begin_at[at] == p_begin) & (type_at[at] == p_type)
    correct = np.bincount(p_seq[hit], minlength=k)
    return np.stack([correct, predicted, g_count[gold_of], (~valid).astype(np.int64)], axis=1)
