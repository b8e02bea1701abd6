"""issue 20: the lab's unformatted files become its formatted records, record for record, on
every pair where both forms exist; the paper manifest reads the three splits only the
unformatted files provide, through the data mirror, at Table 1's counts."""

from __future__ import annotations

import csv
import json
from collections import Counter
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


# ------------------------------------------------------------------ item 3: the audit's findings

@pytest.fixture(scope="module")
def paper_audit(tmp_path_factory):
    from tests.conftest import MIRROR

    from bioeval.audit.datasets import audit_manifest

    if not MIRROR.is_dir():
        pytest.skip("the lab's data mirror is not present")
    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"), data_mirror=MIRROR)
    return audit_manifest(load_manifest(PAPER), settings, only="dataset=phee,dataset=genia2011,dataset=ddi,"
                                                             "dataset=bc5cdr,dataset=bc2gm")


def _one(report, kind, dataset, split):
    (f,) = [f for f in report["findings"] if (f["kind"], f["dataset"], f["split"]) == (kind, dataset, split)]
    return f


def test_phee_as_released_has_two_event_types_the_formatting_collapses(paper_audit, mirror):
    events = Counter(e["event_type"] for line in (mirror / "raw" / "EE_PHEE_test.json").read_text().splitlines()
                     if line.strip() for a in json.loads(line)["annotations"] for e in a["events"])
    f = _one(paper_audit, "label-set-collapsed", "PHEE", "test")
    assert f["evidence"]["event_types"] == dict(events) == {"Adverse_event": 889, "Potential_therapeutic_event": 121}
    assert f["evidence"]["formatted_responses"] == {"Adverse_event": 968} and f["severity"] == "high"
    assert f["evidence"]["dropped_types"] == ["Potential_therapeutic_event"] and len(f["models"]) == 12


def test_genia2011_table_1_counts_are_another_releases(paper_audit):
    train = _one(paper_audit, "other-release", "Genia2011", "train")["evidence"]
    test = _one(paper_audit, "other-release", "Genia2011", "test")["evidence"]
    assert (train["rows"], train["table_1"], train["formatted_records"]) == (8666, 8666, 908)
    assert (test["rows"], test["table_1"], test["formatted_records"]) == (2886, 2886, 347)  # the release's dev


def test_ddi_pairs_lift_the_label_ceiling(paper_audit, mirror):
    f = _one(paper_audit, "pair-dropped", "DDI", "test")
    e = f["evidence"]
    rows = json.loads((mirror / "raw" / "RE_DDI_test.json").read_text())
    by_sentence = {}
    for r in rows:
        by_sentence.setdefault(r["sentence"], Counter())[r["relation"]] += 1
    lost = sum(sum(c.values()) - max(c.values()) for c in by_sentence.values())
    assert e["rows"] == 3020 and e["ceiling_without_pair"] == pytest.approx((3020 - lost) / 3020)
    assert e["ceiling_with_pair"] > 0.99 > e["ceiling_without_pair"]
    ceiling = _one(paper_audit, "label-ceiling", "DDI", "test")  # the formatted file's own ceiling agrees
    assert ceiling["evidence"]["ceiling"] == pytest.approx(e["ceiling_without_pair"])


def test_the_new_test_splits_get_baselines_under_both_scorers_and_overlap(paper_audit):
    for dataset in ("BC5CDR", "BC2GM", "DDI"):
        f = _one(paper_audit, "trivial-baseline", dataset, "test")
        assert f["evidence"]  # the authors' scorer and a canonical one
    assert "under entity-level F1" in _one(paper_audit, "trivial-baseline", "BC5CDR", "test")["message"]
    overlaps = {(f["dataset"], f["evidence"]["other_split"]) for f in paper_audit["findings"]
                if f["kind"] == "split-overlap"}
    assert {("BC5CDR", "train"), ("DDI", "train")} <= overlaps  # complete now: train beside test


def test_the_mirror_finds_files_its_index_lists_by_their_path_in_the_repository(tmp_path):
    from bioeval.data import mirror as mirror_mod
    from bioeval.data.cache import sha256_file

    (tmp_path / "raw").mkdir()
    body = tmp_path / "raw" / "NER_x_test.json"
    body.write_text("[]")
    digest = sha256_file(body)
    (tmp_path / "raw" / "INDEX.tsv").write_text(
        "file\tpath_at_commit\tsha256\trecords\nNER_x_test.json\tdatasets/NER/x test.json\t" + digest + "\t0\n"
        "../escape\tdatasets/evil.json\t-\t-\n")
    url = "https://example.org/repo/abc/datasets/NER/x%20test.json"
    assert mirror_mod.find(tmp_path, "x%20test.json", digest, url) == (body, digest)
    assert mirror_mod.find(tmp_path, "gone.json", digest, "https://example.org/gone.json") is None  # not by sha
    assert mirror_mod.find(tmp_path, "evil.json", None, "https://example.org/datasets/evil.json") is None
