"""Converters on small hand-written raw files: exact strings, like the lab's files of the same task."""

from __future__ import annotations

import json

import pytest

from bioeval.data.converters import convert
from bioeval.errors import DataError
from bioeval.manifest.schema import Dataset
from conftest import FIXTURES

BC5CDR_LABELS = ("O", "B-Chemical", "B-Disease", "I-Disease", "I-Chemical")


def ds(fmt: str, task="TC", labels=None, **options) -> Dataset:
    return Dataset(key="x", paper_name="X", task=task, format=fmt, labels=labels, format_options=options,
                   splits={"test": {"source": {"local": "unused"}}})


def test_pubmed_rct_sentences_labels_and_lab_instruction_pattern():
    out = convert(FIXTURES / "pubmed_rct_tiny.txt", "train", ds("pubmed-rct-txt"))
    assert [x.response for x in out] == ["BACKGROUND", "METHODS", "RESULTS", "OBJECTIVE", "CONCLUSIONS"]
    assert out[2].input == "Pain improved by 20 % ( p < 0.001 ) ."
    assert [x.id for x in out] == [f"train-{i}" for i in range(5)]
    assert out[0].instruction.startswith("Please do a classification task.")
    assert "('BACKGROUND', 'OBJECTIVE', 'METHODS', 'RESULTS', 'CONCLUSIONS')" in out[0].instruction


def test_pubmed_rct_instruction_override_and_bad_line(tmp_path):
    out = convert(FIXTURES / "pubmed_rct_tiny.txt", "test", ds("pubmed-rct-txt", instruction="Classify."))
    assert {x.instruction for x in out} == {"Classify."}
    bad = tmp_path / "bad.txt"
    bad.write_text("###1\nBACKGROUND no tab here\n")
    with pytest.raises(DataError, match=r"bad.txt:2: expected LABEL<TAB>sentence"):
        convert(bad, "test", ds("pubmed-rct-txt"))


def test_conll_matches_the_lab_ner_string_forms(mirror):
    out = convert(FIXTURES / "bc4chemd_tiny.tsv", "test", ds("conll-iob", "NER", BC5CDR_LABELS))
    assert len(out) == 3  # two blank lines in a row do not make an empty sentence
    assert out[0].input == "['Famotidine', '-', 'associated', 'delirium', '.']"
    assert out[0].response == "[1, 0, 0, 0, 0]"
    assert out[1].response == "[0, 1, 4, 0]"
    assert out[2].input == "[\"Patient's\", 'naloxone']"  # Python's list repr, as the lab's files
    lab = json.loads((mirror / "NER_bc5cdr_validation.json").read_text())[0]
    # same string forms as the lab's NER file: list repr of tokens, list repr of ints, JSON tag map
    assert lab["inputsentence"] == str(eval(lab["inputsentence"]))
    assert lab["response"] == str(eval(lab["response"]))
    assert lab["instruction"].endswith(json.dumps({t: i for i, t in enumerate(BC5CDR_LABELS)}))
    assert out[0].instruction.endswith(json.dumps({t: i for i, t in enumerate(BC5CDR_LABELS)}))
    bc2gm = json.loads((mirror / "NER_bc2gm_val.json").read_text())[0]["instruction"]
    assert out[0].instruction.split("Response should follow")[0] == bc2gm.split("Response should follow")[0]


def test_conll_unknown_tag_is_an_error_with_the_line():
    with pytest.raises(DataError, match=r"bc4chemd_tiny.tsv:1: tag 'B-Chemical' is not in the labels"):
        convert(FIXTURES / "bc4chemd_tiny.tsv", "test", ds("conll-iob", "NER", ("O", "B-Gene", "I-Gene")))


def test_ade_csv_uses_the_lab_instruction_and_label_strings(mirror):
    out = convert(FIXTURES / "ade_tiny.csv", "test", ds("ade-classification"))
    assert [x.response for x in out] == ["related", "not-related", "related"]
    assert out[1].input == "Immobilization, while Paget's bone disease was present, caused hypercalcemia."
    lab = json.loads((mirror / "TC_ade_test.json").read_text())
    assert out[0].instruction == lab[0]["instruction"]
    assert {x["response"] for x in lab} == {x.response for x in out}


def test_ade_parquet(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa
    path = tmp_path / "ade.parquet"
    pq.write_table(pa.table({"text": ["a", "b"], "label": [0, 1]}), path)
    assert [x.response for x in convert(path, "test", ds("ade-classification"))] == ["not-related", "related"]


def test_health_advice_outputs_verbatim_and_label_set_in_instruction():
    out = convert(FIXTURES / "health_advice_tiny.json", "train", ds("medalpaca-health-advice"))
    assert [x.response for x in out] == ["This is a strong advice", "This is a weak advice", "This is no advice"]
    assert out[0].input == "Patients should take aspirin daily."
    assert "('This is a strong advice', 'This is a weak advice', 'This is no advice')" in out[0].instruction
    kept = convert(FIXTURES / "health_advice_tiny.json", "train", ds("medalpaca-health-advice", keep_instruction=True))
    assert kept[0].instruction.startswith("Your task is to classify")


def test_text_label_csv_and_jsonl():
    csv_out = convert(FIXTURES / "text_label_tiny.csv", "test", ds("text-label", text_column="tweet"))
    assert [(x.input, x.response) for x in csv_out] == [("I got my flu shot today, arm is sore", "1"),
                                                          ("Nothing to report, just coffee", "0")]
    assert csv_out[0].instruction == ""
    out = convert(FIXTURES / "text_label_tiny.jsonl", "test", ds("text-label", instruction="Is this about a drug?"))
    assert [x.response for x in out] == ["1", "0", "positive"]
    assert out[0].instruction == "Is this about a drug?"
    with pytest.raises(DataError, match="no column 'text'"):
        convert(FIXTURES / "text_label_tiny.csv", "test", ds("text-label"))


def test_unknown_format_names_the_known_ones():
    with pytest.raises(DataError, match="Known formats: .*conll-iob"):
        convert(FIXTURES / "ade_tiny.csv", "test", ds("nope"))
