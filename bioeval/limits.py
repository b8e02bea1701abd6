"""Ranges and defaults of numbers a user gives, shared by the manifest schema, the CLI, scoring
and verify (no heavy imports)."""

MAX_SEED = 2**32 - 1  # numpy's and torch's seeding accept 0 .. 2**32 - 1 everywhere
MAX_RESAMPLES = 1_000_000  # bootstrap resamples; 1,000 is the default, 10,000 is plenty

# the bootstrap's defaults wherever one is drawn: the manifest's scoring section, `score`, compare, claims
RESAMPLES, CI_LEVEL, BOOTSTRAP_SEED = 1000, 0.95, 0
