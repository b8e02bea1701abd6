"""Which scoped declaration applies to a value, and which pairs of them are ambiguous.

Precedence (docs/statistics.md, "Which declaration applies"): the rule naming more of model,
dataset, task and metric wins; among rules naming as many, one naming the model beats one naming
the dataset, which beats the task, then the metric; among rules naming the very same fields, the
later one in the manifest wins.  Two declarations that match one value with the same count of
named fields are resolved by that order, silently until now: `ambiguities` lists them so load
can warn (a model-level seed spread used to outrank a dataset-level one unnoticed).
"""

from __future__ import annotations

FIELDS = ("model", "dataset", "task", "metric")


def specificity(rule) -> tuple[int, ...]:
    named = tuple(getattr(rule, f, None) is not None for f in FIELDS)
    return (sum(named), *named)


def matches(rule, model: str, dataset: str, metric: str | None, task: str | None) -> bool:
    """Every field the rule names is the value's (a loop, not all(...): `plan` asks 10,000 times)."""
    for field, value in (("model", model), ("dataset", dataset), ("task", task), ("metric", metric)):
        named = getattr(rule, field, None)
        if named is not None and named != value:
            return False
    return True


def most_specific(rules, model: str, dataset: str, metric: str, task: str | None = None, default=None):
    best, best_rank = default, None
    for rule in rules:
        if not matches(rule, model, dataset, metric, task):
            continue
        rank = specificity(rule)
        if best_rank is None or rank >= best_rank:  # >=: the later of two equally specific rules wins
            best, best_rank = rule, rank
    return best


def _effect(rule) -> dict:
    """What a declaration says, without its scope and its words."""
    return rule.model_dump(exclude={*FIELDS, "source", "note"})


def ambiguities(rules, cells: list[tuple[str, str, str]]) -> list[dict]:
    """Pairs of declarations that both match some (model, dataset, task) with equally many named
    fields and say different things: {first, second, winner, cells} (indices into `rules`)."""
    out = []
    for i, a in enumerate(rules):
        for j in range(i + 1, len(rules)):
            b = rules[j]
            if specificity(a)[0] != specificity(b)[0] or _effect(a) == _effect(b):
                continue
            if a.metric is not None and b.metric is not None and a.metric != b.metric:
                continue
            metric = a.metric or b.metric
            count = specificity(a)[0]
            hit = [c for c in cells if matches(a, *c[:2], metric, c[2]) and matches(b, *c[:2], metric, c[2])
                   # a rule naming more fields decides that cell: no ambiguity left there
                   and not any(specificity(r)[0] > count and matches(r, *c[:2], metric, c[2]) for r in rules)]
            if hit:
                winner = j if specificity(b) >= specificity(a) else i
                out.append({"first": i, "second": j, "winner": winner, "cells": hit})
    return out
