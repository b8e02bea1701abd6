"""A paper's claims: the sentences of its results as checks over cells and metrics.

schema (the manifest's `claims:` section), validate (its cross-references, located), logic
(three-valued evaluation over intervals), printed (the interval a printed value stands for).
Each stage judges them on its own evidence: the paper's own table in `audit/claims.py`, the
reproduced values in `verify/claims.py`, the Markdown section in `report/claims.py`.
"""
