"""What each value can detect before any run: its sd under the declared spreads, and the
minimum detectable effect (MDE), the smallest true shift the global verdict names with
probability `power` (docs/statistics.md, "What a cell can detect").

A single shifted value among m tested ones is named by Holm when its p-value clears the first
step, family_error / m; its MDE is margin + (q(1 - family_error / 2m) + q(power)) x sd.  The
per-value MDE (at the interval's own level) says when that value's interval alone misses.
Both come from the parts `verify` uses for a run of the manifest's own protocol with K runs per
cell (K = 1: the declared seed spreads; K >= 2: the declared spread taken as what the runs would
measure, with K - 1 degrees of freedom for the cell alone: pooling only adds more).
"""

from __future__ import annotations

import math

from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.resolve import Cell
from bioeval.manifest.schema import METRICS
from bioeval.manifest.tolerance_text import describe
from bioeval.verify import distributions as dist
from bioeval.verify import sampling as sp
from bioeval.verify import tolerance as tol
from bioeval.verify.parts import test_size, value_parts

POWER = 0.80


def planned_values(loaded: LoadedManifest, cell_list: list[Cell], k: int = 1) -> list[dict]:
    """Per published value: the rule and, under `auto`, the parts verify would judge it with."""
    t = loaded.manifest.tolerance
    rows = []
    for cell in cell_list:
        n = test_size(cell, None)
        for metric in METRICS:
            if metric not in cell.expected:
                continue
            mv = cell.expected[metric]
            rule = tol.rule_for(t, cell.model.key, cell.dataset.key, metric)
            row = {"model": cell.model.key, "dataset": cell.dataset.key, "task": cell.dataset.task,
                   "metric": metric, "expected": mv.value, "n": n, "rule": describe(rule, t), "runs": k}
            if rule.kind != "auto":
                row.update(kind="fixed", half_width=tol.allowed(rule, mv.value))
                rows.append(row)
                continue
            parts, sources, spread, bias, scheme = value_parts(t, cell, metric, [], n, mv.value)
            seed_sd = spread.sd if spread else 0.0
            if k >= 2:
                seed_df = float(k - 1)
            else:
                seed_df = float(spread.runs - 1) if spread and spread.runs else float("inf")
            published_sd = max(seed_sd, t.seed_floor)
            declared_bias = tol.selection_bias(t, cell, metric)
            sd = math.sqrt(sp.combined_variance(seed_sd, k, parts["sampling"] or 0.0, published_sd))
            row.update(kind="auto", sd=float(sd), df=seed_df, alpha=tol.alpha_of(rule, t), margin=rule.floor,
                       bias=bias, sampling_sd=parts["sampling"], seed_sd=seed_sd, published_seed_sd=published_sd,
                       seed_declaration=next((i for i, e in enumerate(t.seed_spread) if e is spread), None),
                       seed_runs=(spread.runs or 0) if spread else 0,
                       selected_like_published=bool(declared_bias) and not bias,
                       # a perfect reproduction's sampling part as counts, where verify counts it
                       counts=sp.count_sampling(mv.value, mv.value, scheme["trials"], scheme["published"],
                                                scheme["ours"], scheme["fpc"]) if parts["sampling"] else None,
                       sources={"sampling": sources["sampling"], "bias": sources["bias"],
                                "seed": ("declared: " + spread.source) if spread else "none declared"})
            rows.append(row)
    return rows


def attach_mde(rows: list[dict], family_error: float, power: float = POWER) -> None:
    """Add `mde` (the shift the global verdict names with `power` when this is the only shifted
    value) and `mde_value` (the shift this value's own interval misses with `power`) to every
    row with an sd; rows under a fixed rule detect any shift beyond their half-width."""
    tested = [r for r in rows if r.get("sd") is not None and r.get("alpha") is not None]
    m = max(len(tested), 1)
    if tested:
        sd, margin = [r["sd"] for r in tested], [r["margin"] for r in tested]
        df = [math.inf if r.get("df") is None else r["df"] for r in tested]
        family = minimum_detectable_effect(sd, df, [family_error / m] * len(tested), margin, power)
        own = minimum_detectable_effect(sd, df, [r["alpha"] for r in tested], margin, power)
        for r, a, b in zip(tested, family, own):
            r["mde"], r["mde_value"] = _rounded(a), _rounded(b)
    for r in rows:
        if r.get("kind") == "fixed":
            r["mde"] = r["mde_value"] = r["half_width"]


def minimum_detectable_effect(sd: list, df: list, alpha: list, margin: list, power: float = POWER) -> list[float]:
    """Per value, the smallest true shift a two-sided test at `alpha` detects with probability
    `power`: margin + (q(1 - alpha/2) + q(power)) x sd (the far tail ignored; t quantiles with df).

    A figure rounded to four decimals, so where every df is infinite (declared seed spreads, as
    in `plan` of the paper manifest) the normal quantiles come from the standard library, within
    1e-15 of scipy's, and `plan` imports neither numpy nor scipy; otherwise Student's t from scipy,
    one vectorised call per level (its per-call overhead would be most of the cost)."""
    if all(math.isinf(d) for d in df):
        z_power = dist.normal_quantile(power)
        return [g + (dist.normal_quantile(1.0 - a / 2.0) + z_power) * s for s, a, g in zip(sd, alpha, margin)]
    import numpy as np

    df_, alpha_ = np.asarray(df, float), np.asarray(alpha, float)
    q = dist.t_ppf(1.0 - alpha_ / 2.0, df_) + dist.t_ppf(power, df_)
    return list(np.asarray(margin, float) + q * np.asarray(sd, float))


def detection(loaded: LoadedManifest, cell_list: list[Cell], k: int = 1, power: float = POWER) -> dict:
    """The `plan --json` "detection" block: per value, and each cell's F1 (or its first metric)."""
    rows = planned_values(loaded, cell_list, k)
    attach_mde(rows, loaded.manifest.tolerance.family_error, power)
    return {"runs_per_cell": k, "power": power, "family_error": loaded.manifest.tolerance.family_error,
            "tested_values": sum(r["kind"] == "auto" for r in rows),
            "rule": "mde = margin + (q(1 - family_error / (2 m)) + q(power)) x sd: the smallest true shift the "
                    "global verdict (Holm over m values) names with probability `power` when it is the only "
                    "shifted value; mde_value: the same at the value's own interval level",
            "values": rows, "cells": cell_summary(rows)}


def cell_summary(rows: list[dict]) -> list[dict]:
    """One line per cell: the MDE of its F1 (else of its first metric), to rank what can fail at all."""
    by_cell: dict[tuple, dict] = {}
    for r in rows:
        if "mde" not in r:
            continue
        key = (r["model"], r["dataset"])
        if key not in by_cell or r["metric"] == "f1":
            by_cell[key] = {"model": r["model"], "dataset": r["dataset"], "task": r["task"], "metric": r["metric"],
                            "expected": r["expected"], "n": r["n"], "sd": r.get("sd"), "mde": r["mde"],
                            "mde_value": r["mde_value"]}
    return sorted(by_cell.values(), key=lambda c: (c["mde"], c["model"], c["dataset"]))


def _rounded(x) -> float:
    return round(float(x), 4)
