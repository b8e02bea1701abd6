"""Property test: a mutated data file never gives a traceback, only a located DataError whose
message quotes at most a short excerpt of the file (the converters: lab JSON, CoNLL, PubMed RCT,
ADE, text-label, health advice)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bioeval.data.converters import EXCERPT_CHARS, convert
from bioeval.errors import DataError
from bioeval.manifest.schema import Dataset
from conftest import FIXTURES

LAB_JSON = json.dumps([{"instruction": "Please do a classification task.", "inputsentence": "Aspirin helps.",
                        "response": "related"},
                       {"instruction": "Please do a classification task.", "inputsentence": "It rained.",
                        "response": "not-related"}], indent=1).encode()

# (format, file name, original bytes, labels)
SEEDS = [
    ("zhan2024-json", "TC_x_test.json", LAB_JSON, None),
    ("conll-iob", "bc4chemd_tiny.tsv", (FIXTURES / "bc4chemd_tiny.tsv").read_bytes(), ("O", "B-Chemical", "I-Chemical")),
    ("pubmed-rct-txt", "pubmed_rct_tiny.txt", (FIXTURES / "pubmed_rct_tiny.txt").read_bytes(), None),
    ("ade-classification", "ade_tiny.csv", (FIXTURES / "ade_tiny.csv").read_bytes(), None),
    ("text-label", "text_label_tiny.csv", (FIXTURES / "text_label_tiny.csv").read_bytes(), None),
    ("text-label", "text_label_tiny.jsonl", (FIXTURES / "text_label_tiny.jsonl").read_bytes(), None),
    ("medalpaca-health-advice", "health_advice_tiny.json", (FIXTURES / "health_advice_tiny.json").read_bytes(), None),
]
NASTY = [b"\x00", b"\xff\xfe", b"\n", b"\t", b"\r", b'"', b"[", b"{", b"}", b",", b"\\", b"9" * 5000,
         b"[" * 5000, b"x" * 200_000, b"\xc3", b"-DOCSTART-", b"###", b"null", b"1e999"]


def dataset(fmt: str, labels) -> Dataset:
    task = "NER" if fmt == "conll-iob" else "TC"
    return Dataset(key="x", paper_name="X", task=task, format=fmt, labels=labels,
                   splits={"test": {"source": {"local": "unused"}}})


@st.composite
def mutated(draw):
    fmt, name, data, labels = draw(st.sampled_from(SEEDS))
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[i] ^= draw(st.integers(1, 255))
        elif op == "delete":
            del data[i:i + draw(st.integers(1, 40))]
        elif op == "insert":
            data[i:i] = draw(st.one_of(st.sampled_from(NASTY), st.binary(max_size=12)))
        elif op == "truncate":
            del data[i:]
        else:
            data[i:i] = data[i:i + draw(st.integers(1, 80))]
    return fmt, name, bytes(data), labels


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=mutated())
def test_mutated_data_files_give_located_errors_only(tmp_path, case):
    fmt, name, data, labels = case
    path = tmp_path / name
    path.write_bytes(data)
    try:
        instances = convert(path, "test", dataset(fmt, labels))
    except DataError as exc:
        text = str(exc)
        assert str(path) in text or "dataset x" in text, text  # located: names the file
        # no more of the file than a short excerpt (plus the fixed words of the message)
        assert len(text) < len(str(path)) + 500 + EXCERPT_CHARS, text
        return
    assert all(isinstance(x.input, str) and isinstance(x.response, str) for x in instances)


def test_error_quotes_only_a_short_excerpt_of_the_line(tmp_path):
    secret = "canary-" + "s" * 20
    path = tmp_path / "bad.txt"
    path.write_text("###1\nBACKGROUND\tfine\n" + "x" * (EXCERPT_CHARS + 1) + secret + "\n")
    with pytest.raises(DataError) as info:
        convert(path, "test", dataset("pubmed-rct-txt", None))
    assert f"{path}:3:" in str(info.value)
    assert "canary" not in str(info.value) and "xxxx" in str(info.value)
