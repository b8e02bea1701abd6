"""The audit stage: does the data match the paper, and what do the files say about its table?

It sits above data, scoring and engine (it fetches splits, scores trivial baselines, fills
prompts to count tokens) and below verify and report, which show its findings.
``audit_manifest(loaded, settings) -> dict`` (datasets.py) is the entry point; checks.py and
tables.py are pure functions over instances and published values, rules.py turns their numbers
into findings (findings.py), originals.py reads the lab's unformatted files, claims.py judges a
paper's claims against its own table, render.py prints the audit.
"""
