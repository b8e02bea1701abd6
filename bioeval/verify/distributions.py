"""The five distribution functions verify uses, from scipy.special, without importing scipy.stats.

scipy.stats builds every distribution's docstrings at import (about 0.5 s of a 0.8 s `plan
--json` on 2 cores); these are the ufuncs scipy.stats itself calls for them in scipy 1.17
(`norm._ppf` is `ndtri`, `t._ppf` is `stdtrit`, `t._sf` is `stdtr(df, -x)`, `binom._pmf` is
`_binom_pmf`), so every value is the same to the bit (tests/verify/test_distributions.py
compares them with scipy.stats on a grid). Arguments are always inside the support here:
levels and powers in (0, 1), df > 0, k in 0..n.
"""

from __future__ import annotations

import numpy as np
from scipy import special
from scipy.special._ufuncs import _binom_pmf  # what scipy.stats.binom.pmf evaluates


def norm_ppf(q):
    return special.ndtri(q)


def norm_cdf(x):
    return special.ndtr(x)


def norm_sf(x):
    return special.ndtr(-np.asarray(x, float))


def t_ppf(q, df):
    return special.stdtrit(df, q)


def t_sf(x, df):
    return special.stdtr(df, -np.asarray(x, float))


def binom_pmf(k, n, p):
    return _binom_pmf(np.asarray(k, float), n, p)
