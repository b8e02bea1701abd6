"""The five distribution functions verify uses, from scipy.special, without importing scipy.stats.

scipy.stats builds every distribution's docstrings at import (about 0.5 s of a 0.8 s `plan
--json` on 2 cores); these are the ufuncs scipy.stats itself calls for them in scipy 1.17
(`norm._ppf` is `ndtri`, `t._ppf` is `stdtrit`, `t._sf` is `stdtr(df, -x)`, `binom._pmf` is
`_binom_pmf`), so every value is the same to the bit (tests/verify/test_distributions.py
compares them with scipy.stats on a grid). Arguments are always inside the support here:
levels and powers in (0, 1), df > 0, k in 0..n.

scipy.special (and numpy) are imported at the first call, not with this module: together
about 0.3 s (most of it scipy's array-API layer walking numpy's submodules), most of what `plan`
would otherwise pay, and `plan` needs none of these five on a manifest whose seed spreads are
declared (see `normal_quantile`).
"""

from __future__ import annotations

import functools
from statistics import NormalDist


@functools.cache
def _special():
    from scipy import special

    return special


def _negated(x):
    import numpy as np  # with scipy, at the first call: see the module's docstring

    return -np.asarray(x, float)


def norm_ppf(q):
    return _special().ndtri(q)


def norm_cdf(x):
    return _special().ndtr(x)


def norm_sf(x):
    return _special().ndtr(_negated(x))


def t_ppf(q, df):
    return _special().stdtrit(df, q)


def t_sf(x, df):
    return _special().stdtr(df, _negated(x))


def binom_pmf(k, n, p):
    import numpy as np
    from scipy.special._ufuncs import _binom_pmf  # what scipy.stats.binom.pmf evaluates

    return _binom_pmf(np.asarray(k, float), n, p)


_STANDARD_NORMAL = NormalDist()


def normal_quantile(q: float) -> float:
    """The standard normal quantile from the standard library (Wichura's AS241): it agrees with
    `norm_ppf` to about 1e-15 (relative) but not always to the bit, so it serves only figures
    rounded far above that (the minimum detectable effects, to four decimals), never a p-value
    or an interval."""
    return _STANDARD_NORMAL.inv_cdf(q)
