"""The deterministic mode's portable float kernels (engine/portable_math.py) and the numerics
fingerprint (engine/fingerprint.py).

Vendor independence cannot be run here (one CPU), so it is tested by construction: the kernels
must give the same bits whatever kernels ATen and MKL pick on this CPU (ATEN_CPU_CAPABILITY,
MKL_CBWR), and they must equal the correctly rounded value computed independently (Python's
float64 math, rounded once) on random inputs, which no CPU-specific approximation does.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from bioeval.engine import numerics
from tests.engine.conftest import REPO

REFERENCE = {"sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log2": math.log2, "log10": math.log10,
             "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh,
             "asin": math.asin, "acos": math.acos, "atan": math.atan, "erf": math.erf, "erfc": math.erfc}
RANGES = {"sqrt": (0, 1e4), "exp": (-100, 88), "log": (1e-20, 1e20), "log2": (1e-3, 1e3), "log10": (1e-3, 1e3),
          "sin": (-500, 500), "cos": (-500, 500), "tan": (-3, 3), "tanh": (-12, 12), "asin": (-1, 1),
          "acos": (-1, 1), "atan": (-50, 50), "erf": (-4, 4), "erfc": (-4, 4)}


@pytest.fixture
def portable():
    import torch  # noqa: F401

    from bioeval.engine import portable_math

    was = portable_math.installed()
    portable_math.install()
    yield portable_math
    if not was:
        portable_math.uninstall()


def _inputs(name: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    lo, hi = RANGES[name]
    x = rng.uniform(lo, hi, n)
    if name == "log":
        x = np.exp(rng.uniform(-80, 80, n))
    if name in ("tanh", "sin", "tan", "atan", "erf"):  # where relative precision is hardest
        x = np.concatenate([x, rng.uniform(-1e-4, 1e-4, n // 4)])
    return x.astype(np.float32)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_each_kernel_gives_the_correctly_rounded_float32(portable, name):
    import torch

    x = _inputs(name, 20_000 if name in ("asin", "acos", "atan", "erf", "erfc") else 200_000)
    want = np.array([REFERENCE[name](float(v)) for v in x]).astype(np.float32)
    got = getattr(torch, name)(torch.from_numpy(x)).numpy()
    assert (got == want).mean() >= 1 - 1e-5, name  # ties aside, every value is the correctly rounded one
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    assert ulps.max() <= 1, name


def test_special_values_follow_torch(portable):
    import torch

    x = torch.tensor([0.0, -0.0, 1.0, -1.0, float("inf"), -float("inf"), float("nan"), 1e-45, 3e38])
    for name in ("sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tanh"):
        ours = getattr(torch, name)(x)
        portable.uninstall()
        aten = getattr(torch, name)(x)
        portable.install()
        same = (ours == aten) | (ours.isnan() & aten.isnan()) | ((ours - aten).abs() <= 1e-6 * aten.abs())
        assert bool(same.all()), (name, ours.tolist(), aten.tolist())
        real = ~aten.isnan()  # a nan's sign is not specified
        assert torch.equal(ours.signbit()[real], aten.signbit()[real]), name


def test_every_overload_and_autograd_go_through_the_portable_kernels(portable):
    import torch

    before = dict(portable.calls)
    a = torch.rand(7, dtype=torch.float32).add_(0.1).requires_grad_()
    a.sqrt().sum().backward()  # functional, with autograd's formula on top
    assert torch.allclose(a.grad, 0.5 / a.detach().sqrt())
    b = torch.rand(5)
    b.sqrt_()  # in place
    out = torch.empty(0)
    torch.exp(torch.ones(3), out=out)  # out= (resized)
    assert out.shape == (3,) and out[0].item() == np.float32(math.e)
    torch.rand(4).pow(0.5)  # ATen's pow(x, 0.5) calls sqrt through the dispatcher
    assert torch.sqrt(torch.tensor([4])).dtype == torch.float32  # integers promote as ATen does
    assert torch.exp(torch.ones(2, dtype=torch.float64)).dtype == torch.float64
    assert torch.sin(torch.ones(2, dtype=torch.bfloat16)).dtype == torch.bfloat16
    assert portable.calls["sqrt"] - before.get("sqrt", 0) >= 4 and portable.calls["exp"] > before.get("exp", 0)
    scalar = torch.tensor(4.0)
    assert torch.sqrt(scalar).shape == () and torch.exp(scalar).shape == ()  # 0-d stays 0-d
    scalar.sqrt_()
    assert scalar.item() == 2.0 and torch.sqrt(torch.tensor(4 + 0j)).shape == ()
    assert torch.sin(torch.ones(2, 3)[:, 1]).shape == (2,)  # a strided view


def test_uninstall_gives_atens_kernels_back():
    import torch

    from bioeval.engine import portable_math

    if portable_math.installed():
        pytest.skip("installed by this process's numerics mode")
    x = torch.linspace(0.5, 30, 10_000)
    aten = torch.sqrt(x)
    portable_math.install()
    try:
        ours = torch.sqrt(x)
    finally:
        portable_math.uninstall()
    assert torch.equal(torch.sqrt(x), aten)
    assert torch.equal(ours, torch.from_numpy(np.sqrt(x.numpy())))  # IEEE sqrt, correctly rounded


PROBE = ("import json\n"
         "import torch\n"
         "from bioeval.engine import fingerprint, numerics\n"
         "numerics.apply_torch('deterministic')\n"
         "print(json.dumps(fingerprint.probe()))\n")


def _probe(env: dict) -> dict:
    import os

    res = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env})
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_portable_kernels_and_fingerprint_do_not_depend_on_the_kernels_torch_picks():
    """ATen's avx512 kernels and MKL's auto path compute softmax and silu differently (the
    fingerprint sees it), but the portable kernels give the same bits under all of them; with
    the mode's settings the whole fingerprint is the same in every fresh process."""
    default = _probe({"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"})
    again = _probe({"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "MKL_ENABLE_INSTRUCTIONS": "AVX2"})
    assert default["sha256"] == again["sha256"], (default, again)
    assert default["ms"] < 1000, default  # a few ms measured (6-10 in a fresh process); a bound, not a benchmark
    portable_parts = ("exp_log", "sqrt", "sin_cos", "tanh")
    others = [{"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AUTO"}]
    if "avx512f" in numerics.cpu_flags():  # torch obeys the variable: avx512 kernels on an AVX2 CPU die (SIGILL)
        others.append({"ATEN_CPU_CAPABILITY": "avx512"})
    for env in others:
        other = _probe(env)
        assert {p: other["parts"][p] for p in portable_parts} == {p: default["parts"][p] for p in portable_parts}, \
            (env, other, default)
    assert set(default["parts"]) == {"matmul", "softmax", "exp_log", "sqrt", "sin_cos", "tanh", "silu",
                                     "lora_adamw_step"}


def test_fingerprint_leaves_the_random_state_alone():
    import torch

    from bioeval.engine import fingerprint

    torch.manual_seed(3)
    want = torch.rand(3)
    torch.manual_seed(3)
    fingerprint.probe()
    assert torch.equal(torch.rand(3), want)


def test_complex_tensors_are_computed_too(portable):
    import torch

    z = torch.tensor([1 + 2j, -0.5 + 0.1j], dtype=torch.complex64)
    for name in ("sqrt", "exp", "log", "sin", "cos", "tanh"):
        got = getattr(torch, name)(z)
        want = getattr(np, name)(z.numpy().astype(np.complex128)).astype(np.complex64)
        assert got.dtype == torch.complex64 and np.allclose(got.numpy(), want, rtol=1e-6), name
    with pytest.raises(RuntimeError, match="complex"):  # erf has no complex version in ATen either
        torch.erf(z)
