"""verify's distribution functions are scipy.stats' own values, to the bit, without importing it
at run time (bioeval/verify/distributions.py); a scipy that changes what scipy.stats calls fails here."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from bioeval.verify import distributions as d

LEVELS = np.concatenate([np.linspace(1e-6, 1 - 1e-6, 2001), [0.5 + 0.95 / 2, 0.8, 0.975, 1 - 0.05 / 144 / 2]])
XS = np.linspace(-40, 40, 8001)


@pytest.mark.parametrize("df", [0.7, 1, 2.5, 7, 30, 1e3, 1e9, np.inf])
def test_student_t_as_scipy_stats(df):
    assert np.array_equal(d.t_ppf(LEVELS, df), stats.t.ppf(LEVELS, df))
    assert np.array_equal(d.t_sf(XS, df), stats.t.sf(XS, df))
    assert d.t_ppf(0.975, df) == stats.t.ppf(0.975, df)


def test_normal_as_scipy_stats():
    assert np.array_equal(d.norm_ppf(LEVELS), stats.norm.ppf(LEVELS))
    assert np.array_equal(d.norm_cdf(XS), stats.norm.cdf(XS))
    assert np.array_equal(d.norm_sf(XS), stats.norm.sf(XS))


@pytest.mark.parametrize("n", [1, 5, 50, 137, 400])
@pytest.mark.parametrize("p", [1e-4, 0.1, 0.5, 0.73, 0.9999])
def test_binomial_as_scipy_stats(n, p):
    k = np.arange(n + 1)
    assert np.array_equal(d.binom_pmf(k, n, p), stats.binom.pmf(k, n, p))


def test_verify_statistics_import_no_scipy_stats():
    code = "import sys, bioeval.verify.statistics, bioeval.verify.detection; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
