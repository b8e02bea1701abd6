"""The Arrow reader of large predictions files is only a faster way to the exact table: it reads
a file exactly as the orjson/json path does, or declines it (and the exact path then reads it,
or says which line is wrong)."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bioeval.errors import UsageError
from bioeval.scoring import SCORERS, arrow_reader, get_scorer, ner_batch
from bioeval.scoring.files import read_predictions, score_file
from bioeval.scoring.scores_json import build_scores
from bioeval.scoring.texts import Texts

from tests.scoring.test_one_path import LABELS, OPTIONS, records_for, spec_for


def exact(tmp_path, data: bytes):
    path = tmp_path / "exact.jsonl"
    path.write_bytes(data)
    try:
        table = read_predictions(path)  # small file: the exact path
    except UsageError:
        return None
    return [list(table.ids), list(table.answers), list(table.references), list(table.truncated)]


def fast(data: bytes):
    columns = arrow_reader.read_columns(data)
    if columns is None:
        return None
    return [list(columns[k]) for k in ("ids", "answers", "references", "truncated")]


texts = st.text(alphabet=st.sampled_from("ab[], 019\n\t\"\\é\u2028\x00"), max_size=8)
record = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=3), st.integers(-3, 10**19)), "reference": texts},
    optional={"completion": texts, "prediction": texts, "prompt_truncated": st.booleans(), "extra": st.integers()})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(record, min_size=1, max_size=6), ending=st.sampled_from(["\n", ""]),
       ascii_only=st.booleans())
def test_arrow_reads_exactly_what_the_exact_path_reads(tmp_path, rows, ending, ascii_only):
    data = ("\n".join(json.dumps(r, ensure_ascii=ascii_only) for r in rows) + ending).encode()
    got, want = fast(data), exact(tmp_path, data)
    assert got is None or got == want  # declining is always allowed; a different table never


# files the exact path rejects (or reads differently); Arrow alone would accept each of them
MALFORMED = {
    "two objects on a line, and a blank line": b'{"id":"a","completion":"x","reference":"x"} '
                                               b'{"id":"b","completion":"x","reference":"x"}\n\n',
    "an object over two lines": b'{"id":"a",\n"completion":"x","reference":"x"}\n',
    "byte-order mark": b'\xef\xbb\xbf{"id":"a","completion":"x","reference":"x"}\n',
    "overlong UTF-8": b'{"id":"a","completion":"\xc0\xaf","reference":"x"}\n',
    "null flag": b'{"id":"a","completion":"x","reference":"x","prompt_truncated":null}\n',
    "duplicate id": b'{"id":"a","completion":"x","reference":"x"}\n{"id":"a","completion":"y","reference":"x"}\n',
    "same id as number and string": b'{"id":1,"completion":"x","reference":"x"}\n{"id":"1","completion":"x","reference":"x"}\n',
    "float id": b'{"id":1.0,"completion":"x","reference":"x"}\n',
    "id beyond int64": b'{"id":123456789012345678901234,"completion":"x","reference":"x"}\n',
    "completion missing on one line": b'{"id":"a","completion":"x","reference":"x"}\n{"id":"b","prediction":"x","reference":"x"}\n',
    "null completion beside a prediction": b'{"id":"a","completion":null,"prediction":"x","reference":"x"}\n',
    "key twice": b'{"id":"a","completion":"x","reference":"x","reference":"y"}\n',
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_arrow_declines_what_the_exact_path_rejects(tmp_path, name):
    data = MALFORMED[name]
    assert fast(data) is None
    assert exact(tmp_path, data) != fast(data) or exact(tmp_path, data) is None


def big_file(tmp_path, name: str, n: int):
    records = records_for(name, n, random.Random(n))
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert path.stat().st_size >= arrow_reader.MIN_BYTES  # the Arrow reader is used
    return path


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_large_files_score_the_same_by_either_reader(tmp_path, monkeypatch, name):
    path = big_file(tmp_path, name, 60_000)
    via_arrow = build_scores("r", spec_for(name), path)
    assert isinstance(read_predictions(path).answers, Texts)
    monkeypatch.setattr(arrow_reader, "MIN_BYTES", 1 << 40)
    assert isinstance(read_predictions(path).answers, list)
    assert build_scores("r", spec_for(name), path) == via_arrow


def test_a_large_file_with_a_bad_line_is_still_located(tmp_path):
    path = big_file(tmp_path, "zhan2024-set-f1", 60_000)
    lines = path.read_text().splitlines(keepends=True)
    lines[41_234] = lines[41_234].replace('"reference": ', '"reference": null, "x": ')
    path.write_text("".join(lines))
    with pytest.raises(UsageError, match=r"predictions.jsonl:41235: record 'r41234': field 'reference' is null"):
        read_predictions(path)


def test_ner_blocks_arrow_slices_and_lists_agree(monkeypatch):
    rng = random.Random(5)
    scorer = get_scorer("ner-entity-f1", labels=LABELS)
    answers, refs = [], []
    for i in range(301):
        gold = [rng.randrange(len(LABELS)) for _ in range(rng.randint(0, 9))]
        pred = gold if rng.random() < 0.4 else [rng.randrange(len(LABELS) + 1) for _ in gold]
        refs.append(str(gold) if i % 50 else f" {gold} ")
        answers.append(rng.choice([str(pred), str(pred) + "\nmore [1, 2]", "é" + str(pred), str(pred) + " x"]))
    want = scorer.counts_many(answers, refs)
    monkeypatch.setattr(ner_batch, "BLOCK", 7)  # blocks end mid-way through the column
    assert (scorer.counts_many(answers, refs) == want).all()
    arrow_answers, arrow_refs = pa.array(["pad"] + answers), pa.array(["pad"] + refs)  # slices: offset 1
    got = scorer.counts_many(Texts(arrow=arrow_answers.slice(1)), Texts(arrow=arrow_refs.slice(1)))
    assert (got == want).all()


def test_a_bad_gold_in_a_later_block_is_located(tmp_path, monkeypatch):
    monkeypatch.setattr(ner_batch, "BLOCK", 4)
    records = [{"id": f"i{i}", "completion": "[0, 1]", "reference": "[0, 1]"} for i in range(10)]
    records[9]["reference"] = "[0, 7]"
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(UsageError, match=r"p.jsonl:10: record 'i9': reference"):
        score_file(get_scorer("ner-entity-f1", **OPTIONS), path)


def test_arrow_reads_a_plain_file_itself(tmp_path):
    rows = [{"id": "a", "completion": "x\u2028é\n\"q\\", "reference": "[0, 1]", "prompt_truncated": False},
            {"id": "b", "completion": "\u0000", "reference": "", "prompt_truncated": True}]
    for ascii_only in (True, False):
        data = ("\n".join(json.dumps(r, ensure_ascii=ascii_only) for r in rows) + "\n").encode()
        assert fast(data) == exact(tmp_path, data) == [["a", "b"], [rows[0]["completion"], "\x00"], ["[0, 1]", ""],
                                                       [False, True]]


def test_a_truncated_record_is_skipped_even_with_an_unreadable_gold(tmp_path):
    records = [{"id": "a", "completion": "[0, 1]", "reference": "[0, 1]"},
               {"id": "b", "completion": "[0]", "reference": "junk", "prompt_truncated": True}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = score_file(get_scorer("ner-entity-f1", **OPTIONS), path)
    assert (result.n, result.skipped, result.f1) == (1, 1, 1.0)
