"""The audit against the lab's real files, checked with numbers computed here independently."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bioeval.audit.datasets import audit_manifest
from bioeval.audit.tables import check_cell, printed_digits
from bioeval.manifest import load_manifest
from bioeval.settings import Settings
from conftest import HERE, write_manifest

SUBSET = HERE / "manifests" / "zhan_subset.yaml"


def set_f1(preds, golds):
    """PROTOCOL.md 1.1, written again here: ", "-split sets, micro sums."""
    c = p = g = 0
    for pred, gold in zip(preds, golds):
        ps, gs = set(pred.split(", ")), set(gold.split(", "))
        c, p, g = c + len(ps & gs), p + len(ps), g + len(gs)
    if c == 0:
        return 0.0, 0.0, 0.0
    return c / p, c / g, 2 * (c / p) * (c / g) / (c / p + c / g)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from conftest import MIRROR_DIR
    if not MIRROR_DIR.is_dir():
        pytest.skip("the lab's data mirror is not present")
    settings = Settings(cache_dir=tmp_path_factory.mktemp("cache"), data_mirror=MIRROR_DIR)
    return audit_manifest(load_manifest(SUBSET), settings)


def entry(report, key, split):
    return next(e for e in report["datasets"] if e["key"] == key and e["split"] == split)


def lab(mirror, name):
    return json.loads((mirror / name).read_text())


def test_phee_majority_response_scores_one(report, mirror):
    e = entry(report, "phee", "test")
    assert {x["response"] for x in lab(mirror, "EE_phee_test.json")} == {"Adverse_event"}
    major = next(b for b in e["baselines"] if b["name"] == "majority-response")
    assert (major["precision"], major["recall"], major["f1"], major["oracle"]) == (1.0, 1.0, 1.0, False)
    assert e["records"] == e["expected_records"] == 968 and e["count_ok"] and e["sha256_ok"] is True
    assert "every response of the test split is 'Adverse_event'" in e["findings"]
    assert any("above 2 of the 2 published models" in f for f in e["findings"])
    train_inputs = {x["inputsentence"] for x in lab(mirror, "EE_phee_train.json")}
    dup = sum(x["inputsentence"] in train_inputs for x in lab(mirror, "EE_phee_test.json"))
    assert e["duplicates_with_train"] == dup


def test_genia_test_gold_all_empty_and_count_mismatch(report, mirror):
    e = entry(report, "genia2013", "test")
    assert all(x["response"] == "" for x in lab(mirror, "EE_genia2013_test.json"))
    assert e["empty_gold_share"] == 1.0
    assert "every gold response of the test split is empty" in e["findings"]
    g = entry(report, "genia2011", "train")
    assert (g["records"], g["expected_records"], g["count_ok"]) == (908, 8666, False)
    assert "908 records, Table 1 says 8,666" in g["findings"]


def test_ddi_without_train_uses_test_majority_labelled_oracle(report, mirror):
    assert entry(report, "ddi", "train")["available"] is False
    assert any(f.startswith("unavailable:") for f in entry(report, "ddi", "train")["findings"])
    e = entry(report, "ddi", "test")
    golds = [x["response"] for x in lab(mirror, "RE_DDI_test.json")]
    top = Counter(golds).most_common(1)[0][0]
    expected = set_f1([top] * len(golds), golds)
    major = next(b for b in e["baselines"] if b["name"] == "majority-response")
    assert major["oracle"] is True and major["constant"] == top
    assert major["f1"] == pytest.approx(expected[2]) and major["precision"] == pytest.approx(expected[0])
    best = next(b for b in e["baselines"] if b["name"] == "best-constant")
    assert best["oracle"] is True
    assert best["f1"] == pytest.approx(max(set_f1([c] * len(golds), golds)[2] for c in set(golds)))
    assert e["distribution"]["counts"] == dict(Counter(golds).most_common(10))


def test_published_table_findings(report):
    found = {(p["model"], p["dataset"], p["check"]) for p in report["published_table"]}
    assert found == {("model-b", "genia2013", "f1-harmonic"), ("model-a", "ddi", "single-label")}


def test_table_checks_rounding_bounds():
    assert printed_digits(0.8523) == 4 and printed_digits(0.5) == 1 and printed_digits(1.0) == 0
    assert check_cell(0.8523, 0.7912, 0.8206, False) == []  # 2PR/(P+R) = 0.82061
    assert [c for c, _ in check_cell(0.8523, 0.7912, 0.8216, False)] == ["f1-harmonic"]
    assert [c for c, _ in check_cell(0.9, 0.9, 0.9001, True)] == []
    assert [c for c, _ in check_cell(0.9012, 0.8901, 0.8956, True)] == ["single-label"]
    assert check_cell(0.9012, 0.8901, 0.8956, False) == []  # multi-label: P != R is fine
    # the paper's own mixed digits (Llama3-8B, BC4Chemd): 0.986 may be 0.9860 with the zero dropped
    assert check_cell(0.986, 0.972, 0.9791, False) == []
    assert [c for c, _ in check_cell(1.2, 0.5, 0.5, False)] == ["range"]


def test_all_o_baseline_on_tag_lists(tmp_path, mirror):
    sha = "33e932c0aa4e4c5335c2888d355ad7d61479370b8902e7aa2e2449cc9a30a9ba"
    path = write_manifest(tmp_path, f"""\
        - key: bc5cdr
          paper_name: BC5CDR
          task: NER
          labels: [O, B-Chemical, B-Disease, I-Disease, I-Chemical]
          splits:
            test: {{source: {{url: "http://127.0.0.1:9/NER_bc5cdr_validation.json", sha256: {sha}}}, records: 5330}}
        """)
    rep = audit_manifest(load_manifest(path), Settings(cache_dir=tmp_path / "c", data_mirror=mirror))
    e = rep["datasets"][0]
    golds = [x["response"] for x in lab(mirror, "NER_bc5cdr_validation.json")]
    preds = ["[" + ", ".join(["0"] * len(json.loads(g))) + "]" for g in golds]
    all_o = next(b for b in e["baselines"] if b["name"] == "all-O")
    assert all_o["f1"] == pytest.approx(set_f1(preds, golds)[2]) and all_o["oracle"] is False
    assert e["distribution"]["kind"] == "tag ids" and "0 (O)" in e["distribution"]["counts"]


@pytest.mark.slow
def test_audit_cli_offline_json_and_strict(cli, mirror):
    r = cli("--data-mirror", str(mirror), "audit", str(SUBSET), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"datasets", "published_table"} <= data.keys()
    keys = {"dataset", "split", "records", "expected_records", "count_ok", "sha256_ok", "distribution", "baselines", "findings"}
    assert all(keys <= e.keys() for e in data["datasets"])
    assert all({"name", "precision", "recall", "f1", "oracle"} <= b.keys() for e in data["datasets"] for b in e["baselines"])
    strict = cli("--data-mirror", str(mirror), "audit", str(SUBSET), "--strict")
    assert strict.returncode == 1 and "Genia2011" in strict.stdout
