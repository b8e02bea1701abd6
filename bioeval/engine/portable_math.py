"""Vendor-independent float kernels for the deterministic CPU mode (`protocol.numerics`).

ATen computes sqrt, exp, log, sin, cos, tanh, ... on float tensors with MKL's vector math
library (VML, `aten/src/ATen/cpu/vml.h`), even with ``ATEN_CPU_CAPABILITY=default`` and under
``MKL_CBWR=COMPATIBLE``; VML's results are neither correctly rounded nor the same on every CPU
(measured: AdamW's ``exp_avg_sq.sqrt()`` rounds differently on an AMD EPYC and on an Intel Xeon
with identical inputs; on the AMD EPYC torch.sqrt differs from the correctly rounded square root
on 17% of random floats).  `install()` replaces the CPU kernels of those operators with the
functions below, which use only IEEE-754 basic operations in float64 (+, -, *, /, sqrt, rint,
frexp, ldexp: exactly specified, so the same bits on any CPU and any vector width), then round
once to the tensor's dtype.  They are accurate to a few float64 ulps, so float32 results are
the correctly rounded ones except near a rounding tie.

What is not replaced runs where it ran before: matmuls in MKL under MKL_CBWR=COMPATIBLE, the
fused kernels (softmax, silu, attention) in ATen's portable code calling glibc's expf/logf
(one code path on every CPU with FMA and AVX2).  erfinv has no replacement here (no smoke
model uses it).  Beyond |x| > 2**19 sin/cos/tan reduce their argument with Python's math
module, element by element (rare: positions times frequencies stay far below it).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

# fdlibm's split constants: k * HI is exact for the |k| reached here, LO carries the rest.
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
PIO2_1, PIO2_2, PIO2_3 = 1.57079632673412561417e+00, 6.07710050630396597660e-11, 2.02226624871116645580e-21
INV_LN2, TWO_OVER_PI, INV_LN10 = 1.0 / math.log(2.0), 2.0 / math.pi, 1.0 / math.log(10.0)
SQRT_HALF = math.sqrt(0.5)
BIG_ANGLE = 2.0 ** 19  # beyond it the three-part reduction of sin/cos loses bits

_EXP = [1.0 / math.factorial(n) for n in range(14)]  # |r| <= ln2/2: r**14/14! < 1e-17
_EXPM1 = [1.0 / math.factorial(n) for n in range(1, 17)]  # |y| <= 0.25
_SIN = [(-1) ** n / math.factorial(2 * n + 1) for n in range(10)]  # |r| <= pi/4
_COS = [(-1) ** n / math.factorial(2 * n) for n in range(10)]
_ATANH = [2.0 / (2 * n + 1) for n in range(13)]  # |s| <= 0.1716


def _horner(coeffs, z):
    acc = np.full_like(z, coeffs[-1])
    for c in reversed(coeffs[:-1]):
        acc = acc * z + c  # two roundings, never fused: numpy ufuncs are separate operations
    return acc


def exp(x: np.ndarray) -> np.ndarray:
    nan = np.isnan(x)
    x = np.clip(np.where(nan, 0.0, x), -746.0, 710.0)
    k = np.rint(x * INV_LN2)
    r = (x - k * LN2_HI) - k * LN2_LO
    out = np.ldexp(_horner(_EXP, r), k.astype(np.int32))
    return np.where(nan, np.nan, out)


def expm1(x: np.ndarray) -> np.ndarray:
    small = np.abs(x) <= 0.25
    return np.where(small, x * _horner(_EXPM1, np.where(small, x, 0.0)), exp(x) - 1.0)


def log(x: np.ndarray) -> np.ndarray:
    return _log_parts(x, lambda e, logm: e * LN2_HI + (logm + e * LN2_LO))


def log2(x: np.ndarray) -> np.ndarray:
    return _log_parts(x, lambda e, logm: e + logm * INV_LN2)  # exact at powers of two


def log10(x: np.ndarray) -> np.ndarray:
    return log(x) * INV_LN10


def _log_parts(x: np.ndarray, combine) -> np.ndarray:
    ok = np.isfinite(x) & (x > 0)
    m, e = np.frexp(np.where(ok, x, 1.0))  # x = m * 2**e, m in [0.5, 1)
    low = m < SQRT_HALF
    m, e = np.where(low, m * 2.0, m), (e - low).astype(np.float64)  # m in [sqrt(1/2), sqrt(2))
    s = (m - 1.0) / (m + 1.0)  # log(m) = 2 atanh(s)
    out = combine(e, s * _horner(_ATANH, s * s))
    out = np.where(x == 0, -np.inf, out)
    out = np.where(x == np.inf, np.inf, out)
    return np.where((x < 0) | np.isnan(x), np.nan, out)


def _sin_cos(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bad = ~np.isfinite(x)
    big = ~bad & (np.abs(np.where(bad, 0.0, x)) > BIG_ANGLE)
    xr = np.where(bad | big, 0.0, x)
    k = np.rint(xr * TWO_OVER_PI)
    r = ((xr - k * PIO2_1) - k * PIO2_2) - k * PIO2_3
    r2 = r * r
    s, c = r * _horner(_SIN, r2), _horner(_COS, r2)
    q = k.astype(np.int64) & 3  # the quadrant
    sin = np.choose(q, [s, c, -s, -c])
    cos = np.choose(q, [c, -s, -c, s])
    if big.any():  # glibc's double sin/cos through Python, one element at a time
        sin[big] = np.frompyfunc(math.sin, 1, 1)(x[big]).astype(np.float64)
        cos[big] = np.frompyfunc(math.cos, 1, 1)(x[big]).astype(np.float64)
    return np.where(bad, np.nan, np.where(x == 0, x, sin)), np.where(bad, np.nan, cos)  # sin(-0) = -0


def sin(x: np.ndarray) -> np.ndarray:
    return _sin_cos(x)[0]


def cos(x: np.ndarray) -> np.ndarray:
    return _sin_cos(x)[1]


def tan(x: np.ndarray) -> np.ndarray:
    s, c = _sin_cos(x)
    return s / c


def tanh(x: np.ndarray) -> np.ndarray:
    a = np.minimum(np.abs(np.where(np.isnan(x), 0.0, x)), 40.0)
    em = expm1(-2.0 * a)  # tanh(a) = -expm1(-2a) / (2 + expm1(-2a)), no cancellation near 0
    out = np.copysign(-em / (2.0 + em), x)
    return np.where(np.isnan(x), np.nan, out)


def sqrt(x: np.ndarray) -> np.ndarray:
    return np.sqrt(x)  # IEEE-754 requires the correctly rounded result; every x86 sqrt instruction gives it


def _elementwise(fn):
    ufunc = np.frompyfunc(fn, 1, 1)

    def run(x: np.ndarray) -> np.ndarray:
        return ufunc(x).astype(np.float64)
    return run


def _math_or_nan(fn):
    def safe(v):
        try:
            return fn(v)
        except ValueError:  # outside the domain: torch gives nan
            return math.nan
    return _elementwise(safe)


# aten operator -> float64 function: every operator ATen hands to MKL's VML (vml.h, IMPLEMENT_VML_MKL)
# but erfinv and trunc (exact anyway).  The rarely used ones (asin, acos, atan, erf, erfc) go
# through Python's math module (glibc / CPython code, the same on every CPU): slow, rarely used.
KERNELS = {
    "sqrt": sqrt, "exp": exp, "log": log, "log2": log2, "log10": log10,
    "sin": sin, "cos": cos, "tan": tan, "tanh": tanh,
    "asin": _math_or_nan(math.asin), "acos": _math_or_nan(math.acos), "atan": _elementwise(math.atan),
    "erf": _elementwise(math.erf), "erfc": _elementwise(math.erfc),
}

COMPLEX_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan"}
_FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
_library = None  # the torch.library registration while installed
_names: tuple[str, ...] = ()  # the operators it routes
calls: dict[str, int] = {}  # operator -> how many times the portable kernel ran (for tests and the trace)


def compute(name: str, x: torch.Tensor) -> torch.Tensor:
    """`name`(x) by the portable kernel, as a new tensor of torch's result dtype."""
    calls[name] = calls.get(name, 0) + 1
    if x.is_complex():  # numpy's scalar complex code (over glibc), not VML
        fn = getattr(np, COMPLEX_NAMES.get(name, name), None)
        if fn is None:
            raise RuntimeError(f'"{name}" is not implemented for complex tensors')
        with np.errstate(all="ignore"):
            out = fn(x.detach().to(torch.complex128).contiguous().numpy())
        return torch.from_numpy(np.array(out, dtype=np.complex128).reshape(x.shape)).to(x.dtype)
    dtype = x.dtype if x.dtype in _FLOATS else torch.get_default_dtype()
    values = x.detach().to(torch.float64).contiguous().numpy()
    with np.errstate(all="ignore"):
        out = KERNELS[name](values)
    return torch.from_numpy(np.array(out, dtype=np.float64).reshape(values.shape)).to(dtype)  # 0-d stays 0-d


def _functional(name):
    return lambda x: compute(name, x)


def _inplace(name):
    def run(x):
        return x.copy_(compute(name, x))
    return run


def _out(name):
    def run(x, *, out):
        result = compute(name, x)
        if out.shape != result.shape:
            out.resize_(result.shape)
        return out.copy_(result)
    return run


def install(names=None) -> None:
    """Route the operators of KERNELS (or only `names`, for diagnosis) to the portable kernels for
    CPU tensors in this process."""
    global _library, _names
    if _library is not None:
        return
    lib = torch.library.Library("aten", "IMPL")
    with warnings.catch_warnings():  # "overriding a previously registered kernel": that is the point
        warnings.simplefilter("ignore")
        for name in names or KERNELS:
            lib.impl(name, _functional(name), "CPU")
            lib.impl(f"{name}_", _inplace(name), "CPU")
            lib.impl(f"{name}.out", _out(name), "CPU")
    _library, _names = lib, tuple(sorted(names or KERNELS))


def uninstall() -> None:
    """Give the operators their ATen kernels back (tests)."""
    global _library, _names
    if _library is not None:
        _library._destroy()
        _library, _names = None, ()


def installed() -> bool:
    return _library is not None


def installed_names() -> list[str]:
    """The operators routed to the portable kernels in this process (empty: none)."""
    return list(_names)
