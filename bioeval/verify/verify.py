"""Expected (published) vs observed (reproduced) per cell and metric, and one global verdict.

Each value gets a verdict: ``reproduced`` (the published value inside the prediction interval
from our runs), ``discrepant`` (outside; ``direction`` says whether ours is lower or higher),
``missing`` (no run) or ``invalid`` (a run that failed, is unfinished, cannot be read, or whose
files do not chain: predictions missing or changed, scores.json disagreeing with them; see
verify/results.py: check_run); cells of models or datasets added on the paper's protocol
(``--add-model``, ``extends:``) have no published value and get ``new`` (observed values, no
interval or p-value; never part of the global verdict).
The global verdict controls the family-wise error at ``tolerance.family_error`` with Holm's
procedure over the values' p-values (docs/statistics.md says why Holm and not a count test).

The JSON this returns is the `bioeval verify --json` contract:
    {"manifest", "results",
     "cells": [{"run_id", "model", "dataset", "task", "metric", "expected", "observed", "delta",
                "verdict", "direction", "interval": [lo, hi], "tolerance" (half-width),
                "parts": {"sampling": sd, "seed": sd, "bias": shift}, "p_value", "runs": K, "n", ...}],
     "summary": {"reproduced", "discrepant", "missing", "invalid", "expected_false_discrepancies",
                 "global_verdict": "reproduced" | "not-reproduced", "method" ("holm"),
                 "level" (the family-wise error), "interval_level" (each value's interval), ...},
     "unexpected": [...],
     "claims": [{"id", "where", "quote", "verdict" (supported | contradicted | inconclusive | not-checkable),
                 "deciding", "without_added", "changed_by"}]}  (bioeval/verify/claims.py; summary["claims"]
    is their one line, and never changes the global verdict)
Extra keys per row: "rule", "sd", "df", "sources" (where each part came from), "run_ids",
"observed_runs", "family_discrepant" (rejected by Holm), "published_ci" / "in_published_ci",
"observed_ci", "matched_by", "notes", "paper_model", "paper_dataset", "env_diff" (a discrepant
value whose manifest names reference receipts: one line per difference between the reference
run's environment and this run's, verify/envdiff.py; also on a value within tolerance whose
predictions differ from the reference run's), "reference" ({"predictions": "identical" |
"differs", "fingerprint": "same" | "different", both sha256}) and "identity" ("identical to the
reference" / "differs from the reference, within tolerance" / "differs from the reference"),
where the manifest names reference receipts.  Top-level "unexpected"
lists cells that have results but no published values (reported, never a verdict).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bioeval.errors import BioevalError
from bioeval.manifest import cells as manifest_cells
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.resolve import Cell
from bioeval.manifest.schema import METRICS
from bioeval.manifest.tolerance_text import describe
from bioeval.verify import sampling as sp
from bioeval.verify import statistics as st
from bioeval.verify import tolerance as tol
from bioeval.verify.baseline import baseline_note, run_baseline, skip_note
from bioeval.verify.detection import POWER, attach_mde
from bioeval.verify.envdiff import attach as attach_env_diffs
from bioeval.verify.parts import test_size, value_parts
from bioeval.verify.results import ResultIndex
from bioeval.verify.verdicts import GlobalVerdict, Verdict

REPRODUCED, DISCREPANT, MISSING, INVALID, NEW = (Verdict.REPRODUCED, Verdict.DISCREPANT, Verdict.MISSING,
                                                  Verdict.INVALID, Verdict.NEW)
METHOD = "holm"


class Verification(dict):
    """What verify_manifest returns: the JSON contract above (the dict itself) and, beside it, the
    runs it read (``index``: their RunFolders hold the files as read) and the cells it verified
    (``resolved``: (model, dataset) -> Cell; the dict's "cells" are its rows), so the report and the claims work from this
    verification instead of reading the run folders or resolving the manifest again."""

    def __init__(self, report: dict, index: ResultIndex, resolved: dict | None = None):
        super().__init__(report)
        self.index = index
        self.resolved = resolved or {}

    def folder(self, run_id: str):
        """The RunFolder verify read for ``run_id`` (None when the results folder has no such run)."""
        path = self.index.by_id.get(run_id)
        return self.index.folder(path) if path is not None else None


def verify_manifest(loaded: LoadedManifest, results: str | Path, cells: list[Cell] | None = None) -> dict:
    """The expected values of ``cells`` (the ones the caller resolved: `--only` is the command's,
    not this stage's; seed-study variants are found through their base cell; default: every cell
    of the manifest) against the runs under ``results``."""
    from bioeval.scoring import scorer_for

    index = ResultIndex(results)
    index_runs: dict[tuple, tuple] = {}  # (model, dataset) -> (cell, scorer, runs): for the baselines
    rows = []
    unexpected = []  # cells with results but no published values (e.g. a smoke manifest)
    for cell in manifest_cells(loaded) if cells is None else [c for c in cells if not c.replicate]:
        scorer = None
        try:
            scorer = scorer_for(cell.protocol, cell.dataset)
        except BioevalError:  # only matters when re-scoring; load_result then notes the failure
            pass
        runs, matched_by = index.find_group(cell.run_id, cell.model.key, cell.dataset.key, scorer, cell)
        index_runs[(cell.model.key, cell.dataset.key)] = (cell, scorer, runs)
        scores = next((r.scores for r in runs if r.scores), None)
        n = test_size(cell, scores)
        if not cell.expected and (cell.model.added or cell.dataset.added):
            rows.extend(_new_rows(cell, runs, matched_by, n))
            continue
        if not cell.expected:
            if scores:
                first = runs[0]
                unexpected.append({"run_id": first.run_id, "model": cell.model.key, "dataset": cell.dataset.key,
                                   "task": cell.dataset.task, "paper_model": cell.model.paper_name,
                                   "paper_dataset": cell.dataset.paper_name, "metrics": scores.get("metrics", {}),
                                   "ci": scores.get("ci", {}), "n": n, "runs": len(runs),
                                   "notes": list(first.notes)})
            continue
        for metric in METRICS:
            if metric in cell.expected:
                rows.append(_row(loaded, cell, metric, runs, matched_by, n))
    _judge_statistical(rows, loaded.manifest.tolerance)
    _against_baselines(loaded, rows, index_runs)
    attach_env_diffs(loaded, rows, results)  # discrepant values: what differs from the reference run
    summary = {**summarise(rows, loaded.manifest.tolerance.family_error),
               **detectable(rows, loaded.manifest.tolerance.family_error),
               "interval_level": loaded.manifest.tolerance.level,
               **rests_on(rows, loaded.manifest.tolerance)}
    if summary["seed_study_required"]:  # tolerance.require_seed_study: no verdict on declared spreads
        summary["global_verdict"] = GlobalVerdict.UNDECIDED
    if not rows:  # no value compared: nothing passed either (verify/gate.py exits 1 with the reason)
        summary["global_verdict"] = GlobalVerdict.NOTHING
    report = Verification({"manifest": str(loaded.path), "results": str(results), "cells": rows, "summary": summary,
                           "unexpected": unexpected}, index, {pair: cell for pair, (cell, _, _) in index_runs.items()})
    from bioeval.verify.claims import judge_runs, summary_line  # the paper's sentences on our runs
    report["claims"] = judge_runs(loaded, report, index.folder)
    summary["claims"] = summary_line(report["claims"])  # its own line: the global verdict is unchanged
    return report


def _against_baselines(loaded: LoadedManifest, rows: list[dict], runs_of: dict) -> None:
    """Each row with a usable run gets `baseline` (the best trivial one on the instances it scored);
    with `expected_min_over_baseline`, an F1 row that does not clear it by that margin gets a note."""
    declared = loaded.manifest.expected_min_over_baseline
    found: dict[tuple, dict | None] = {}
    for row in rows:
        key = (row["model"], row["dataset"])
        cell, scorer, runs = runs_of.get(key, (None, None, []))
        usable = [r for r in runs if r.invalid is None and r.scores is not None]
        if not usable or scorer is None:
            continue
        if key not in found:
            found[key] = run_baseline(usable[0].folder, cell, scorer)
        row["baseline"] = found[key]
        if declared is not None and row["metric"] == "f1":
            note = baseline_note(row["observed"], found[key], declared.value)
            if note:
                row["notes"].append(note)
                row["below_baseline_margin"] = True


def summarise(rows: list[dict], family_error: float) -> dict:
    """Counts, the expected number of false discrepancies, and the Holm global verdict (marks rows)."""
    counts = {str(v): sum(r["verdict"] == v for r in rows) for v in Verdict}
    tested = [r for r in rows if r["p_value"] is not None and r["verdict"] in (REPRODUCED, DISCREPANT)]
    rejected = st.holm([r["p_value"] for r in tested], family_error) if tested else []
    for r, rej in zip(tested, rejected):
        r["family_discrepant"] = bool(rej)
    fixed_fail = sum(r["verdict"] == DISCREPANT and r["p_value"] is None for r in rows)
    family = int(sum(bool(x) for x in rejected))
    failed = family > 0 or fixed_fail > 0 or counts[INVALID] > 0
    return {**counts,
            "values": len(rows), "tested": len(tested),
            "expected_false_discrepancies": round(float(sum(r["alpha"] for r in tested)), 3),
            "family_discrepant": family, "fixed_rule_discrepant": fixed_fail,
            "global_verdict": GlobalVerdict.NOT_REPRODUCED if failed else GlobalVerdict.REPRODUCED,
            "method": METHOD, "level": family_error,
            "rule": "not-reproduced when Holm's procedure rejects any value at `level` (family-wise error), "
                    "when a value under a fixed abs/rel rule is discrepant, or when a run is invalid"}


def detectable(rows: list[dict], family_error: float) -> dict:
    """Mark each tested value with its minimum detectable effect (verify/detection.py) and say how
    many could show a shift of 0.05: a reviewer sees which cells can fail at all."""
    tested = [r for r in rows if r["p_value"] is not None and r["verdict"] in (REPRODUCED, DISCREPANT)]
    attach_mde(tested, family_error)
    return {"mde_power": POWER,
            "values_detecting_0.05": sum(r["mde"] <= 0.05 + sp.EPSILON for r in tested if "mde" in r)}


SCALES = (1.25, 1.5)


def rests_on(rows: list[dict], tolerance) -> dict:
    """Which declared seed spreads the verdict rests on, how many values each covers, and the
    expected false discrepancies if every declared spread were 1.25x / 1.5x too small (the level
    holds only when no declaration is too small: docs/statistics.md)."""
    tested = [r for r in rows if r["p_value"] is not None and r["verdict"] in (REPRODUCED, DISCREPANT)]
    on_declared = [r for r in tested if r["runs"] < 2 and r.get("seed_declaration") is not None]
    spreads: dict[int, dict] = {}
    for r in on_declared:
        i = r["seed_declaration"]
        d = tolerance.seed_spread[i]
        entry = spreads.setdefault(i, {"declaration": f"tolerance.seed_spread[{i}]", "sd": d.sd, "runs": d.runs,
                                       "source": d.source, "values": 0})
        entry["values"] += 1
    expected, declared_ids = {}, {id(r) for r in on_declared}
    for scale in SCALES:
        total = 0.0
        for r in tested:
            if id(r) in declared_ids:  # the seed variance of both sides grows by scale^2
                seed_var = r["published_seed_sd"] ** 2 + r["parts"]["seed"] ** 2 / max(r["runs"], 1)
                true_sd = (r["sd"] ** 2 + (scale ** 2 - 1.0) * seed_var) ** 0.5
                total += float(st.p_value(r["tolerance"], true_sd, float("inf")))
            else:
                total += r["alpha"]
        expected[f"{scale:g}x"] = round(total, 2)
    unmeasured = [r for r in on_declared if not tolerance.seed_spread[r["seed_declaration"]].runs]
    return {"declared_spreads": [spreads[i] for i in sorted(spreads)], "values_on_declared_spreads": len(on_declared),
            "expected_false_discrepancies_if_spreads_too_small": expected,
            "seed_study_required": len(unmeasured) if tolerance.require_seed_study else 0}


def _row(loaded: LoadedManifest, cell: Cell, metric: str, runs: list, matched_by: str | None, n) -> dict:
    tolerance = loaded.manifest.tolerance
    mv = cell.expected[metric]
    rule = tol.rule_for(tolerance, cell.model.key, cell.dataset.key, metric)
    usable = [r for r in runs if r.invalid is None and r.scores is not None]
    values = [r.metrics.get(metric) for r in usable]
    row = _base_row(cell, metric, runs, usable, values, matched_by, n, expected=mv.value,
                    rule=describe(rule, tolerance), verdict=None)
    if mv.ci:
        row["published_ci"] = list(mv.ci)
    if row["verdict"] == INVALID:
        return row
    if not usable or any(v is None for v in values):
        row["verdict"] = MISSING
        if not runs:
            row["notes"].append("no run of this cell in the results folder")
        elif not usable:
            row["notes"].append(f"run {runs[0].run_id} has no scores yet (state {runs[0].state})")
        else:
            row["notes"].append(f"scores have no {metric}")
        return row
    mean = float(np.mean(values))
    row["observed"], row["delta"] = mean, mean - mv.value
    if mv.ci:
        row["in_published_ci"] = mv.ci[0] - 1e-9 <= mean <= mv.ci[1] + 1e-9
    parts, sources, spread, bias, scheme = value_parts(tolerance, cell, metric, usable, n, mv.value)
    row["parts"], row["sources"] = parts, sources
    if rule.kind == "auto":  # judged in _judge_statistical, once every row's runs are known
        row["_auto"] = {"rule": rule, "spread": spread, "bias": bias, "scheme": scheme}
        return row
    j = st.judge_fixed(mv.value, values, tol.allowed(rule, mv.value))
    parts["seed"] = float(np.std(values, ddof=1)) if len(values) >= 2 else None
    sources["seed"] = f"measured: {len(values)} runs (reported; a fixed rule ignores it)" if len(values) >= 2 \
        else "not used by a fixed rule"
    _set_judgement(row, j)
    return row


def _base_row(cell: Cell, metric: str, runs: list, usable: list, values: list, matched_by: str | None, n,
              **fields) -> dict:
    """The fields every verify row has (published or added cell); `invalid` when a run cannot be trusted."""
    row = {"run_id": runs[0].run_id if runs else cell.run_id, "run_ids": [r.run_id for r in runs],
           "model": cell.model.key, "dataset": cell.dataset.key, "task": cell.dataset.task, "metric": metric,
           "expected": None, "observed": None, "observed_runs": values, "delta": None, "n": n,
           "runs": len(usable), "rule": None, "verdict": None, "direction": None, "interval": None,
           "tolerance": None, "parts": {"sampling": None, "seed": None, "bias": 0.0}, "sources": {}, "sd": None,
           "df": None, "p_value": None, "alpha": None, "family_discrepant": False,
           "paper_model": cell.model.paper_name, "paper_dataset": cell.dataset.paper_name, "matched_by": matched_by,
           "notes": list(dict.fromkeys(note for r in runs for note in r.notes)),  # K runs often say the same
           **fields}
    ci = next(((r.scores or {}).get("ci", {}).get(metric) for r in usable if (r.scores or {}).get("ci")), None)
    if ci:
        row["observed_ci"] = ci
    skipped = skip_note(next((r.scores for r in usable if r.scores), None))
    if skipped:
        row["notes"].append(skipped)
    invalid = [r for r in runs if r.invalid is not None]
    if invalid:
        row["verdict"] = INVALID
        row["notes"] += [r.invalid for r in invalid]
    return row


def _set_judgement(row: dict, j: st.Judgement) -> None:
    row["interval"], row["tolerance"], row["p_value"] = j.interval, j.half_width, j.p_value
    row["verdict"] = REPRODUCED if j.inside else DISCREPANT
    if not j.inside:
        row["direction"] = "lower" if j.centre < row["expected"] else "higher"  # ours vs the published value


def _judge_statistical(rows: list[dict], tolerance) -> None:
    """Judge the rows under `auto`: the seed part is measured where a value has runs, else declared.

    Per value: with K >= 2 runs the seed SD is measured; a seed_spread declaration says its values
    share one SD, so the measurement pools the K-run variances of the cells it covers that have
    runs (each cell counted once, K - 1 df: its P, R and F1 come from the same runs), and the
    declared study when it says how many runs it came from (`runs`: runs - 1 more df).  Values
    with one run keep the declared spread: a partial seed study never replaces it for them.
    The published run's seed part is never below the declared spread nor tolerance.seed_floor:
    our seeds do not measure the distance between our stack and the paper's.
    """
    for key, members in _seed_groups(rows, tolerance).items():
        spread = members[0]["_auto"]["spread"]
        ss, df, cells = _cell_sums(members)
        measured = st.pool_with_declared(ss, df, spread.sd if spread else None, spread.runs if spread else None)
        where = f"tolerance.seed_spread[{key[1]}]" if spread else ""
        for r in members:
            auto = r.pop("_auto")
            seed_sd, seed_df = _seed_part(r, spread, where, cells, measured)
            published_sd = max(seed_sd, spread.sd if spread else 0.0, tolerance.seed_floor)
            if published_sd > seed_sd:
                r["sources"]["seed"] += f"; the published run carries at least {published_sd:g}"
            r["parts"]["seed"] = seed_sd
            r["published_seed_sd"] = published_sd
            r["seed_declaration"] = key[1] if spread is not None else None  # index in tolerance.seed_spread
            _judge_auto(r, auto, tolerance, seed_sd, seed_df, published_sd)


def _seed_groups(rows: list[dict], tolerance) -> dict[object, list[dict]]:
    """The rows under `auto` by the seed_spread declaration that covers them (its values share
    one SD, so their runs are pooled); a row no declaration covers is a group of its own."""
    groups: dict[object, list[dict]] = {}
    for r in (r for r in rows if "_auto" in r):
        spread = r["_auto"]["spread"]
        key = ("declared", next(i for i, e in enumerate(tolerance.seed_spread) if e is spread)) if spread \
            else ("row", id(r))
        groups.setdefault(key, []).append(r)
    return groups


def _seed_part(r: dict, spread, where: str, cells: int, measured: tuple[float, float]) -> tuple[float, float]:
    """(SD, df) of the seed part of one value, and its source in the row: measured (pooled) when
    the value has K >= 2 runs, else the declared spread, else none."""
    k = len(r["observed_runs"])
    if k >= 2:
        seed_sd, seed_df = measured
        pooled = f" pooled with {where}'s {spread.runs} runs" if spread and spread.runs else ""
        r["sources"]["seed"] = (f"measured: {k} runs of this cell" if cells == 1 else
                                f"measured: pooled over {cells} cells with runs under {where}") + \
            pooled + f" ({seed_df:g} df)"
    elif spread is not None:
        seed_sd = spread.sd
        seed_df = float(spread.runs - 1) if spread.runs else float("inf")
        r["sources"]["seed"] = f"declared ({where}, {spread.source}" + \
            (f", {spread.runs} runs: {seed_df:g} df)" if spread.runs else ")")
    else:
        seed_sd, seed_df = 0.0, float("inf")
        r["sources"]["seed"] = "none: no seed study and no declared spread (the interval ignores seeds)"
    return seed_sd, seed_df


def _judge_auto(r: dict, auto: dict, tolerance, seed_sd: float, seed_df: float, published_sd: float) -> None:
    """The statistical test of one value once its seed part is known: the sampling part as
    binomial counts where the normal is not good enough (sp.count_sampling decides)."""
    rule = auto["rule"]
    alpha = tol.alpha_of(rule, tolerance)
    scheme, sampling_sd = auto["scheme"], r["parts"]["sampling"] or 0.0
    centre = min(max(float(np.mean(r["observed_runs"])) + auto["bias"], 0.0), 1.0)
    exact = sp.count_sampling(r["expected"], centre, scheme["trials"], scheme["published"], scheme["ours"],
                              scheme["fpc"]) if sampling_sd else None
    j = st.judge(r["expected"], r["observed_runs"], sampling_sd=sampling_sd,
                 seed_sd=seed_sd, seed_df=seed_df, bias=auto["bias"], margin=rule.floor, alpha=alpha,
                 published_seed_sd=published_sd, exact=exact)
    if j.method == "count":
        r["sources"]["sampling"] += (f"; as binomial counts: {exact.trials} effective trials at {exact.p0:.4f}, "
                                     f"{exact.sides} random side(s) (the normal tail is too light there)")
    r["test"] = j.method
    r["alpha"], r["sd"], r["margin"] = alpha, round(j.sd, 6), rule.floor
    r["df"] = None if j.df == float("inf") else j.df
    _set_judgement(r, j)


def _cell_sums(members: list[dict]) -> tuple[float, float, int]:
    """(sum of squares, df, cells) of the values with K >= 2 runs, one sample per cell: the
    metrics of a cell are averaged (they share the runs), so a cell adds K - 1 df, not 3 (K - 1)."""
    by_cell: dict[tuple, list[dict]] = {}
    for m in members:
        if len(m["observed_runs"]) >= 2:
            by_cell.setdefault((m["model"], m["dataset"]), []).append(m)
    ss = df = 0.0
    for values in by_cell.values():
        k = min(len(v["observed_runs"]) for v in values)
        ss += (k - 1) * float(np.mean([np.var(v["observed_runs"], ddof=1) for v in values]))
        df += k - 1
    return ss, df, len(by_cell)


def _new_rows(cell: Cell, runs: list, matched_by: str | None, n) -> list[dict]:
    """Rows of a cell of an added model or dataset: observed values, no published value, verdict new
    (missing or invalid when its run is absent or cannot be trusted)."""
    usable = [r for r in runs if r.invalid is None and r.scores is not None]
    rows = []
    for metric in METRICS:
        values = [r.metrics.get(metric) for r in usable if r.metrics.get(metric) is not None]
        row = _base_row(cell, metric, runs, usable, values, matched_by, n, expected=None,
                        rule="none (added: no published value)", verdict=NEW,
                        observed=float(np.mean(values)) if values else None, added=True, like=cell.model.like)
        if row["verdict"] != INVALID and not values:
            row["verdict"] = MISSING
            row["notes"].append("no run of this cell in the results folder" if not runs
                                else f"run {runs[0].run_id} has no scores yet (state {runs[0].state})")
        rows.append(row)
    return rows
