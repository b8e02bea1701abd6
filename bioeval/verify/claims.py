"""Claims judged against reproduced runs, for `verify` and `report`.

Each reproduced value gets an interval from what verify already computed for it: the instance
bootstrap of our run (scores.json's interval, verify's ``observed_ci``; else the binomial SE at
the scored n) and the run-to-run part (the sample SD of the value's K runs when K >= 2, else the
seed SD verify used for it: a declared ``tolerance.seed_spread``), combined as
``z * sqrt(se_boot^2 + seed_sd^2 / K)`` at ``tolerance.level``.  A difference between two cells
of one dataset is taken from the paired bootstrap over the instances both runs scored
(verify/compare.py's compare_cell), widened by both seed parts; cells of different datasets
(or without predictions) are compared through their two intervals.  A claim is ``supported``
when it holds for every value in the intervals, ``contradicted`` when it fails for every value,
and ``inconclusive`` otherwise (claims/logic.py): never a comparison of point values.
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

from bioeval.claims.logic import Interval, deciding, judge_claim
from bioeval.limits import BOOTSTRAP_SEED, CI_LEVEL, RESAMPLES

SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_CHECKABLE = "supported", "contradicted", "inconclusive", "not-checkable"
VERDICTS = (SUPPORTED, CONTRADICTED, INCONCLUSIVE, NOT_CHECKABLE)
JUDGED_FROM = ("reproduced", "discrepant", "new")  # rows whose runs are valid and scored


class RunEvidence:
    complete = False  # a cell without a run may lie anywhere: rankings that need it stay open

    def __init__(self, report: dict, level: float, ci_level: float = CI_LEVEL, resamples: int = RESAMPLES,
                 seed: int = BOOTSTRAP_SEED, folder_of=None):
        self.z = NormalDist().inv_cdf(0.5 + level / 2.0)
        self.ci_level = ci_level  # the level of scores.json's bootstrap intervals
        self.level, self.resamples, self.seed = level, resamples, seed
        self.results = Path(report["results"])
        self.cells: dict[tuple, dict] = {}
        for row in report["cells"]:
            if row["verdict"] in JUDGED_FROM and row["observed"] is not None:
                runs = row["observed_runs"]
                seed_sd = _sd(runs) if len(runs) >= 2 else (row["parts"].get("seed") or 0.0)
                self.cells[(row["model"], row["dataset"], row["metric"])] = {
                    "point": row["observed"], "ci": row.get("observed_ci"), "n": row["n"], "k": max(len(runs), 1),
                    "seed_sd": seed_sd, "run": row["run_ids"][0] if row["run_ids"] else row["run_id"]}
        for u in report.get("unexpected") or []:  # results without published values (e.g. a smoke manifest)
            for metric, value in (u.get("metrics") or {}).items():
                self.cells.setdefault((u["model"], u["dataset"], metric), {
                    "point": value, "ci": (u.get("ci") or {}).get(metric), "n": u.get("n"), "k": 1,
                    "seed_sd": 0.0, "run": u["run_id"]})
        self._pairs: dict[tuple, dict | None] = {}
        self.folder_of = folder_of  # verify's RunFolders: the paired bootstraps reuse what it read

    def _se(self, cell: dict) -> float:
        from bioeval.verify import sampling as sp

        # verify's order: our bootstrap, else the binomial SE, else the score SE at 0 or 1
        return sp.bootstrap_se(cell["ci"], self.ci_level) or sp.binomial_se(cell["point"], cell["n"]) or \
            sp.score_se(cell["point"], cell["n"]) or 0.0

    def value(self, model: str, dataset: str, metric: str) -> Interval | None:
        cell = self.cells.get((model, dataset, metric))
        if cell is None:
            return None
        half = self.z * math.sqrt(self._se(cell) ** 2 + cell["seed_sd"] ** 2 / cell["k"])
        return Interval(max(cell["point"] - half, 0.0), min(cell["point"] + half, 1.0), cell["point"])

    def diff(self, a: tuple, b: tuple) -> Interval | None:
        ca, cb = self.cells.get(a), self.cells.get(b)
        if ca is None or cb is None:
            return None
        if a[1] == b[1] and a[0] != b[0]:
            paired = self._paired(ca["run"], cb["run"], a[2])
            if paired is not None:
                se = (paired["ci"][1] - paired["ci"][0]) / (2.0 * self.z)  # its interval is at `level` too
                half = self.z * math.sqrt(se ** 2 + ca["seed_sd"] ** 2 / ca["k"] + cb["seed_sd"] ** 2 / cb["k"])
                point = ca["point"] - cb["point"]
                return Interval(point - half, point + half, point)
        x, y = self.value(*a), self.value(*b)
        return Interval(x.lo - y.hi, x.hi - y.lo, x.point - y.point)

    def _paired(self, run_a: str, run_b: str, metric: str) -> dict | None:
        """compare_cell's paired bootstrap of a - b over the shared instances, or None."""
        key = (run_a, run_b, metric)
        if key not in self._pairs:
            from bioeval.runs.read import RunFolder
            from bioeval.verify.compare import compare_cell

            folder_of = self.folder_of or RunFolder
            pa, pb = folder_of(self.results / run_a), folder_of(self.results / run_b)
            row = None
            if pa.has_predictions() and pb.has_predictions():
                row = compare_cell(pb, pa, metric, 0.0, self.resamples, self.level, self.seed)  # delta = a - b
            # a degenerate interval (every resample the same: 8 instances all right vs all wrong) says
            # the bootstrap could not see the sampling error, not that there is none (as verify reads
            # one): then the two intervals decide, each with its own SE
            usable = row and row.get("ci") and row.get("n_shared") and row["ci"][1] - row["ci"][0] > 1e-9
            self._pairs[key] = row if usable else None
        return self._pairs[key]


def _sd(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def judge_runs(loaded, report: dict, folder_of=None) -> list[dict]:
    """One record per claim: supported / contradicted / inconclusive / not-checkable, the deciding values.
    ``folder_of``: path -> RunFolder, the folders verify read (default: read them again)."""
    m = loaded.manifest
    if not m.claims:
        return []
    scoring = m.protocol.scoring
    evidence = RunEvidence(report, m.tolerance.level, scoring.ci_level.value,
                           scoring.bootstrap_resamples.value or 1000, scoring.bootstrap_seed.value, folder_of)
    if not evidence.cells:  # no reproduced value at all: nothing to judge (audit has the table verdicts)
        return []
    models, datasets = [x.key for x in m.models], [d.key for d in m.datasets]
    paper_models = [x.key for x in m.models if not x.added]
    out = []
    for claim in m.claims:
        record = {"id": claim.id, "where": claim.where, "quote": claim.quote}
        if claim.check is None:
            out.append({**record, "verdict": NOT_CHECKABLE, "reason": claim.not_checkable, "deciding": []})
            continue
        holds, atoms = judge_claim(claim, evidence, models, datasets)
        record.update(verdict=_verdict(holds), deciding=deciding(holds, atoms))
        added = [x.key for x in m.models if x.added]
        if added:  # the regression workflow: the same claim with the paper's models only
            before, _ = judge_claim(claim, evidence, paper_models, datasets)
            record["without_added"] = _verdict(before)
            record["changed_by"] = added if _verdict(before) != record["verdict"] else []
        out.append(record)
    return out


def _verdict(holds: bool | None) -> str:
    return SUPPORTED if holds is True else CONTRADICTED if holds is False else INCONCLUSIVE


def summary_line(records: list[dict]) -> str | None:
    if not records:
        return None
    counts = {v: sum(r["verdict"] == v for r in records) for v in VERDICTS}
    text = (f"{len(records)} claims: {counts[SUPPORTED]} supported, {counts[CONTRADICTED]} contradicted, "
            f"{counts[INCONCLUSIVE]} inconclusive")
    if counts[NOT_CHECKABLE]:
        text += f", {counts[NOT_CHECKABLE]} not checkable"
    changed = sum(bool(r.get("changed_by")) for r in records)
    return text + (f"; the added model(s) change {changed}" if any("changed_by" in r for r in records) else "")
