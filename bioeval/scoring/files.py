"""Predictions on disk -> Score with bootstrap intervals: the one path from answer to score.

`bioeval score`, the engine (after writing predictions.jsonl), `verify`, `compare` and the
report all score a predictions file through ``read_predictions`` + ``score_table``, so a
number can always be re-derived from the file it came from.

The answer a scorer sees is the record's full ``completion`` (what the model wrote; the engine
writes it), else its ``prediction`` (hand-made files); each scorer cuts its answer out of it
itself (e.g. zhan2024-set-f1 takes the first line).

Every record is checked before anything is scored: ``id`` a string or integer, unique;
``completion``/``prediction`` and ``reference`` strings; ``prompt_truncated`` absent or a
JSON boolean.  A bad record is a UsageError naming ``file:line`` (exit 2), never a traceback.

Speed (bench/bench_scoring.py, docs/scoring.md): a file of 4 MB or more is read by Arrow's
JSON reader into string columns (``arrow_reader``, which declines anything but plainly
well-formed files); otherwise, and whenever it declines, one orjson call parses the file and
records are checked column by column.  A vectorised scorer (ner-entity-f1) takes the columns
whole; the others score each distinct (answer, reference, truncated) once.  The counts are
numpy arrays from there on.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Sequence

import numpy as np

from bioeval.errors import LocatedScoringError, UsageError
from bioeval.limits import BOOTSTRAP_SEED, CI_LEVEL, RESAMPLES
from bioeval.scoring import arrow_reader
from bioeval.scoring.base import Counts, InstanceCounts, Prediction, Score, Scorer, prf
from bioeval.scoring.bootstrap import bootstrap_ci_array
from bioeval.scoring.texts import Texts

HINT = ('Each line needs "id" (unique), "completion" or "prediction" (a string) and "reference" (a string); '
        'optional "prompt_truncated": true|false.')


@dataclass
class PredictionTable:
    """A predictions file, checked and split into columns (one entry per record, file order)."""

    path: Path
    sha256: str  # of the bytes parsed
    ids: Sequence[str]  # lists, or Texts (Arrow columns) for large files
    answers: Sequence[str]
    references: Sequence[str]
    truncated: list[bool]
    lines: list[int] | None = None  # line of each record; None: record i is on line i + 1

    def line(self, i: int) -> int:
        return self.lines[i] if self.lines is not None else i + 1

    def where(self, i: int) -> str:
        return f"{self.path}:{self.line(i)}"

    def __len__(self) -> int:
        return len(self.ids)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse(path: Path, data: bytes) -> tuple[list, list[int] | None]:
    """The JSON values of a JSON-lines file and their line numbers (None when record i is line i + 1)."""
    body = data[:-1] if data.endswith(b"\n") else data
    if not body.strip():
        return [], None
    try:  # one parse of the whole file as a JSON array: ~4x faster than one call per line
        rows = _fast_loads(b"[" + body.replace(b"\n", b",") + b"]")
        if len(rows) == body.count(b"\n") + 1:
            return rows, None
    except (ValueError, RecursionError):
        pass
    rows, lines = [], []  # something is off: line by line, with the standard library, to say where
    for lineno, line in enumerate(body.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{path}:{lineno}: not UTF-8 text.", HINT) from None
        try:
            rows.append(json.loads(text))
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"{path}:{lineno}: not valid JSON ({str(exc)[:120]}).", HINT) from None
        lines.append(lineno)
    return rows, lines


def _fast_loads(data: bytes):
    try:
        import orjson
    except ModuleNotFoundError:  # an install without it: the same result, ~2x slower
        return json.loads(data)
    return orjson.loads(data)


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and value != value:
        return "NaN"
    return f"a JSON {type(value).__name__.replace('str', 'string').replace('dict', 'object')} ({json.dumps(value)[:40]})"


def read_predictions(path: str | Path, data: bytes | None = None) -> PredictionTable:
    """The checked records of a predictions file; UsageError naming file:line for the first bad one.
    ``data``: the file's bytes when already read (runs/read.py RunFolder reads a run's once)."""
    path = Path(path)
    try:
        data = path.read_bytes() if data is None else data
    except OSError as exc:
        raise UsageError(f"cannot read predictions {path}: {exc.strerror or exc}.", HINT) from None
    with ThreadPoolExecutor(1) as pool:  # hashing releases the GIL: it runs beside the parse
        digest = pool.submit(sha256_bytes, data)
        columns = arrow_reader.read_columns(data) if len(data) >= arrow_reader.MIN_BYTES else None
        if columns is not None:
            return PredictionTable(path, digest.result(), **columns)
        rows, lines = _parse(path, data)
        table = PredictionTable(path, digest.result(), [], [], [], [], lines)

    def fail(i: int, message: str):
        raise UsageError(f"{table.where(i)}: {message}", HINT)

    if rows and set(map(type, rows)) != {dict}:
        fail(next(i for i, r in enumerate(rows) if type(r) is not dict), "not a JSON object.")
    missing = object()
    answer_key = "completion" if rows and "completion" in rows[0] else "prediction"
    answers = _column(rows, answer_key, missing)
    if answer_key == "completion" and missing in answers or answer_key == "prediction" and any(
            "completion" in r for r in rows):  # records differ in which field they use: one by one
        answers = [r.get("completion", missing) if "completion" in r else r.get("prediction", missing) for r in rows]
    references = _column(rows, "reference", missing)
    ids = _column(rows, "id", missing)
    truncated = list(map(dict.get, rows, repeat("prompt_truncated"), repeat(False)))
    for name, column in (("id", ids), ("completion", answers), ("reference", references)):
        allowed = {str, int} if name == "id" else {str}
        if not set(map(type, column)) <= allowed:
            i, value = next((i, v) for i, v in enumerate(column) if type(v) not in allowed)
            rid = ids[i] if type(ids[i]) in (str, int) else "?"
            if value is missing:
                name = "'prediction' or 'completion'" if name == "completion" else repr(name)
                fail(i, f"record {rid!r}: missing field {name}.")
            fail(i, f"record {rid!r}: field {name!r} is {_describe(value)}; a string is needed.")
    if not set(map(type, truncated)) <= {bool}:
        i = next(i for i, v in enumerate(truncated) if type(v) is not bool)
        fail(i, f"record {ids[i]!r}: 'prompt_truncated' is {_describe(truncated[i])}; it must be true or false.")
    if set(map(type, ids)) != {str}:
        ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        seen: dict[str, int] = {}
        for i, rid in enumerate(ids):
            if rid in seen:
                fail(i, f"duplicate id {rid!r} (first on line {table.line(seen[rid])}); each instance is scored once.")
            seen[rid] = i
    table.ids, table.answers, table.references, table.truncated = ids, answers, references, truncated
    return table


def _column(rows: list[dict], key: str, missing) -> list:
    """rows[i][key] for every row (``missing`` where absent), at C speed when every row has it."""
    try:
        return list(map(itemgetter(key), rows))
    except KeyError:
        return list(map(dict.get, rows, repeat(key), repeat(missing)))


@dataclass
class CountsTable:
    """Per-instance counts of the scored (not truncated) instances, in file order."""

    ids: list[str]
    rows: np.ndarray  # (n, 4) int64: correct, predicted, gold, invalid
    skipped: int

    def total(self) -> Score:
        c, p, g, invalid = (int(x) for x in self.rows.sum(axis=0)) if len(self.rows) else (0, 0, 0, 0)
        precision, recall, f1 = prf(c, p, g)
        return Score(precision, recall, f1, len(self.rows), self.skipped, invalid, c, p, g)

    def as_dict(self) -> dict[str, tuple]:
        """instance id -> (correct, predicted, gold, invalid), for the paired bootstrap of `compare`."""
        return dict(zip(self.ids, map(tuple, self.rows.tolist())))


def count_table(scorer: Scorer, table: PredictionTable) -> CountsTable:
    """Each instance's counts: a vectorised scorer takes every record at once; otherwise each
    distinct (answer, reference, truncated) is scored once."""
    if getattr(scorer, "counts_many", None) is not None:
        return _count_all(scorer, table)
    index: dict[tuple, int] = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in zip(table.answers, table.references, table.truncated)),
                        dtype=np.int64, count=len(table))
    keys = list(index)
    # codes are numbered in order of first appearance: a key's first record is where the running max grows
    top = np.maximum.accumulate(codes) if len(codes) else codes
    first = np.flatnonzero(np.r_[True, top[1:] > top[:-1]]) if len(codes) else codes
    distinct = _score_distinct(scorer, keys, table, first)  # (k, 4); rows of truncated keys are -1
    rows = distinct[codes]
    scored = rows[:, 0] >= 0
    ids = table.ids if scored.all() else [i for i, ok in zip(table.ids, scored.tolist()) if ok]
    return CountsTable(ids, rows[scored], int(len(rows) - scored.sum()))


def _count_all(scorer: Scorer, table: PredictionTable) -> CountsTable:
    truncated = np.fromiter(table.truncated, dtype=bool, count=len(table))
    try:  # truncated records are scored too (cheaper than copying the rest) and then dropped
        rows = scorer.counts_many(table.answers, table.references, skip=truncated)
    except LocatedScoringError as exc:
        raise UsageError(f"{table.where(exc.index)}: record {table.ids[exc.index]!r}: {exc.message}", exc.hint) from None
    if not truncated.any():
        return CountsTable(table.ids, rows, 0)
    live = np.flatnonzero(~truncated)
    return CountsTable(Texts.of(table.ids).take(live), rows[live], len(table) - len(live))


def _score_distinct(scorer: Scorer, keys: list[tuple], table: PredictionTable, first: np.ndarray) -> np.ndarray:
    out = np.full((len(keys), 4), -1, dtype=np.int64)
    for j, (answer, reference, truncated) in enumerate(keys):
        if truncated:
            continue
        try:
            out[j] = scorer.counts(Prediction(table.ids[first[j]], answer, reference, False))
        except UsageError as exc:  # a reference the scorer cannot read: say where it is
            raise UsageError(f"{table.where(int(first[j]))}: {exc.message}", exc.hint) from None
    return out



def with_ci(counts: CountsTable, resamples: int = RESAMPLES, level: float = CI_LEVEL,
            seed: int = BOOTSTRAP_SEED) -> Score:
    result = counts.total()
    result.ci = bootstrap_ci_array(counts.rows, resamples=resamples, level=level, seed=seed)
    return result


def score_table(scorer: Scorer, table: PredictionTable, resamples: int = RESAMPLES, level: float = CI_LEVEL,
                seed: int = BOOTSTRAP_SEED) -> Score:
    return with_ci(count_table(scorer, table), resamples, level, seed)


def score_file(scorer: Scorer, path: str | Path, resamples: int = RESAMPLES, level: float = CI_LEVEL,
               seed: int = BOOTSTRAP_SEED) -> Score:
    return score_table(scorer, read_predictions(path), resamples, level, seed)


def instance_counts_of(counts: CountsTable) -> InstanceCounts:
    """The list form of base.instance_counts (tests compare the two)."""
    return InstanceCounts(list(counts.ids), [Counts(*r[:3], bool(r[3])) for r in counts.rows.tolist()], counts.skipped)
