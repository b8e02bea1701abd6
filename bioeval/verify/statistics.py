"""How far a reproduction may fall from a published value by chance (docs/statistics.md).

Under perfect reproduction, for one cell and metric, the published value P and the mean M of
our K runs (same protocol, seeds base + i) satisfy

    P - b - M ~ N(0, s_seed^2 (1 + 1/K) + s_samp^2)

b is the declared selection bias (the paper picked its best checkpoint on test), s_seed the
run-to-run spread from seeds (measured from the K runs when K >= 2, else declared), s_samp the
spread of the difference that comes from which test instances each side scored.  The
prediction interval for P is M + b +- (margin + q * sd): with a measured s_seed, q is Student's
t with K - 1 degrees of freedom (with no sampling part this is CORE-Bench's mean +- t(0.975,
K-1) s sqrt(1 + 1/K); the sampling part widens it); with a declared one, the normal quantile.  Every function takes numpy arrays so the simulation (bench/verify_simulation.py)
runs 1,000 reproductions of 432 values at once.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

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


def combine(seed_sd, k, sampling_sd, seed_df, published_seed_sd=None):
    """(sd of P - b - M, degrees of freedom of the reference t: those of the seed estimate).

    The published run carries ``published_seed_sd`` (default: the same seed_sd), each of our K
    runs seed_sd: Var = s_pub^2 + s_seed^2 / K + s_samp^2.  verify floors the published side at
    the declared spread: our seeds measure our stack, not the distance to the paper's.

    With a measured seed part the reference is Student's t with the estimate's degrees of
    freedom (K - 1 for one cell, more when pooled): exact when the sampling part is 0, and
    conservative otherwise.  (Satterthwaite's df, which grows as the sampling part dominates,
    fails in the far tails that a 432-value Holm procedure reads: a K = 3 study that happens to
    measure a tiny s gets normal tails it has not earned; bench/verify_simulation.py measured a
    64% false-failure rate with it.)  A declared seed part is taken as known: df = inf.
    """
    seed_sd, k, sampling_sd = np.asarray(seed_sd, float), np.asarray(k, float), np.asarray(sampling_sd, float)
    pub = seed_sd if published_seed_sd is None else np.asarray(published_seed_sd, float)
    sd = np.sqrt(pub ** 2 + seed_sd ** 2 / k + sampling_sd ** 2)
    return sd, np.asarray(seed_df, float) + np.zeros_like(sd)


def pool_with_declared(ss: float, df: float, declared_sd: float | None, declared_runs: int | None):
    """(sd, df) of a measured sum of squares pooled with a declared study of `runs` runs (its
    runs - 1 degrees of freedom); a declaration without runs is not a sample and is not pooled."""
    if declared_sd is not None and declared_runs and declared_runs >= 2:
        ss, df = ss + (declared_runs - 1) * declared_sd ** 2, df + declared_runs - 1
    return (float(np.sqrt(ss / df)), float(df)) if df else (0.0, float("inf"))


def pooled_sd(groups: list[list[float]]) -> tuple[float, float]:
    """(pooled within-group sd, its degrees of freedom) over groups of runs sharing one seed spread."""
    ss = sum(float(np.sum((np.asarray(g) - np.mean(g)) ** 2)) for g in groups if len(g) >= 2)
    df = sum(len(g) - 1 for g in groups if len(g) >= 2)
    return (float(np.sqrt(ss / df)), float(df)) if df else (0.0, float("inf"))


def quantile(alpha, df):
    """Two-sided quantile: t(1 - alpha/2, df) (normal for df = inf)."""
    return dist.t_ppf(1.0 - np.asarray(alpha, float) / 2.0, df)


def p_value(diff, sd, df, margin=0.0):
    """Two-sided p of |diff| beyond margin (an indifference zone) under N(0, sd) or t(df) * sd."""
    diff, sd = np.asarray(diff, float), np.asarray(sd, float)
    excess = np.maximum(np.abs(diff) - margin, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2.0 * dist.t_sf(excess / sd, df)
    return np.where(sd > 0, p, np.where(excess <= EPSILON, 1.0, 0.0))


def minimum_detectable_effect(sd, df, alpha, margin=0.0, power: float = 0.80):
    """The smallest true shift a two-sided test at `alpha` detects with probability `power`:
    margin + (q(1 - alpha/2) + q(power)) x sd (the far tail ignored; t quantiles with df)."""
    df = np.asarray(df, float)
    return np.asarray(margin, float) + (dist.t_ppf(1.0 - np.asarray(alpha, float) / 2.0, df)
                                        + dist.t_ppf(power, df)) * np.asarray(sd, float)


def holm(p_values, alpha: float):
    """Holm's step-down: which hypotheses are rejected at family-wise error alpha (any dependence)."""
    p = np.asarray(p_values, float)
    m = p.shape[-1]
    if m == 0:
        return np.zeros(p.shape, bool)
    order = np.argsort(p, axis=-1)
    sorted_p = np.take_along_axis(p, order, axis=-1)
    thresholds = alpha / (m - np.arange(m))
    # reject the i-th smallest while every smaller one was rejected too
    passed = np.cumprod(sorted_p <= thresholds, axis=-1).astype(bool)
    rejected = np.zeros(p.shape, bool)
    np.put_along_axis(rejected, order, passed, axis=-1)
    return rejected


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

    def support(self):
        """(values of published - truth from sampling, their probabilities)."""
        return _support(self)


@functools.lru_cache(maxsize=4096)
def _support(counts: CountSampling):
    m = counts.trials
    pmf = dist.binom_pmf(np.arange(m + 1), m, counts.p0)
    if counts.sides == 2:  # difference of two independent cuts: symmetric, heavier tails
        return np.arange(-m, m + 1) / m, np.convolve(pmf, pmf[::-1])
    values = np.arange(m + 1) / m - counts.p0
    return (-values, pmf) if counts.ours_random else (values, pmf)


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


def _tails(x, exact: CountSampling, other_sd: float):
    """(P(D <= x), P(D >= x)) for D = sampling part (counts) + other part (normal, other_sd)."""
    support, pmf = exact.support()
    x = np.asarray(x, float)[..., None]
    if other_sd > 0:
        z = (x - support) / other_sd
        return (pmf * dist.norm_cdf(z)).sum(-1), (pmf * dist.norm_sf(z)).sum(-1)
    return (pmf * (support <= x + EPSILON)).sum(-1), (pmf * (support >= x - EPSILON)).sum(-1)


def count_p_value(diff, exact: CountSampling, other_sd: float, margin: float = 0.0):
    """Two-sided p of diff = published - centre beyond the margin: twice the tail on diff's side."""
    diff = np.asarray(diff, float)
    excess = np.sign(diff) * np.maximum(np.abs(diff) - margin, 0.0)
    lower, upper = _tails(excess, exact, other_sd)
    return np.minimum(2.0 * np.where(diff >= 0, upper, lower), 1.0)


def count_bounds(exact: CountSampling, other_sd: float, alpha: float, margin: float = 0.0) -> tuple[float, float]:
    """(lo, hi) offsets from the centre: the published value is inside when its p >= alpha."""
    support, _ = exact.support()
    reach = 8.0 * other_sd + 1.0 / exact.trials
    grid = np.linspace(support.min() - reach, support.max() + reach, 4001)
    lower, upper = _tails(grid, exact, other_sd)
    lo = grid[np.argmax(2.0 * lower >= alpha)]  # the first x whose lower tail reaches alpha / 2
    hi = grid[len(grid) - 1 - np.argmax((2.0 * upper >= alpha)[::-1])]
    return float(lo - margin), float(hi + margin)


@dataclass(frozen=True)
class Judgement:
    centre: float  # where the published value is predicted: our mean + selection bias
    half_width: float
    sd: float
    df: float
    p_value: float | None
    inside: bool
    bounds: tuple[float, float] | None = None  # a sampling part as counts: the interval is not symmetric
    method: str = "normal"

    @property
    def interval(self) -> list[float]:
        if self.bounds is not None:
            return [self.centre + self.bounds[0], self.centre + self.bounds[1]]
        return [self.centre - self.half_width, self.centre + self.half_width]


def judge(published: float, observed: list[float], *, sampling_sd: float, seed_sd: float, seed_df: float,
          bias: float, margin: float, alpha: float, published_seed_sd: float | None = None,
          exact: CountSampling | None = None) -> Judgement:
    """The prediction interval for the published value from our runs, and the p-value.

    exact: the sampling part as counts (small effective counts at extreme values; declared seed
    parts only: with a measured one the t reference is already the wider).

    seed_sd, seed_df: the seed spread used (measured: df = K - 1, or more when pooled; declared: inf).
    The centre stays inside [0, 1]: a bias never predicts a value no metric can take.
    """
    k = len(observed)
    sd, df = combine(seed_sd, k, sampling_sd, seed_df, published_seed_sd)
    sd, df = float(sd), float(df)
    centre = min(max(float(np.mean(observed)) + bias, 0.0), 1.0)
    if exact is not None and df == float("inf"):  # counts, not the normal, for the sampling part
        other = float(np.sqrt(max(sd ** 2 - sampling_sd ** 2, 0.0)))
        p = float(count_p_value(published - centre, exact, other, margin))
        lo, hi = count_bounds(exact, other, alpha, margin)
        return Judgement(centre, (hi - lo) / 2.0, sd, df, p, p >= alpha, (lo, hi), "count")
    half = margin + (float(quantile(alpha, df)) * sd if sd > 0 else 0.0)
    p = float(p_value(published - centre, sd, df, margin))
    return Judgement(centre, half, sd, df, p, abs(published - centre) <= half + EPSILON)


def judge_fixed(published: float, observed: list[float], width: float) -> Judgement:
    """abs / rel rules: the published value within +-width of our mean; no probability attached."""
    mean = float(np.mean(observed))
    return Judgement(mean, width, float("nan"), float("nan"), None, abs(published - mean) <= width + EPSILON)
