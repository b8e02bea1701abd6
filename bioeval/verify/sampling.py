"""What one published value's sampling part is, in plain Python: the test-sampling variance
factor, the standard errors verify reads (binomial, score, bootstrap, published interval), the
effective count and when the part is taken as counts, and how the parts add up.

No numpy, no scipy at import: `plan` reads these for every value of the paper manifest
(verify/detection.py), and those two imports were most of its time; verify/statistics.py
holds the tests and tails on arrays.  Every function takes floats; `combined_variance` also
numpy arrays (verify/statistics.combine passes them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bioeval.verify import distributions as dist

EPSILON = 1e-9  # published values are decimals: keep 0.7 - 0.68 <= 0.02 inside


def sampling_factor(published: str, ours: str, n: int | None, population: int | None) -> float:
    """Var(published - ours) from test sampling, in units of SE^2 = Var of one n-instance estimate.

    Each side that scored a random cut of n from N instances adds (1 - n/N) SE^2 (finite-
    population correction); two independent cuts give 2 (1 - n/N) SE^2; a side that scored
    the whole test set adds nothing (both full: the same instances, no sampling error).
    """
    sides = (published == "subsample") + (ours == "subsample")
    if not sides:
        return 0.0
    fpc = max(0.0, 1.0 - n / population) if n and population else 1.0
    return sides * fpc


def binomial_se(f: float, n: int | None) -> float | None:
    """SE of a proportion near f over n items (single-item metrics: one label per instance)."""
    if not n:
        return None
    return math.sqrt(max(f * (1.0 - f), 0.0) / n)


def bootstrap_se(ci, level: float) -> float | None:
    """SE read back from a percentile bootstrap interval of the given level: width / (2 z).

    A degenerate interval ([1, 1]: every resample scored the same) says the bootstrap could not
    see the sampling error (a value at 0 or 1), not that there is none: None (unknown)."""
    if not ci or ci[0] is None or ci[1] is None:
        return None
    width = float(ci[1]) - float(ci[0])
    if width <= EPSILON:
        return None
    return width / (2.0 * dist.norm_ppf(0.5 + level / 2.0))


def score_se(f: float, n: int | None) -> float | None:
    """SE of a proportion near f over n items that stays above 0 at f = 0 or 1 (Agresti-Coull:
    two successes and two failures added), for the extremes where the plain binomial SE is 0."""
    if not n:
        return None
    adjusted = (f * n + 2.0) / (n + 4.0)
    return math.sqrt(adjusted * (1.0 - adjusted) / (n + 4.0))


def published_ci_se(ci, level: float = 0.95) -> float | None:
    """SE of one estimate read back from the published interval (the paper's own bootstrap):
    for precision and recall it reflects the predicted / true positives, not the test size."""
    if not ci or ci[1] - ci[0] <= EPSILON:
        return None
    return (float(ci[1]) - float(ci[0])) / (2.0 * dist.norm_ppf(0.5 + level / 2.0))


def combined_variance(seed_sd, k, sampling_sd, published_seed_sd):
    """Var(P - b - M) = s_pub^2 + s_seed^2 / K + s_samp^2 (statistics.combine says why); floats
    or numpy arrays alike (the caller takes the root: math.sqrt or np.sqrt, both exact)."""
    return published_seed_sd ** 2 + seed_sd ** 2 / k + sampling_sd ** 2


# ------------------------------------------------------------------ the sampling part as counts
# At small effective counts and extreme values the normal tail Holm reads (about 3.85 sd for 432
# values) is 1.5-3x too light; there the sampling part is taken as the count it is.  A value
# with sampling sd s near p behaves like a proportion over m = p (1 - p) / s^2 trials (the
# effective count: n for accuracy, the predicted or true positives for precision and recall,
# whatever the bootstrap or the published interval measured).
COUNT_BELOW = 100  # m x min(p, 1 - p) under which the count, not the normal, is used


@dataclass(frozen=True)
class CountSampling:
    """The sampling part as counts: `sides` random cuts (1: only the published side, or only ours
    when `ours_random`; 2: both, independent), each a proportion p0 over `trials` trials."""

    p0: float
    trials: int
    sides: int
    ours_random: bool = False


def effective_trials(se: float | None, at: float, n: int | None) -> float | None:
    """The count a proportion at `at` with standard error `se` behaves as: p (1 - p) / se^2 (n
    itself for the binomial SE; the positives for P and R under a bootstrap); n at 0 or 1."""
    if se and 0.0 < at < 1.0:
        return at * (1.0 - at) / se ** 2
    return float(n) if n else None


def count_sampling(p_published: float, p_ours: float, trials: float | None, published: str, ours: str,
                   fpc: float = 1.0):
    """The CountSampling of a value, or None where the normal is good enough (or undefined).

    trials: the effective count of one side's estimate (effective_trials); fpc: 1 - n/N, which
    shrinks each cut's variance (a cut of most of a finite set varies less): trials / fpc."""
    sides = (published == "subsample") + (ours == "subsample")
    if not sides or not trials or fpc <= 0:
        return None
    # the truth both sides share: the value of a side that scored everything, else their mean
    p0 = p_published if published == "full" else p_ours if ours == "full" else (p_published + p_ours) / 2.0
    if not 0.0 < p0 < 1.0:
        return None
    m = trials / fpc
    if m * min(p0, 1.0 - p0) >= COUNT_BELOW:
        return None
    return CountSampling(p0, max(1, round(m)), sides, ours_random=(published == "full"))
