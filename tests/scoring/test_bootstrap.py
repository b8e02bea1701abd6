"""Bootstrap intervals: seeded determinism, coverage, paired deltas."""

from __future__ import annotations

import numpy as np
import pytest

from bioeval.scoring.bootstrap import bootstrap_ci, histogram, paired_bootstrap


def single_label(correct: np.ndarray) -> list[tuple]:
    return [(int(c), 1, 1) for c in correct]


def test_same_seed_same_interval_other_seed_differs():
    rows = single_label(np.random.default_rng(1).random(500) < 0.7)
    a, b = bootstrap_ci(rows, seed=3), bootstrap_ci(rows, seed=3)
    assert a == b
    assert bootstrap_ci(rows, seed=4)["f1"] != a["f1"]
    # the order of the instances does not change the interval (draws are over sorted distinct rows)
    assert bootstrap_ci(list(reversed(rows)), seed=3) == a


def test_interval_brackets_point_and_shrinks_with_n():
    rng = np.random.default_rng(2)
    small = bootstrap_ci(single_label(rng.random(200) < 0.6))["f1"]
    large = bootstrap_ci(single_label(rng.random(20000) < 0.6))["f1"]
    assert small[0] < 0.6 < small[1] and large[0] < 0.6 < large[1]
    assert (large[1] - large[0]) < (small[1] - small[0]) / 5


def test_coverage_near_nominal():
    """95% intervals over many simulated test sets cover the true accuracy ~95% of the time."""
    rng = np.random.default_rng(0)
    truth, n, trials = 0.7, 300, 300
    covered = 0
    for t in range(trials):
        ci = bootstrap_ci(single_label(rng.random(n) < truth), resamples=500, seed=t)["f1"]
        covered += ci[0] <= truth <= ci[1]
    assert 0.90 <= covered / trials <= 0.985


def test_matches_naive_resampling():
    """The multinomial-over-distinct-rows shortcut has the same distribution as resampling rows."""
    rng = np.random.default_rng(5)
    rows = [(int(c), int(p), int(g)) for c, p, g in zip(rng.integers(0, 3, 400), rng.integers(2, 4, 400),
                                                         rng.integers(2, 5, 400))]
    arr = np.array(rows)
    idx = rng.integers(0, len(arr), size=(4000, len(arr)))
    sums = arr[idx].sum(axis=1)
    p = sums[:, 0] / sums[:, 1]
    naive = np.percentile(p, [2.5, 97.5])
    ours = bootstrap_ci(rows, resamples=4000, seed=9)["precision"]
    assert ours == pytest.approx(naive, abs=0.006)


def test_histogram_sorted_distinct():
    distinct, freq = histogram([(1, 1, 1), (0, 1, 1), (1, 1, 1)])
    assert distinct.tolist() == [[0, 1, 1], [1, 1, 1]] and freq.tolist() == [1, 2]


def test_empty_gives_no_interval():
    assert bootstrap_ci([])["f1"] is None


def test_paired_identical_runs_give_zero():
    rows = single_label(np.random.default_rng(3).random(300) < 0.5)
    out = paired_bootstrap(rows, rows)
    assert out["f1"]["delta"] == 0 and out["f1"]["ci"] == [0.0, 0.0]


def test_paired_detects_improvement_and_is_deterministic():
    rng = np.random.default_rng(4)
    a = rng.random(1000) < 0.6
    b = a | (rng.random(1000) < 0.1)  # B fixes some of A's errors, breaks none
    ra, rb = single_label(a), single_label(b)
    out = paired_bootstrap(ra, rb, seed=1)
    assert out["f1"]["delta"] == pytest.approx(b.mean() - a.mean())
    assert out["f1"]["ci"][0] > 0 and out["f1"]["p_drop"] == 0
    assert paired_bootstrap(ra, rb, seed=1) == out
    # pairing matters: the unpaired intervals overlap although every resample favours B
    ia, ib = bootstrap_ci(ra)["f1"], bootstrap_ci(rb)["f1"]
    assert ia[1] > ib[0]
    with pytest.raises(ValueError):
        paired_bootstrap(ra, rb[:-1])
