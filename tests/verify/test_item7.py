"""Issue 21, item 7: small counts at extreme values, the printed decimals' margin, the full-test
sampling of Deepseek-LLM-67B-base, and an explicit precedence between scoped declarations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from tests.verify.factory import MANIFEST, cell_of, verify_selected, write_manifest, write_run

from bioeval.manifest import cells, load_manifest
from bioeval.verify import sampling as sp
from bioeval.verify import statistics as st
from bioeval.verify import tolerance as tol

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "manifests" / "deepseek_bionlp.yaml"
HOLM_FIRST_STEP = 0.05 / 432  # the threshold a single value meets in the paper's family


def size(p_of_count, n: int, truth: float, alpha: float) -> float:
    """The exact chance that a perfect reproduction's value is rejected: sum over our cut's counts."""
    pmf = stats.binom.pmf(np.arange(n + 1), n, truth)
    return float(sum(w for k, w in enumerate(pmf) if p_of_count(k / n) < alpha))


@pytest.mark.parametrize("n,truth", [(30, 0.9), (50, 0.96), (100, 0.97), (80, 0.05)])
def test_small_counts_hold_the_level_where_the_normal_tail_is_too_light(n, truth):
    """The published side scored everything (its value is the truth), ours a cut of n: the normal
    reference rejects 4-8x too often at Holm's first step; the counts never more than alpha."""
    floor = 0.001
    se = sp.binomial_se(truth, n)
    sd = (se ** 2 + floor ** 2) ** 0.5
    counts = sp.count_sampling(truth, truth, sp.effective_trials(se, truth, n), "full", "subsample")
    assert counts is not None and counts.trials == n and counts.ours_random

    def normal(ours):
        return float(st.p_value(truth - ours, sd, float("inf")))

    def counted(ours):
        return float(st.count_p_value(truth - ours, counts, floor))

    assert size(normal, n, truth, HOLM_FIRST_STEP) > 3 * HOLM_FIRST_STEP
    assert size(counted, n, truth, HOLM_FIRST_STEP) <= HOLM_FIRST_STEP
    # without the floor's normal part the counts alone are conservative at any level (inclusive tails);
    # with it, a cut's value, which has no such noise here, sits on the lattice (mid-p like at 5%)
    assert size(lambda ours: float(st.count_p_value(truth - ours, counts, 0.0)), n, truth, 0.05) <= 0.05


def test_large_counts_keep_the_normal():
    se = sp.binomial_se(0.8, 5000)
    assert sp.count_sampling(0.8, 0.8, sp.effective_trials(se, 0.8, 5000), "full", "subsample") is None
    assert sp.count_sampling(0.8, 0.8, 100.0, "full", "full") is None  # no sampling part at all


def test_verify_counts_a_small_extreme_cell_and_its_interval_is_not_symmetric(tmp_path):
    text = MANIFEST.replace("default: {kind: abs, value: 0.02}", "default: {kind: auto}").replace(
        "tc_test.json}, records: 2500}", "tc_test.json}, records: 60}").replace(
        "    - {dataset: tc, metric: f1, kind: abs, value: 0.03}\n", "").replace(
        "    - {model: tiny, dataset: tc, metric: f1, kind: abs, value: 0.001}\n", "").replace(
        "tc: {precision: 0.50, recall: 0.50, f1: 0.50}", "tc: {precision: 0.95, recall: 0.95, f1: 0.95}")
    text = text.replace("deviations:", "  sampling:\n    - {dataset: tc, published: full, ours: subsample, n: 50, "
                                        "source: assumed}\ndeviations:")
    manifest = write_manifest(tmp_path, text)
    write_run(tmp_path / "runs", cell_of(manifest, "big", "tc"), {"precision": 0.95, "recall": 0.95}, n=50)
    rows = {r["metric"]: r for r in verify_selected(manifest, tmp_path / "runs",
                                                     "model=big,dataset=tc")["cells"]}
    f1 = rows["f1"]
    assert f1["test"] == "count" and "binomial counts" in f1["sources"]["sampling"]
    lo, hi = f1["interval"]
    assert lo < 0.95 < hi and (0.95 - lo) != pytest.approx(hi - 0.95, abs=1e-3)  # skewed near 1
    assert f1["verdict"] == "reproduced"


# ------------------------------------------------------------------ the paper manifest

def test_margins_follow_the_decimals_each_table_prints():
    loaded = load_manifest(PAPER)
    t = loaded.manifest.tolerance
    assert tol.rule_for(t, "llama3-8b", "phee", "f1").floor == pytest.approx(0.00005)  # Table 2: 0.6394
    assert tol.rule_for(t, "llama3-8b", "ade", "f1").floor == pytest.approx(0.0005)  # Table 5: 0.932
    assert tol.rule_for(t, "deepseek-llm-67b-base", "ade", "f1").floor == pytest.approx(0.00005)  # 0.9213
    assert tol.rule_for(t, "deepseek-llm-67b-base", "pubmed20k-rct", "f1").floor == pytest.approx(0.0005)  # 0.874
    for c in cells(loaded):  # every published value is a multiple of twice its margin
        for metric, mv in c.expected.items():
            unit = 2 * tol.rule_for(t, c.model.key, c.dataset.key, metric).floor
            assert abs(mv.value / unit - round(mv.value / unit)) < 1e-6, (c.model.key, c.dataset.key, metric)


def test_deepseek_67b_scored_the_full_ade_and_health_advice_test_sets():
    loaded = load_manifest(PAPER)
    t = loaded.manifest.tolerance
    for dataset, count in (("ade", 4334), ("healthadvice", 1561)):
        cell = next(c for c in cells(loaded) if c.model.key == "deepseek-llm-67b-base" and c.dataset.key == dataset)
        records = cell.dataset.splits["test"].records
        assert round(count / records, 4) == cell.expected["f1"].value  # the whole test set's fraction
        declared, scheme = tol.sampling_scheme(t, cell, "f1", 1000)
        assert declared is not None and (scheme["published"], scheme["ours"]) == ("full", "subsample")
        assert sp.sampling_factor(**{k: scheme[k] for k in ("published", "ours", "n", "population")}) == \
            pytest.approx(1 - 1000 / records)
    other = next(c for c in cells(loaded) if c.model.key == "llama3-8b" and c.dataset.key == "ade")
    assert tol.sampling_scheme(t, other, "f1", 1000)[1]["published"] == "subsample"


def test_r1_on_genia_gets_the_genia_spread_and_the_manifest_has_no_ambiguity():
    loaded = load_manifest(PAPER)
    t = loaded.manifest.tolerance
    cell = next(c for c in cells(loaded) if c.model.key == "r1-distill-qwen-7b" and c.dataset.key == "genia2011")
    assert tol.seed_spread(t, cell, "f1").sd == 0.05
    assert not [w for w in loaded.warnings if "both match" in str(w)]


def test_two_equally_specific_declarations_warn_with_the_winner_and_the_fix(tmp_path):
    text = MANIFEST.replace("deviations:", "  seed_spread:\n    - {model: big, sd: 0.02, source: assumed}\n"
                                           "    - {dataset: ner, sd: 0.05, source: assumed}\ndeviations:")
    loaded = load_manifest(write_manifest(tmp_path, text))
    warned = [str(w) for w in loaded.warnings if "both match" in str(w)]
    assert len(warned) == 1
    assert "big x ner" in warned[0] and "[0] wins" in warned[0] and "{model: big, dataset: ner" in warned[0]
    assert "manifest.yaml:" in warned[0] or ".yaml:" in warned[0]  # located
    cell = cell_of(write_manifest(tmp_path, text), "big", "ner")
    assert tol.seed_spread(loaded.manifest.tolerance, cell, "f1").sd == 0.02  # the precedence stated
    same = MANIFEST.replace("deviations:", "  seed_spread:\n    - {model: big, sd: 0.02, source: assumed}\n"
                                           "    - {dataset: ner, sd: 0.02, source: paper}\ndeviations:")
    assert not [w for w in load_manifest(write_manifest(tmp_path, same)).warnings if "both match" in str(w)]
