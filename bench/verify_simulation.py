"""Simulated reproductions of a manifest: the global verdict's false-failure rate and its power.

    python bench/verify_simulation.py                                   # the paper manifest, K = 1 and 3
    python bench/verify_simulation.py manifests/deepseek_bionlp.yaml --sims 1000 --json

Each value of the manifest (432 for the paper) is judged exactly as `bioeval verify` judges it
(the same tolerance rule, sampling scheme, declared seed spread, selection bias and margin,
through bioeval.verify.statistics).  A perfect reproduction draws, per value, our K runs and the
published one from the null the model assumes: the published value = truth + bias + seed noise
+ sampling difference, printed to the tables' decimals (four for Zhan); our runs = truth + seed noise each.  The truth
is the manifest's published value.  The sampling SE is the binomial one at that value and the
run's test size (what verify uses when a run has no bootstrap interval).  Power: in each
simulation 10% of the cells (chosen at random) are shifted down by 0.05 in F1 (or in all three
metrics), and the global verdict must catch it.  Values of a cell are drawn independently (Holm
needs no independence; the correlation of P, R and F1 would make the count of discrepancies
overdispersed, which is why the verdict is not a binomial count test).
"""

from __future__ import annotations

import argparse
import functools
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
from bioeval.verify.detection import detection, planned_values  # noqa: E402

PAPER = REPO / "manifests" / "deepseek_bionlp.yaml"


def _decimals(values) -> int:
    """How many decimals the published values are printed with (2 for Guo & Sarker, 4 for Zhan: Tables 2-4)."""
    for d in range(1, 6):
        if np.allclose(np.round(values, d), values, atol=1e-9):
            return d
    return 6


def value_table(path: Path) -> dict:
    """Per expected value (auto rules only): published, sampling sd, declared seed sd (and its runs),
    bias, margin, alpha, as verify computes them for a run of the manifest's own protocol
    (bioeval.verify.detection.planned_values: the parts verify itself uses)."""
    loaded = load_manifest(path)
    t = loaded.manifest.tolerance
    cell_list = manifest_cells(loaded)
    index = {(c.model.key, c.dataset.key): i for i, c in enumerate(cell_list)}
    rows = []
    for v in planned_values(loaded, cell_list):
        if v["kind"] != "auto":
            continue
        group = v["seed_declaration"] if v["seed_declaration"] is not None else -1 - len(rows)
        rows.append((index[(v["model"], v["dataset"])], v["metric"] == "f1", v["expected"], v["sampling_sd"] or 0.0,
                     v["seed_sd"], v["seed_runs"], v["bias"], v["margin"], v["alpha"], group,
                     v["selected_like_published"], v["counts"]))
    if not rows:
        raise SystemExit(f"{path}: no value under an `auto` tolerance; abs/rel rules carry no probability to simulate.")
    cols = list(zip(*rows))
    names = ("cell", "is_f1", "published", "sampling", "seed", "seed_runs", "bias", "margin", "alpha", "group",
             "selected_on_test", "counts")
    table = {k: np.asarray(v) if k != "counts" else list(v) for k, v in zip(names, cols)}
    table["cells"] = int(table["cell"].max()) + 1
    table["family_error"] = t.family_error
    table["seed_floor"] = t.seed_floor
    table["decimals"] = _decimals(table["published"])
    table["names"] = [f"{c.model.key} x {c.dataset.key}" for c in manifest_cells(loaded)]
    return table


def _normal(rng: np.random.Generator, shape: tuple, cell, rho: float):
    """Standard normals over (sims, values, ...) correlated rho within a cell (P, R, F1 share predictions)."""
    z = rng.standard_normal(shape)
    if rho:
        common = rng.standard_normal((shape[0], int(cell.max()) + 1, *shape[2:]))[:, cell]
        z = np.sqrt(rho) * common + np.sqrt(1 - rho) * z
    return z


def _draw(rng, table, sims, k, rho, checkpoints, seed_scale):
    """(published, our runs (sims, values, k)) of a perfect reproduction.

    Each side's value is the best of `checkpoints` scores (1: no selection); a checkpoint's score
    is truth + seed noise + that side's sampling noise (half the difference's variance each when
    both sides cut, all of it on the one side that does).  Our K runs share their test cuts (the
    seed study pins subsample_seed) and differ in seed noise.  The true seed SD is
    `seed_scale` x the declared one (1: the declaration is right)."""
    m = table["published"].size
    truth, samp, cell = table["published"], table["sampling"], table["cell"]
    seed = table["seed"] * seed_scale
    half = samp / np.sqrt(2.0)
    c = checkpoints
    pub = (seed[:, None] * _normal(rng, (sims, m, c), cell, rho)
           + half[:, None] * _normal(rng, (sims, m, c), cell, rho)).max(axis=2)
    ours_cut = half[:, None] * _normal(rng, (sims, m, c), cell, rho)  # (sims, m, c), common to our K runs
    ours = (seed[:, None, None] * _normal(rng, (sims, m, k, c), cell, rho) + ours_cut[:, :, None, :]).max(axis=3)
    for i, counts in enumerate(table["counts"]):  # verify counts these: draw them as counts
        if counts is None:
            continue
        def cut(shape):
            return rng.binomial(counts.trials, truth[i], shape) / counts.trials - truth[i]
        both = counts.sides == 2
        pub_cut = cut((sims, c)) if both or not counts.ours_random else np.zeros((sims, c))
        our_cut = cut((sims, c)) if both or counts.ours_random else np.zeros((sims, c))
        pub[:, i] = (seed[i] * rng.standard_normal((sims, c)) + pub_cut).max(axis=1)
        ours[:, i] = (seed[i] * rng.standard_normal((sims, k, c)) + our_cut[:, None, :]).max(axis=2)
    published = np.round(truth + table["bias"] + pub, table["decimals"])
    return published, truth[None, :, None] + ours


def judge_sims(table: dict, published, runs, kv) -> dict:
    """p-values of every simulated value, judged as verify judges them (bioeval.verify.verify):
    K >= 2 values pool their group's measured cells (one sample per cell) with a declared study;
    K = 1 values keep the declared spread; the published run carries max(measured, declared, floor)."""
    sims, m, kmax = runs.shape
    mask = np.arange(kmax)[None, :] < kv[:, None]  # (m, kmax): which runs a value has
    mean = np.where(mask, runs, 0).sum(axis=2) / kv
    var = np.where(mask, (runs - mean[..., None]) ** 2, 0).sum(axis=2) / np.maximum(kv - 1, 1)
    seed_sd = np.broadcast_to(table["seed"], (sims, m)).astype(float).copy()
    runs_decl = table["seed_runs"]
    seed_df = np.where(runs_decl >= 2, runs_decl - 1, np.inf).astype(float) + np.zeros((sims, m))
    studied = kv >= 2
    if studied.any():
        _, group = np.unique(table["group"], return_inverse=True)
        for g in np.unique(group[studied]):
            members = (group == g) & studied
            cells = np.unique(table["cell"][members])
            ss = np.zeros(sims)
            df = 0.0
            for c in cells:  # one sample per cell: average its metrics' variances, K - 1 df
                vals = members & (table["cell"] == c)
                kc = int(kv[vals].min())
                ss += (kc - 1) * var[:, vals].mean(axis=1)
                df += kc - 1
            first = np.flatnonzero(members)[0]
            if runs_decl[first] >= 2:
                ss, df = ss + (runs_decl[first] - 1) * table["seed"][first] ** 2, df + runs_decl[first] - 1
            seed_sd[:, members] = np.sqrt(ss / df)[:, None]
            seed_df[:, members] = df
    published_sd = np.maximum(np.maximum(seed_sd, table["seed"]), table["seed_floor"])
    sd, df = st.combine(seed_sd, kv, table["sampling"], seed_df, published_sd)
    centre = np.clip(mean + table["bias"], 0.0, 1.0)
    p = st.p_value(published - centre, sd, df, table["margin"])
    for i, counts in enumerate(table["counts"]):  # as verify: counts where it counts (declared spreads)
        single = np.isinf(df[:, i])
        if counts is None or not single.any():
            continue
        other = np.sqrt(np.maximum(sd[:, i] ** 2 - table["sampling"][i] ** 2, 0.0))
        p[single, i] = _count_p(published[single, i] - centre[single, i], counts, other[single], table["margin"][i])
    return {"p": p, "sd": sd, "df": df}


def _count_p(diff, counts, other, margin):
    """count_p_value for many simulated differences: interpolated on a fine grid of the
    difference (the other part's sd is the same in every simulation of a value at K = 1;
    the counts sit at the truth, where verify uses the two sides' pooled value)."""
    s = round(float(np.median(other)), 6)
    grid, p = _count_curve(counts, s, float(margin))
    return np.interp(diff, grid, p)


@functools.lru_cache(maxsize=None)
def _count_curve(counts, s: float, margin: float):
    reach = 8.0 * s + 8.0 * np.sqrt(counts.p0 * (1 - counts.p0) / counts.trials) + 1.0 / counts.trials
    grid = np.linspace(-reach, reach, 401)
    return grid, st.count_p_value(grid, counts, s, margin)


def simulate(table: dict, sims: int, k: int, rng: np.random.Generator, shift: float = 0.0,
             shifted_fraction: float = 0.0, f1_only: bool = True, decimals: int | None = None, rho: float = 0.0,
             study_cells=None, checkpoints: int = 1, seed_scale: float = 1.0) -> dict:
    """Fraction of simulations whose global verdict is not-reproduced, and discrepancy counts.

    k runs for the cells in `study_cells` (every cell when None), one for the others (a partial
    seed study); `checkpoints` > 1: both sides report the best of that many checkpoints (selection
    on test); `seed_scale`: the true seed SD over the declared one."""
    if decimals is not None:
        table = {**table, "decimals": decimals}
    m = table["published"].size
    cell = table["cell"]
    kv = np.full(m, k) if study_cells is None else np.where(np.isin(cell, study_cells), k, 1)
    published, runs = _draw(rng, table, sims, int(kv.max()), rho, checkpoints, seed_scale)
    hit = np.zeros((sims, table["cells"]), bool)
    if shifted_fraction:
        n_shift = round(shifted_fraction * table["cells"])
        chosen = np.argsort(rng.random((sims, table["cells"])), axis=1)[:, :n_shift]
        np.put_along_axis(hit, chosen, True, axis=1)
        value_hit = hit[:, cell] & (table["is_f1"] if f1_only else True)
        runs = runs - shift * value_hit[..., None]
    p = judge_sims(table, published, runs, kv)["p"]
    discrepant = p < table["alpha"]
    rejected = st.holm(p, table["family_error"])
    failed = rejected.any(axis=1)
    rate = float(failed.mean())
    # the alternative we did not choose: a one-sided binomial test of the count of discrepant values
    count = discrepant.sum(axis=1)
    alpha = float(table["alpha"].mean())
    critical = int(binom.isf(table["family_error"], m, alpha)) + 1  # smallest count with P(X >= c) <= level
    out = {"sims": sims, "k": k, "values": m, "global_fail_rate": rate,
           "count_test_fail_rate": float((count >= critical).mean()),
           "mc_se": float(np.sqrt(max(rate * (1 - rate), 1e-12) / sims)),
           "mean_discrepant": float(discrepant.sum(axis=1).mean()),
           "any_discrepant_rate": float(discrepant.any(axis=1).mean()),
           "expected_false_discrepancies": float(table["alpha"].sum())}
    if shifted_fraction:  # how often a shifted cell is itself named by Holm (any of its values)
        named = np.zeros((sims, table["cells"]), bool)
        for c in range(table["cells"]):
            named[:, c] = rejected[:, cell == c].any(axis=1)
        per_cell = (named & hit).sum(axis=0) / np.maximum(hit.sum(axis=0), 1)
        out["named_per_shifted_sim"] = float((named & hit).sum(axis=1).mean())
        out["per_cell_detection"] = per_cell.tolist()
    return out


def detection_table(path: Path, per_cell_rate: list[float], names: list[str]) -> list[dict]:
    """Per cell: the library's minimum detectable effect of its F1 at 80% (what `plan --json` and
    `verify` report, bioeval.verify.detection) beside the simulated rate at which a -0.05 F1 shift
    of that cell was named (K = 1)."""
    loaded = load_manifest(path)
    rate = dict(zip(names, per_cell_rate))
    return [{"cell": f"{c['model']} x {c['dataset']}", "f1_mde": c["mde"], "sd": round(c["sd"], 5),
             "named_at_minus_0.05": round(rate.get(f"{c['model']} x {c['dataset']}", float("nan")), 3)}
            for c in detection(loaded, manifest_cells(loaded))["cells"] if c["metric"] == "f1"]


def study(path: Path = PAPER, sims: int = 1000, seed: int = 0, ks: tuple[int, ...] = (1, 3)) -> dict:
    table = value_table(path)
    rng = np.random.default_rng(seed)
    out = {"manifest": str(path), "values": int(table["published"].size), "cells": table["cells"],
           "family_error": table["family_error"], "decimals": table["decimals"], "runs": []}
    for k in ks:
        null = simulate(table, sims, k, rng)
        f1 = simulate(table, sims, k, rng, shift=0.05, shifted_fraction=0.10, f1_only=True)
        all3 = simulate(table, sims, k, rng, shift=0.05, shifted_fraction=0.10, f1_only=False)
        out["runs"].append({"k": k, "null": null, "power_f1": f1, "power_all_metrics": all3})
    out["correlated_null"] = [{"rho": rho, **simulate(table, sims, 1, rng, rho=rho)} for rho in (0.0, 0.5, 0.9)]
    out["awkward"] = {
        # both sides report the best of five checkpoints on test (the paper's protocol and ours)
        "selection_on_test": simulate(table, sims, 1, rng, checkpoints=5) if table["selected_on_test"].any() else None,
        # one cell re-run twice, every other at K = 1
        "partial_seed_study": simulate(table, sims, 2, rng, study_cells=[0]),
        # every declared seed spread 0 and our runs identical: only sampling, the margin and the floor
        "zero_spreads": simulate({**table, "seed": np.zeros_like(table["seed"])}, sims, 2, rng),
    }
    out["sensitivity"] = [{"scale": s, **simulate(table, sims, 1, rng, seed_scale=s)} for s in (1.25, 1.5)]
    k1 = next(r for r in out["runs"] if r["k"] == 1)["power_f1"]
    out["detection"] = detection_table(path, k1["per_cell_detection"], table["names"])
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
    det = result["detection"]
    lines += ["", "| cells by F1 MDE at 80% (K = 1) | cells | simulated rate a -0.05 F1 shift is named (mean) |",
              "|---|---|---|"]
    for lo, hi in ((0, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 1.0)):
        band = [d for d in det if lo < d["f1_mde"] <= hi]
        if band:
            mean = sum(d["named_at_minus_0.05"] for d in band) / len(band)
            lines.append(f"| {lo:g} < MDE <= {hi:g} | {len(band)} | {mean:.3f} |")
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
