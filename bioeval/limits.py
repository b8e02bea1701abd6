"""Ranges of numbers a user gives, shared by the manifest schema and the CLI (no heavy imports)."""

MAX_SEED = 2**32 - 1  # numpy's and torch's seeding accept 0 .. 2**32 - 1 everywhere
MAX_RESAMPLES = 1_000_000  # bootstrap resamples; 1,000 is the default, 10,000 is plenty
