"""A paper's claims: the sentences of its results as checks over cells and metrics.

schema (the manifest's `claims:` section), validate (its cross-references, located), logic
(three-valued evaluation over intervals), table (judged against the paper's own table, for
`audit`), runs (judged against reproduced values, for `verify` and `report`), render (Markdown).
"""
