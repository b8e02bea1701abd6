"""Each audit finding on small hand-made files whose answer is known by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bioeval.audit import checks as checks
from bioeval.audit import rules as rules
from bioeval.audit import tables as ta
from bioeval.audit.datasets import audit_manifest
from bioeval.audit.findings import KINDS, SEVERITIES, by_severity
from bioeval.data.instances import Instance
from bioeval.manifest import load_manifest
from bioeval.settings import Settings
from conftest import write_manifest

FIELDS = {"kind", "severity", "dataset", "split", "models", "message", "evidence"}


def inst(i, inp, response, instruction="Classify."):
    return Instance(f"test-{i}", instruction, inp, response)


def rows(*pairs, instruction="Classify."):
    return [inst(i, a, b, instruction) for i, (a, b) in enumerate(pairs)]


# ----------------------------------------------------------------------------- feasibility

def test_precision_above_recall_is_infeasible_with_single_item_gold():
    structure = {"sizes": [1, 1, 1, 1], "cut": None, "records": 4, "task": "EE"}
    out = rules.feasibility("Toy", structure, {"a": (0.8, 0.5, 0.6154), "b": (0.5, 0.75, 0.6)}, "zhan2024-set-f1")
    (bad,) = [f for f in out if f["kind"] == "published-infeasible"]
    assert bad["models"] == ["a"] and bad["severity"] == "high"
    assert bad["evidence"]["rows"] == {"a": {"precision": 0.8, "recall": 0.5}}
    # P above R only within the two roundings is not flagged; a dropped trailing zero widens R's interval
    assert not ta.infeasible_p_over_r(0.7502, 0.7501) and ta.infeasible_p_over_r(0.7503, 0.7501)
    assert not ta.infeasible_p_over_r(0.7502, 0.75)
    # multi-item gold: P > R is possible
    multi = {"sizes": [2, 1, 1, 1], "cut": None, "records": 4, "task": "EE"}
    assert not [f for f in rules.feasibility("Toy", multi, {"a": (0.8, 0.6, 0.6857)}, "zhan2024-set-f1")
                if f["kind"] == "published-infeasible"]


def test_lattice_single_item_whole_file():
    structure = {"sizes": [1, 1, 1, 1], "cut": None, "records": 4, "task": "RE"}
    # 3/4: c = 3, p = g = 4 fits; 0.6 (one digit: 0.55..0.65) is no k/4, nor k/3, k/2, k/1
    out = rules.feasibility("Toy", structure, {"fits": (0.75, 0.75, 0.75), "off": (0.6, 0.6, 0.6)}, "zhan2024-set-f1")
    (off,) = out
    assert off["kind"] == "off-lattice" and off["models"] == ["off"] and off["severity"] == "medium"
    ev = off["evidence"]
    assert ev["n_scored"] == 4 and ev["gold_items"] == [4, 4] and ev["single_item_gold"] is True
    assert ev["recall_fits_alone"] is False and ev["fits_if_truncated"] is False and ev["fits_if_skipped_at_least"] is None
    assert any("rounded to nearest" in a for a in ev["assumptions"])


def test_lattice_fits_if_instances_were_skipped():
    # R = 0.667 is 2/3: not k/4 but fits when one of four instances was skipped
    structure = {"sizes": [1, 1, 1, 1], "cut": None, "records": 4, "task": "RE"}
    (off,) = rules.feasibility("Toy", structure, {"m": (0.667, 0.667, 0.667)}, "zhan2024-set-f1")
    assert off["evidence"]["fits_if_skipped_at_least"] == 1


def test_lattice_multi_item_gold_uses_the_gold_total():
    structure = {"sizes": [2, 1, 1], "cut": None, "records": 3, "task": "RE"}  # g = 4
    assert rules.feasibility("Toy", structure, {"m": (0.5, 0.5, 0.5)}, "zhan2024-set-f1") == []  # c 2, p 4
    (off,) = rules.feasibility("Toy", structure, {"m": (0.6, 0.6, 0.6)}, "zhan2024-set-f1")
    assert off["evidence"]["gold_items"] == [4, 4]
    # P, R fit alone but not together with F1: c 2, g 4, p 4 gives F1 0.5, not 0.9
    (joint,) = rules.feasibility("Toy", structure, {"m": (0.5, 0.5, 0.9)}, "zhan2024-set-f1")
    assert joint["evidence"]["recall_fits_alone"] is True and "together" in joint["message"]


def test_lattice_space_for_the_cut_and_for_a_missing_tc_file():
    single = rules.lattice_space({"sizes": [1] * 10, "cut": 4})
    assert (single["n"], single["g"]) == (4, (4, 4))
    multi = rules.lattice_space({"sizes": [1, 2, 3, 4], "cut": 2})
    assert (multi["n"], multi["g"]) == (2, (3, 7))
    tc = rules.lattice_space({"sizes": None, "cut": 1000, "records": 4704, "task": "TC"})
    assert (tc["n"], tc["single_item"]) == (1000, True) and "assumed" in tc["basis"]
    assert rules.lattice_space({"sizes": None, "cut": 1000, "records": 10, "task": "NER"}) is None
    # four printed decimals on a 1,000-instance cut cannot be k/1000 unless the last digit is 0
    (off,) = rules.feasibility("Toy", {"sizes": None, "cut": 1000, "records": 4704, "task": "TC"},
                               {"m": (0.9213, 0.9213, 0.9213), "ok": (0.921, 0.921, 0.921)}, "zhan2024-set-f1")
    assert off["models"] == ["m"]


def test_truncation_is_reported_not_flagged_as_medium():
    # 0.74 (two digits) on n = 4: nearest needs 0.735..0.745 (no k/4); truncation 0.74..0.75 admits 3/4
    (off,) = rules.feasibility("Toy", {"sizes": [1] * 4, "cut": None}, {"m": (0.74, 0.74, 0.74)}, "zhan2024-set-f1")
    assert off["evidence"]["fits_if_truncated"] is True and off["severity"] == "low"


# ----------------------------------------------------------------------------- identical rows, ceilings, overlap

def test_identical_rows():
    from bioeval.manifest.schema import MetricValue

    def row(p, r, f):
        return {"precision": MetricValue(value=p), "recall": MetricValue(value=r), "f1": MetricValue(value=f)}

    expected = {"a": {"d": row(0.7627, 0.8108, 0.786)}, "b": {"d": row(0.7627, 0.8108, 0.786)},
                "c": {"d": row(0.7, 0.8, 0.7467)}, "x": {"e": row(0.9, 0.9, 0.9)}, "y": {"e": row(0.9, 0.9, 0.9)}}
    groups = ta.identical_rows(expected)
    assert sorted((g["dataset"], tuple(g["models"])) for g in groups) == [("d", ("a", "b")), ("e", ("x", "y"))]
    out = {f["dataset"]: f for f in rules.identical_rows({"d": "D", "e": "E"}, groups)}
    assert out["D"]["severity"] == "medium" and out["D"]["evidence"]["distinct_numbers"] == 3
    assert out["E"]["severity"] == "low" and out["E"]["evidence"]["distinct_numbers"] == 1


def test_label_ceiling_from_identical_inputs_with_different_gold():
    data = rows(("drug0 with drug1", "effect"), ("drug0 with drug1", "NA"), ("drug0 with drug1", "effect"),
                ("drug0 alone", "NA"))
    info = checks.label_ceiling(data)
    assert info["ceiling"] == 0.75 and info["unavoidable_errors"] == 1
    assert (info["conflicting_groups"], info["rows_in_conflict"]) == (1, 3)
    assert info["examples"][0]["rows"] == ["test-0", "test-1", "test-2"]
    assert info["examples"][0]["golds"] == {"effect": 2, "NA": 1}
    # a published recall of 0.9 on this whole file is above the ceiling
    (f,) = rules.label_ceiling("Toy", "test", info, {"m": (0.9, 0.9, 0.9), "ok": (0.7, 0.7, 0.7)}, True, True)
    assert f["severity"] == "high" and f["models"] == ["m"] and f["evidence"]["ceiling"] == 0.75
    assert checks.label_ceiling(rows(("a", "X"), ("a", "X"))) is None


def test_label_ceiling_of_the_protocol_sample_is_higher():
    # 2 of 4 rows: only the 1 in 6 samples holding both conflicting rows lose one (ceiling 1/2)
    data = rows(("a", "X"), ("a", "Y"), ("b", "Z"), ("c", "W"))
    info = checks.label_ceiling(data, sample_size=2)
    assert info["ceiling"] == 0.75
    sample = info["sample_ceiling"]
    assert (sample["size"], sample["draws"], sample["max"]) == (2, 200, 1.0)
    assert sample["mean"] == pytest.approx(1 - 1 / 12, abs=0.04) and sample["p5"] in (0.5, 1.0)
    (f,) = rules.label_ceiling("Toy", "test", info, {}, True, False)
    assert "random 2-instance sample" in f["message"]


def test_split_overlap_exact_normalised_and_same_label():
    test = rows(("The <e1>aspirin</e1> works .", "effect"), ("The ASPIRIN  works!", "NA"), ("novel sentence", "NA"),
                ("copied verbatim", "int"))
    train = rows(("the aspirin works", "effect"), ("copied verbatim", "int"))
    info = checks.split_overlap(test, train)
    assert (info["exact"], info["normalised"], info["same_label"]) == (1, 3, 2)
    assert info["normalised_share"] == 0.75 and info["example_rows"] == ["test-0", "test-1", "test-3"]
    assert checks.normalise("The <e1>Aspirin</e1>, works.") == "the aspirin works"
    assert checks.normalise("@DRUG$ and [E1]x[/E1]") == "and x"
    (f,) = rules.split_overlap("Toy", "train", info)
    assert f["severity"] == "medium" and f["split"] == "test" and f["evidence"]["other_split"] == "train"
    assert rules.split_overlap("Toy", "train", checks.split_overlap(test[2:3], train)) == []


# ----------------------------------------------------------------------------- baselines, budgets

def test_canonical_constant_label_scores():
    scores = {c["constant"]: c for c in checks.constant_label_scores(rows(("a", "A"), ("b", "A"), ("c", "A"), ("d", "B")))}
    assert scores["A"]["accuracy"] == 0.75 and scores["A"]["macro_f1"] == pytest.approx(2 * 3 / 7 / 2)
    assert scores["B"]["accuracy"] == 0.25


def test_canonical_set_f1_treats_empty_as_empty():
    best = checks.best_constant_set(rows(("a", "X, Y"), ("b", "X"), ("c", "")))
    assert best["f1"] == pytest.approx(2 / 3) and best["gold_items"] == 3
    empty = checks.best_constant_set(rows(("a", ""), ("b", "")))
    assert empty["f1"] is None and empty["gold_items"] == 0  # no gold items: undefined, not 1.0


def test_budgets_with_a_real_tokenizer(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    counter = checks.TokenCounter(tmp_path)  # a folder holding tokenizer.json
    assert not counter.estimated and counter.lengths(["a b c", "a"]) == [3, 1]
    info = checks.over_budget(counter.lengths(["a b c", "a", "a b"]), 2, ["t-0", "t-1", "t-2"])
    assert (info["over"], info["max_tokens_over"], info["over_rows"]) == (1, 3, ["t-0"])
    (f,) = rules.budget("Toy", "test", "answers", info, counter.estimated, counter.name)
    assert f["evidence"]["estimated"] is False and "estimated" not in f["message"]


def test_budgets_estimated_are_labelled():
    counter = checks.TokenCounter(None)
    assert counter.estimated and counter.lengths(["[0, 12]", "two words"]) == [6, 2]
    (f,) = rules.budget("Toy", "test", "prompts", checks.over_budget([5, 1], 2, ["a", "b"]), True, counter.name)
    assert f["evidence"]["estimated"] is True and "estimated" in f["message"]


def test_bad_tokenizer_path_is_a_usage_error(tmp_path):
    from bioeval.errors import UsageError

    with pytest.raises(UsageError, match="--tokenizer"):
        checks.TokenCounter(tmp_path / "nope")


# ----------------------------------------------------------------------------- the whole audit on hand-made files

def lab_file(path, pairs, instruction="Extract the event types."):
    path.write_text(json.dumps([{"instruction": instruction, "inputsentence": a, "response": b} for a, b in pairs]))


@pytest.fixture
def toy(tmp_path):
    lab_file(tmp_path / "train.json", [("the aspirin works", "Adverse_event"), ("other text", "Adverse_event")])
    lab_file(tmp_path / "test.json", [("The aspirin works.", "Adverse_event"), ("x", "Adverse_event"),
                                      ("y", "Adverse_event"), ("y", "Adverse_event")])
    path = write_manifest(tmp_path, """\
        - key: toy
          paper_name: Toy
          task: EE
          splits:
            train: {source: {local: train.json}, records: 2}
            test: {source: {local: test.json}, records: 5}
        """, models_yaml="""\
models:
  - {key: model-a, paper_name: A, repo: org/a, revision: 0123456789abcdef0123456789abcdef01234567}
  - {key: model-b, paper_name: B, repo: org/b, revision: 0123456789abcdef0123456789abcdef01234568}
""")
    path.write_text(path.read_text() + """
expected:
  model-a:
    toy: {precision: 0.85, recall: 0.75, f1: 0.7969}
  model-b:
    toy: {precision: 0.85, recall: 0.75, f1: 0.7969}
""")
    return path


def test_audit_json_contract_on_hand_made_files(toy, tmp_path):
    report = audit_manifest(load_manifest(toy), Settings(cache_dir=tmp_path / "cache"))
    findings = report["findings"]
    assert findings and all(set(f) == FIELDS for f in findings)
    assert all(f["kind"] in KINDS and f["severity"] in SEVERITIES for f in findings)
    assert findings == by_severity(findings)  # most severe first
    kinds = {f["kind"] for f in findings}
    assert {"count-mismatch", "trivial-baseline", "published-infeasible", "identical-rows", "split-overlap"} <= kinds
    infeasible = next(f for f in findings if f["kind"] == "published-infeasible")
    assert infeasible["models"] == ["model-a", "model-b"]  # P 0.85 > R 0.75, one gold item each
    base = next(f for f in findings if f["kind"] == "trivial-baseline")
    assert base["severity"] == "high" and base["evidence"]["authors_scorer"]["f1"] == 1.0
    overlap = next(f for f in findings if f["kind"] == "split-overlap")
    assert (overlap["evidence"]["exact"], overlap["evidence"]["normalised"]) == (0, 1)
    assert all(isinstance(v, (int, float)) for f in findings for k, v in f["evidence"].items()
               if k in ("records", "expected_records", "n", "exact", "normalised"))
    json.dumps(report)  # serialisable as is


def test_audit_only_filters_and_refuses_unknown_keys(toy, tmp_path):
    from bioeval.errors import UsageError

    settings = Settings(cache_dir=tmp_path / "cache")
    with pytest.raises(UsageError, match="unknown dataset nope"):
        audit_manifest(load_manifest(toy), settings, only="dataset=nope")
    report = audit_manifest(load_manifest(toy), settings, only="model=model-a")
    assert all(f["models"] in ([], ["model-a"]) for f in report["findings"])
    assert not [f for f in report["findings"] if f["kind"] == "identical-rows"]  # one model left


def test_audit_cli_usage_errors(toy, tmp_path, cli):
    r = cli("audit", str(toy), "--only", "dataset=nope")
    assert r.returncode == 2 and "unknown dataset nope" in r.stderr and "Traceback" not in r.stderr
    r = cli("--data-mirror", str(tmp_path / "no-such-folder"), "audit", str(toy))
    assert r.returncode == 2 and "no such folder" in r.stderr and r.stdout.count("unavailable") == 0
    r = cli("audit", str(toy), "--json")
    assert r.returncode == 0 and {f["kind"] for f in json.loads(r.stdout)["findings"]} >= {"published-infeasible"}
    text = cli("audit", str(toy))
    assert text.returncode == 0 and "HIGH" in text.stdout and "published-infeasible" in text.stdout
    assert text.stdout.index("HIGH") < text.stdout.index("MEDIUM")  # most severe first


def test_strict_fails_on_an_infeasible_row(toy, tmp_path):
    from bioeval.audit.render import strict_failures

    report = audit_manifest(load_manifest(toy), Settings(cache_dir=tmp_path / "cache"))
    assert "Toy: published-infeasible" in strict_failures(report)


def test_audit_uses_a_materialised_tokenizer_from_the_cache(toy, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    folder = tmp_path / "cache" / "models" / "gguf" / ("f" * 64)
    folder.mkdir(parents=True)
    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "tokenizer.json"))
    report = audit_manifest(load_manifest(toy), Settings(cache_dir=tmp_path / "cache"))
    assert report["token_counts"] == f"tokenizer {folder / 'tokenizer.json'}"
    estimated = audit_manifest(load_manifest(toy), Settings(cache_dir=tmp_path / "other"))
    assert estimated["token_counts"].startswith("estimated")


def test_audit_with_a_tokenizer_imports_no_torch(toy, tmp_path):
    import subprocess
    import sys

    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    repo = Path(__file__).resolve().parents[2]
    probe = ("import sys\nfrom bioeval.cli import main\n"
             "try:\n    main.main(args=sys.argv[1:], prog_name='bioeval', standalone_mode=False)\n"
             "except SystemExit:\n    pass\n"
             "print('HEAVY=' + ','.join(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", probe, "audit", str(toy), "--json", "--tokenizer", str(tmp_path)],
                       cwd=repo, capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "HEAVY=", r.stdout[-300:]


def test_off_lattice_explained_by_long_prompts_is_low():
    # 0.67 is no k/4 (nor when truncated: 0.665..0.68) but 2/3: it fits if one of 4 instances was skipped
    structure = {"sizes": [1] * 4, "cut": None}
    (off,) = rules.feasibility("Toy", structure, {"m": (0.67, 0.67, 0.67)}, "zhan2024-set-f1", long_prompts=2)
    assert off["evidence"]["fits_if_skipped_at_least"] == 1 and off["evidence"]["fits_if_truncated"] is False
    assert off["severity"] == "low" and "skipped" in off["message"]
    (unexplained,) = rules.feasibility("Toy", structure, {"m": (0.67, 0.67, 0.67)}, "zhan2024-set-f1", long_prompts=0)
    assert unexplained["severity"] == "medium"


def test_no_split_available_is_said(tmp_path):
    path = write_manifest(tmp_path, """\
        - key: gone
          paper_name: Gone
          task: TC
          splits:
            test: {source: {local: missing.json}, records: 10}
        """)
    report = audit_manifest(load_manifest(path), Settings(cache_dir=tmp_path / "cache"))
    (f,) = [f for f in report["findings"] if f["kind"] == "trivial-baseline"]
    assert f["severity"] == "info" and f["evidence"]["available"] is False


def test_constant_scores_fast_path_equals_the_scorer():
    from bioeval.audit.datasets import _weighted, score_constants
    from bioeval.scoring import get_scorer

    scorer = get_scorer("zhan2024-set-f1")
    test = rows(("a", "X, Y"), ("b", "X"), ("c", ""), ("d", "Y, Z, Z"), ("e", "X"))
    answers = ["X", "X, Y", "", "Z\nsecond line", "W"]
    fast = score_constants(scorer, test, answers)
    for answer, s in zip(answers, fast):
        slow = _weighted(scorer, (((answer, x.response), 1) for x in test))
        assert (s.correct, s.predicted, s.gold, s.f1) == (slow.correct, slow.predicted, slow.gold, slow.f1)


def test_fetch_with_a_missing_mirror_is_a_usage_error(toy, tmp_path, cli):
    r = cli("--data-mirror", str(tmp_path / "no-such-folder"), "fetch", str(toy), "--data-only")
    assert r.returncode == 2 and "no such folder" in r.stderr and "unavailable" not in r.stdout
