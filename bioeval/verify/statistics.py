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
from dataclasses import dataclass

import numpy as np

from bioeval.verify import distributions as dist
from bioeval.verify.sampling import EPSILON, CountSampling, combined_variance

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
    sd = np.sqrt(combined_variance(seed_sd, k, sampling_sd, pub))
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


@functools.lru_cache(maxsize=4096)
def count_support(counts: CountSampling):
    """(values of published - truth from sampling, their probabilities)."""
    m = counts.trials
    pmf = dist.binom_pmf(np.arange(m + 1), m, counts.p0)
    if counts.sides == 2:  # difference of two independent cuts: symmetric, heavier tails
        return np.arange(-m, m + 1) / m, np.convolve(pmf, pmf[::-1])
    values = np.arange(m + 1) / m - counts.p0
    return (-values, pmf) if counts.ours_random else (values, pmf)


def _tails(x, exact: CountSampling, other_sd: float):
    """(P(D <= x), P(D >= x)) for D = sampling part (counts) + other part (normal, other_sd)."""
    support, pmf = count_support(exact)
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
    support, _ = count_support(exact)
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
