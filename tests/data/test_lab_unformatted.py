"""issue 20: the lab's unformatted files become its formatted records, record for record, on
every pair where both forms exist; the paper manifest reads the three splits only the
unformatted files provide, through the data mirror, at Table 1's counts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bioeval.data.converters import convert
from bioeval.data.instances import read_lab_json
from bioeval.data.splits import load_split, reader_view
from bioeval.errors import DataError
from bioeval.manifest import load_manifest
from bioeval.settings import Settings

PAPER = Path(__file__).resolve().parents[2] / "manifests" / "deepseek_bionlp.yaml"
# (dataset, the new split whose source carries the instruction, unformatted file, formatted file)
PAIRS = [
    ("bc5cdr", "test", "NER_bc5cdr_train.json", "NER_bc5cdr_train.json"),
    ("bc5cdr", "test", "NER_bc5cdr_validation.json", "NER_bc5cdr_validation.json"),
    ("bc2gm", "test", "NER_bc2gm_validation.json", "NER_bc2gm_val.json"),
    ("ddi", "train", "RE_DDI_valid.json", "RE_DDI_dev.json"),
    ("ddi", "train", "RE_DDI_test.json", "RE_DDI_test.json"),
]
NEW = {("bc5cdr", "test"): 5865, ("bc2gm", "test"): 5000, ("ddi", "train"): 11556}


@pytest.mark.parametrize("key,split,raw,formatted", PAIRS, ids=[p[2] for p in PAIRS])
def test_unformatted_files_convert_to_the_labs_records(mirror, key, split, raw, formatted):
    """The converter, with the instruction the manifest gives the new split, reproduces every
    formatted record (instruction, input and response) of the other splits from their sources."""
    dataset = load_manifest(PAPER).manifest.dataset_by_key(key)
    ours = convert(mirror / "raw" / raw, "x", reader_view(dataset, split))
    labs = read_lab_json(mirror / formatted, "x")
    assert len(ours) == len(labs) > 1000
    assert ours == labs  # Instance equality: id, instruction, input, response


def test_the_paper_manifest_reads_the_new_splits_at_table_1_counts(mirror, tmp_path):
    loaded = load_manifest(PAPER)
    settings = Settings(cache_dir=tmp_path / "cache", data_mirror=mirror)
    index = {r["file"]: r for r in csv.DictReader(open(mirror / "raw" / "INDEX.tsv"), delimiter="\t")}
    for (key, split), count in NEW.items():
        dataset = loaded.manifest.dataset_by_key(key)
        source = dataset.splits[split].source
        row = next(r for r in index.values() if source.url.endswith("/" + r["path_at_commit"]))
        assert source.sha256 == row["sha256"] and int(row["records"]) == count  # pinned to the raw bytes
        assert dataset.splits[split].records == count and source.format == "zhan2024-unformatted"
        instances = load_split(dataset, split, loaded, settings)
        assert len(instances) == count
        lab = read_lab_json(next(mirror / f for f in (p[3] for p in PAIRS if p[0] == key)), "x")
        assert {i.instruction for i in instances} == {lab[0].instruction}  # the lab's own text


def test_the_instruction_comes_from_the_manifest(tmp_path):
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps([{"sentence": "['A', '.']", "response": "[0, 0]"}]))
    dataset = load_manifest(PAPER).manifest.dataset_by_key("bc5cdr")
    bare = dataset.model_copy(update={"format": "zhan2024-unformatted", "format_options": {}})
    with pytest.raises(DataError, match="needs format_options.instruction"):
        convert(raw, "test", bare)
    (inst,) = convert(raw, "test", reader_view(dataset, "test"))
    assert inst.input == "['A', '.']" and inst.response == "[0, 0]" and inst.instruction.startswith("Please do a Named")


@pytest.mark.parametrize("content", ['{"sentence": "x"}', '[{"sentence": "x"}]', '[{"response": "y"}]', "[1]", "[", ""])
def test_malformed_unformatted_files_are_located_errors(tmp_path, content):
    raw = tmp_path / "raw.json"
    raw.write_text(content)
    dataset = load_manifest(PAPER).manifest.dataset_by_key("bc5cdr")
    with pytest.raises(DataError) as exc:
        convert(raw, "test", reader_view(dataset, "test"))
    assert str(raw) in str(exc.value)


def test_run_ids_of_splits_without_their_own_format_are_unchanged():
    """Sources gained `format`; a source without one pins what it pinned before (run ids stay)."""
    from bioeval.manifest import cells

    loaded = load_manifest(PAPER)
    spec = next(c for c in cells(loaded) if c.dataset.key == "phee").spec
    assert set(spec["dataset"]["splits"]["test"]["source"]) == {"url", "hf", "local", "sha256"}
    bc5 = next(c for c in cells(loaded) if c.dataset.key == "bc5cdr").spec
    assert bc5["dataset"]["splits"]["test"]["source"]["format"] == "zhan2024-unformatted"
