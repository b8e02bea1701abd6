"""Simulated reproductions of a manifest: the global verdict's false-failure rate and its power.

    python bench/verify_simulation.py                                   # the paper manifest, K = 1 and 3
    python bench/verify_simulation.py manifests/deepseek_bionlp.yaml --sims 1000 --json

Each value of the manifest (432 for the paper) is judged exactly as `bioeval verify` judges it
(the same tolerance rule, sampling scheme, declared seed spread, selection bias and margin,
through bioeval.verify.statistics).  A perfect reproduction draws, per value, our K runs and the
published one from the null the model assumes: the published value = truth + bias + seed noise
+ sampling difference, printed to three decimals; our runs = truth + seed noise each.  The truth
is the manifest's published value.  The sampling SE is the binomial one at that value and the
run's test size (what verify uses when a run has no bootstrap interval).  Power: in each
simulation 10% of the cells (chosen at random) are shifted down by 0.05 in F1 (or in all three
metrics), and the global verdict must catch it.  Values of a cell are drawn independently (Holm
needs no independence; the correlation of P, R and F1 would make the count of discrepancies
overdispersed, which is why the verdict is not a binomial count test).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import binom

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bioeval.manifest import cells as manifest_cells, load_manifest  # noqa: E402
from bioeval.verify import statistics as st  # noqa: E402
from bioeval.verify import tolerance as tol  # noqa: E402
from bioeval.verify.verify import test_size  # noqa: E402

PAPER = REPO / "manifests" / "deepseek_bionlp.yaml"


def value_table(path: Path) -> dict:
    """Per expected value (auto rules only): published, sampling sd, declared seed sd, bias, margin, alpha."""
    loaded = load_manifest(path)
    t = loaded.manifest.tolerance
    rows = []
    for ci, cell in enumerate(manifest_cells(loaded)):
        n = test_size(cell, None)
        for metric, mv in cell.expected.items():
            rule = tol.rule_for(t, cell.model.key, cell.dataset.key, metric)
            if rule.kind != "auto":
                continue
            _, scheme = tol.sampling_scheme(t, cell, metric, n)
            factor = st.sampling_factor(scheme["published"], scheme["ours"], scheme["n"], scheme["population"])
            se = st.binomial_se(mv.value, scheme["n"]) or 0.0
            spread = tol.seed_spread(t, cell, metric)
            bias = tol.selection_bias(t, cell, metric)
            group = next(i for i, e in enumerate(t.seed_spread) if e is spread) if spread else -1 - len(rows)
            rows.append((ci, metric == "f1", mv.value, se * factor ** 0.5, spread.sd if spread else 0.0,
                         bias.shift if bias else 0.0, rule.floor, tol.alpha_of(rule, t), group))
    if not rows:
        raise SystemExit(f"{path}: no value under an `auto` tolerance; abs/rel rules carry no probability to simulate.")
    cols = list(zip(*rows))
    names = ("cell", "is_f1", "published", "sampling", "seed", "bias", "margin", "alpha", "group")
    table = {k: np.asarray(v) for k, v in zip(names, cols)}
    table["cells"] = int(table["cell"].max()) + 1
    table["family_error"] = t.family_error
    return table


def _normal(rng: np.random.Generator, shape: tuple, cell, rho: float):
    """Standard normals over (sims, values, ...) correlated rho within a cell (P, R, F1 share predictions)."""
    z = rng.standard_normal(shape)
    if rho:
        common = rng.standard_normal((shape[0], int(cell.max()) + 1, *shape[2:]))[:, cell]
        z = np.sqrt(rho) * common + np.sqrt(1 - rho) * z
    return z


def simulate(table: dict, sims: int, k: int, rng: np.random.Generator, shift: float = 0.0,
             shifted_fraction: float = 0.0, f1_only: bool = True, decimals: int = 3, rho: float = 0.0) -> dict:
    """Fraction of simulations whose global verdict is not-reproduced, and discrepancy counts."""
    m = table["published"].size
    truth, samp, seed, bias = table["published"], table["sampling"], table["seed"], table["bias"]
    cell = table["cell"]
    published = np.round(truth + bias + seed * _normal(rng, (sims, m), cell, rho)
                         + samp * _normal(rng, (sims, m), cell, rho), decimals)
    runs = (truth + np.zeros((sims, m)))[..., None] + seed[:, None] * _normal(rng, (sims, m, k), cell, rho)
    if shifted_fraction:
        n_shift = round(shifted_fraction * table["cells"])
        chosen = np.argsort(rng.random((sims, table["cells"])), axis=1)[:, :n_shift]
        hit = np.zeros((sims, table["cells"]), bool)
        np.put_along_axis(hit, chosen, True, axis=1)
        value_hit = hit[:, table["cell"]] & (table["is_f1"] if f1_only else True)
        runs = runs - shift * value_hit[..., None]
    mean = runs.mean(axis=2)
    if k >= 2:  # as verify: values under one seed_spread declaration pool their K-run variances
        _, group = np.unique(table["group"], return_inverse=True)
        onehot = np.eye(group.max() + 1)[group]  # (values, groups)
        members = onehot.sum(axis=0)
        pooled = (runs.var(axis=2, ddof=1) @ onehot / members)[:, group]
        sd, df = st.combine(np.sqrt(pooled), k, samp, (members * (k - 1))[group])
    else:
        sd, df = st.combine(seed, 1, samp, np.inf)
        sd, df = np.broadcast_to(sd, (sims, m)), np.broadcast_to(df, (sims, m))
    diff = published - (mean + bias)
    p = st.p_value(diff, sd, df, table["margin"])
    discrepant = p < table["alpha"]
    failed = st.holm(p, table["family_error"]).any(axis=1)
    rate = float(failed.mean())
    # the alternative we did not choose: a one-sided binomial test of the count of discrepant values
    count = discrepant.sum(axis=1)
    alpha = float(table["alpha"].mean())
    critical = int(binom.isf(table["family_error"], m, alpha)) + 1  # smallest count with P(X >= c) <= level
    return {"sims": sims, "k": k, "values": m, "global_fail_rate": rate,
            "count_test_fail_rate": float((count >= critical).mean()),
            "mc_se": float(np.sqrt(max(rate * (1 - rate), 1e-12) / sims)),
            "mean_discrepant": float(discrepant.sum(axis=1).mean()),
            "any_discrepant_rate": float(discrepant.any(axis=1).mean()),
            "expected_false_discrepancies": float(table["alpha"].sum())}


def study(path: Path = PAPER, sims: int = 1000, seed: int = 0, ks: tuple[int, ...] = (1, 3)) -> dict:
    table = value_table(path)
    rng = np.random.default_rng(seed)
    out = {"manifest": str(path), "values": int(table["published"].size), "cells": table["cells"],
           "family_error": table["family_error"], "runs": []}
    for k in ks:
        null = simulate(table, sims, k, rng)
        f1 = simulate(table, sims, k, rng, shift=0.05, shifted_fraction=0.10, f1_only=True)
        all3 = simulate(table, sims, k, rng, shift=0.05, shifted_fraction=0.10, f1_only=False)
        out["runs"].append({"k": k, "null": null, "power_f1": f1, "power_all_metrics": all3})
    out["correlated_null"] = [{"rho": rho, **simulate(table, sims, 1, rng, rho=rho)} for rho in (0.0, 0.5, 0.9)]
    return out


def markdown(result: dict) -> str:
    lines = [f"| K runs per cell | false failure (global verdict, perfect reproduction) | "
             f"power: 10% of cells -0.05 F1 | power: 10% of cells -0.05 P, R and F1 | "
             f"discrepant values per perfect reproduction (expected) | `--strict` fails a perfect reproduction |",
             "|---|---|---|---|---|---|"]
    for r in result["runs"]:
        n, f, a = r["null"], r["power_f1"], r["power_all_metrics"]
        lines.append(f"| {r['k']} | {n['global_fail_rate']:.3f} ± {n['mc_se']:.3f} | {f['global_fail_rate']:.3f} | "
                     f"{a['global_fail_rate']:.3f} | {n['mean_discrepant']:.1f} ({n['expected_false_discrepancies']:.1f}) | "
                     f"{n['any_discrepant_rate']:.3f} |")
    lines += ["", "| correlation of P, R, F1 within a cell (K = 1, perfect reproduction) | Holm: false failure | "
              "binomial count test: false failure |", "|---|---|---|"]
    for r in result["correlated_null"]:
        lines.append(f"| {r['rho']:g} | {r['global_fail_rate']:.3f} | {r['count_test_fail_rate']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest", nargs="?", type=Path, default=PAPER)
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    result = study(args.manifest, args.sims, args.seed)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(result, indent=2) if args.json else markdown(result) + f"\n\n({result['seconds']} s)")


if __name__ == "__main__":
    main()
