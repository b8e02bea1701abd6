"""1,000 simulated reproductions of the paper manifest's 432 values (bench/verify_simulation.py).

Perfect reproductions are drawn from the null the tolerance model assumes, at the paper's test
sizes and sampling schemes; the global verdict (Holm at family-wise error 0.05) must fail no more
often than the level plus Monte Carlo error, and must catch 10% of cells shifted down by 0.05.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "verify_simulation.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("verify_simulation", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not module.PAPER.exists():
        pytest.skip("paper manifest not on this branch")
    return module.study(sims=1000, seed=0, ks=(1, 3))


def test_simulation_covers_the_paper(study):
    assert (study["cells"], study["values"], study["family_error"]) == (144, 432, 0.05)


@pytest.mark.parametrize("k", [1, 3])
def test_false_failure_rate_within_level(study, k):
    null = next(r for r in study["runs"] if r["k"] == k)["null"]
    mc = 2 * math.sqrt(0.05 * 0.95 / 1000)  # two Monte Carlo standard errors at the level
    assert null["global_fail_rate"] <= 0.05 + mc
    # per value: about 5% of 432 are discrepant by chance (the margin for rounding makes it a bit fewer;
    # with K = 3 fewer still: the published run keeps the declared spread when ours measure less)
    low = 0.8 if k == 1 else 0.6
    assert low * null["expected_false_discrepancies"] <= null["mean_discrepant"] <= null["expected_false_discrepancies"]
    assert null["any_discrepant_rate"] > 0.99  # the old any-FAIL rule fails almost every perfect reproduction


@pytest.mark.parametrize("k", [1, 3])
def test_power_against_shifted_cells(study, k):
    run = next(r for r in study["runs"] if r["k"] == k)
    assert run["power_f1"]["global_fail_rate"] >= 0.80
    assert run["power_all_metrics"]["global_fail_rate"] >= 0.95


def test_count_test_breaks_its_level_under_correlation_holm_does_not(study):
    mc = 2 * math.sqrt(0.05 * 0.95 / 1000)
    strong = next(r for r in study["correlated_null"] if r["rho"] == 0.9)
    assert strong["global_fail_rate"] <= 0.05 + mc
    assert strong["count_test_fail_rate"] > 0.05 + mc  # why the global verdict is Holm's


MC = 2 * math.sqrt(0.05 * 0.95 / 1000)


def test_selection_on_test_on_both_sides_keeps_the_level(study):
    """Both sides report the best of five checkpoints on test: no bias is added, the level holds
    (with the bias counted again it was 0.089 in the review of issue 21)."""
    sel = study["awkward"]["selection_on_test"]
    assert sel is not None and sel["global_fail_rate"] <= 0.05 + MC


def test_partial_seed_study_and_zero_spreads_keep_the_level(study):
    assert study["awkward"]["partial_seed_study"]["global_fail_rate"] <= 0.05 + MC  # 0.099 before
    assert study["awkward"]["zero_spreads"]["global_fail_rate"] <= 0.05 + MC


def test_sensitivity_to_too_small_declared_spreads(study):
    """The level rests on the declared spreads: 1.25x and 1.5x too small break it (docs/statistics.md)."""
    by = {r["scale"]: r for r in study["sensitivity"]}
    assert by[1.25]["global_fail_rate"] > 0.2 and by[1.5]["global_fail_rate"] > by[1.25]["global_fail_rate"]


def test_per_cell_detection(study):
    """Per cell: the smallest F1 shift Holm names at 80%; and how many shifted cells are named."""
    mde = {r["cell"]: r["f1_mde"] for r in study["detection"]}
    assert len(mde) == 144
    assert mde["llama3-8b x phee"] < mde["llama3-8b x ddi"] < mde["llama3-8b x genia2011"]
    assert all(0 < v < 1 for v in mde.values())
    power = next(r for r in study["runs"] if r["k"] == 1)["power_f1"]
    assert 0 < power["named_per_shifted_sim"] < 14  # on average only some of the 14 shifted cells are named
    assert len(power["per_cell_detection"]) == 144
