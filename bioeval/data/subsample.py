"""Seeded test-set subsampling (the authors' code scores a random 1,000 of larger test sets).

The indices are returned so the run can save them: anyone can re-score the same subset.
"""

from __future__ import annotations

import random


def subsample(instances: list, n: int | None, seed: int | None) -> tuple[list, list[int]]:
    """(chosen instances in file order, their indices); all of them when n is None or >= len."""
    if n is None or n >= len(instances):
        return list(instances), list(range(len(instances)))
    if n < 0:
        raise ValueError(f"subsample size must be >= 0 (got {n})")
    indices = sorted(random.Random(seed).sample(range(len(instances)), n))
    return [instances[i] for i in indices], indices


def checkpoint_seed(seed: int, step: int) -> int:
    """The seed of checkpoint ``step``'s own test sample (``test_sampling: fresh-per-checkpoint``):
    a new sample per checkpoint as in the lab's code, but seeded, so a rerun draws the same ones."""
    return seed * 1_000_003 + step
