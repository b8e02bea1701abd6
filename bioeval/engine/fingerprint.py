"""A numerics fingerprint: a few milliseconds of fixed float work at cell start, hashed.

Two processes with the same fingerprint computed a matmul, a softmax, the portable (or VML)
transcendental kernels and one LoRA-shaped AdamW step bit for bit alike, so the same cell
should give the same predictions; `verify` says "a bug, not the CPU" when they do not, and
names the parts that differ when the fingerprints do (verify/envdiff.py).  The inputs come from
integer arithmetic (no random generator: torch's normal sampler itself is vectorised per
instruction set), so the cell's random state is untouched and the inputs are the same everywhere.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np
import torch

PARTS = ("matmul", "softmax", "exp_log", "sqrt", "sin_cos", "tanh", "silu", "lora_adamw_step")


def _digest(t: torch.Tensor) -> str:
    return hashlib.sha256(t.detach().contiguous().numpy().tobytes()).hexdigest()[:16]


class _Inputs:
    """Fixed values in [-1, 1) from a multiplicative hash of their index: exact integer work."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, *shape: int) -> torch.Tensor:
        n = int(np.prod(shape))
        i = np.arange(self.used, self.used + n, dtype=np.uint64)
        self.used += n
        h = (i * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(2 ** 32)
        return torch.from_numpy((h.astype(np.float64) / 2 ** 31 - 1.0).astype(np.float32).reshape(shape))


def _lora_step(inputs: _Inputs) -> torch.Tensor:
    """One AdamW step of a rank-4 adapter on a frozen 32x32 linear layer (the engine's path in small)."""
    base = inputs.take(32, 32)
    a = (inputs.take(4, 32) * 0.1).requires_grad_()
    b = (inputs.take(32, 4) * 0.1).requires_grad_()
    x, target = inputs.take(16, 32), torch.arange(16) * 7 % 32
    opt = torch.optim.AdamW([a, b], lr=1e-2)
    logits = x @ base.T + (x @ a.T) @ b.T * 2.0
    torch.nn.functional.cross_entropy(logits, target).backward()
    opt.step()
    return torch.cat([a.detach().flatten(), b.detach().flatten()])


def probe() -> dict:
    """{"sha256", "parts": {part: sha256 prefix}, "ms"} on this process's CPU and settings."""
    t0 = time.perf_counter()
    inputs = _Inputs()
    x, w, v = inputs.take(64, 128) * 3, inputs.take(128, 96), inputs.take(4096) * 8
    with torch.no_grad():
        results = {
            "matmul": x @ w,
            "softmax": torch.softmax(x, dim=-1),
            "exp_log": torch.cat([torch.exp(v), torch.log(v.abs() + 1e-3)]),
            "sqrt": torch.sqrt(v.abs()),
            "sin_cos": torch.cat([torch.sin(v * 40), torch.cos(v * 40)]),
            "tanh": torch.tanh(v),
            "silu": torch.nn.functional.silu(v),
        }
    results["lora_adamw_step"] = _lora_step(inputs)
    parts = {name: _digest(results[name]) for name in PARTS}
    whole = hashlib.sha256("".join(parts[n] for n in PARTS).encode()).hexdigest()
    return {"sha256": whole, "parts": parts, "ms": round((time.perf_counter() - t0) * 1000, 1)}
