"""Deterministic CPU numerics: float results that do not depend on the CPU's vector
instruction set or on thread scheduling (`protocol.numerics: deterministic`).

PyTorch picks its CPU kernels (ATen: default / avx2 / avx512) and MKL its code path from the
CPU it finds, so the same seed gives different roundings on different CPUs, and a smoke
protocol with greedy decoding turns a rounding into a different answer (docs/engine.md,
"Numerics").  The mode pins what was measured to matter (bench/numerics_settings.py,
docs/performance.md):

- ``ATEN_CPU_CAPABILITY=default``: ATen's portable kernels instead of the avx2/avx512 ones;
- ``MKL_CBWR=COMPATIBLE``: MKL's conditional numerical reproducibility, one code path on every
  x86-64 CPU (it overrides ``MKL_ENABLE_INSTRUCTIONS``);
- one thread (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``BIOEVAL_CPU_THREADS``): a sum split
  over threads rounds differently with the thread count;
- ``torch.use_deterministic_algorithms(True)``: torch raises on an op with no deterministic
  implementation instead of silently varying (no cost measured on the smoke cells);
- sqrt, exp, log, sin, cos, tanh, ... computed by bioeval/engine/portable_math.py instead of MKL's
  vector math library, whose results differ between Intel and AMD CPUs even under
  ``MKL_CBWR=COMPATIBLE`` (AdamW's sqrt was the first operation to differ, numerics trace).

These variables are read by the native libraries when torch is imported or first used, so
they must be in the environment before that: `prepare()` sets them in this process while torch
is not imported yet, and `needs_child_process()` tells the local runtime when it must run the
cells in a fresh interpreter instead.  This module never imports torch itself.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

MODES = ("default", "deterministic")

# What the deterministic mode sets; it wins over whatever the environment says.
DETERMINISTIC_ENV = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_CBWR": "COMPATIBLE",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BIOEVAL_CPU_THREADS": "1",
}
MODE_VAR = "BIOEVAL_NUMERICS"  # the mode the process was prepared for (recorded, and read by children)

# Recorded in the receipt: the variables above plus those that limit the instruction set.
RECORDED_ENV = (*DETERMINISTIC_ENV, MODE_VAR, "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA",
                "DNNL_MAX_CPU_ISA", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")

# The CPU flags that decide which kernels run (the rest of /proc/cpuinfo's list is noise here).
ISA_FLAGS = ("sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
             "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")

_prepared: str | None = None  # the mode whose environment this process set before torch was imported
_original: dict[str, str | None] = {}  # what prepare() overwrote, for a child that needs the default mode


def environment(mode: str) -> dict[str, str]:
    """The variables a cell process needs for `mode` (empty for default: leave everything as is)."""
    if mode not in MODES:
        raise ValueError(f"unknown numerics mode {mode!r}")
    return {**DETERMINISTIC_ENV, MODE_VAR: mode} if mode == "deterministic" else {}


def mode_of(cell) -> str:
    return cell.protocol.numerics.value


def torch_imported() -> bool:
    return "torch" in sys.modules


def needs_child_process(mode: str, environ=None) -> bool:
    """True when this process cannot give `mode` any more: torch was imported before the mode's
    environment was in place (e.g. an earlier cell, or a test that imported the engine), or a
    default cell follows deterministic ones in a process that torch already configured."""
    if not torch_imported():
        return False
    if mode == "default":
        return _prepared is not None
    environ = os.environ if environ is None else environ
    return _prepared != mode or any(environ.get(k) != v for k, v in environment(mode).items())


def prepare(mode: str) -> None:
    """Put the mode's environment into this process before torch is imported (the mode wins
    over what the environment said); default undoes an earlier prepare()."""
    global _prepared
    if needs_child_process(mode):
        raise RuntimeError("numerics.prepare() after torch was imported: run the cell in a child process")
    if torch_imported():
        return  # already prepared for this mode (or default in a process never prepared)
    if mode == "default":
        _restore(os.environ)
        _prepared = None
        return
    if _prepared is None:
        _original.update({k: os.environ.get(k) for k in environment(mode)})
    os.environ.update(environment(mode))
    _prepared = mode


def _restore(environ) -> None:
    for k, v in _original.items():
        if v is None:
            environ.pop(k, None)
        else:
            environ[k] = v


def child_environment(mode: str) -> dict[str, str]:
    """The environment of a fresh interpreter that runs `mode`'s cells: this process's, without
    what prepare() set, plus the mode's variables."""
    env = dict(os.environ)
    _restore(env)
    return {**env, **environment(mode)}


def apply_torch(mode: str) -> None:
    """The settings that are torch calls, not variables (after torch is imported)."""
    if mode == "default":
        return
    import torch

    from bioeval.engine import portable_math

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    portable_math.install()


def cpu_model(cpuinfo: str | None = None) -> str | None:
    text = cpuinfo if cpuinfo is not None else _read_cpuinfo()
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """The instruction-set flags of this CPU that matter to the kernels (see ISA_FLAGS)."""
    text = cpuinfo if cpuinfo is not None else _read_cpuinfo()
    for line in text.splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return [f for f in ISA_FLAGS if f in have]
    return []


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


def describe(mode: str, environ=None) -> dict:
    """What the receipt records: the mode, the CPU, and the values in effect."""
    environ = os.environ if environ is None else environ
    out: dict = {"mode": mode, "cpu_model": cpu_model(), "cpu_flags": cpu_flags(),
                 "libc": " ".join(platform.libc_ver()).strip() or None,  # glibc's expf/logf run in fused kernels
                 "env": {k: environ.get(k) for k in RECORDED_ENV}}
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        out["torch_threads"] = torch.get_num_threads()
        out["deterministic_algorithms"] = torch.are_deterministic_algorithms_enabled()
        out["mkl"] = torch.backends.mkl.is_available()
        out["mkldnn"] = torch.backends.mkldnn.is_available()
        portable = sys.modules.get("bioeval.engine.portable_math")
        out["portable_kernels"] = portable.installed_names() if portable else []
    return out
