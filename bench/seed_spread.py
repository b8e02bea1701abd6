"""Spread of the smoke values over seeds: what the smoke manifest's tolerance is based on.

    python bench/seed_spread.py [--seeds 5] [--workdir DIR] [--json out.json]

Run i (0..K-1) of each smoke cell moves every seed by i, as `bioeval run --seeds K` does:
protocol.seed (adapter init, decoding) = seed + i and training.shuffle_seed (data order) =
shuffle_seed + i; the test set is the whole test split in every run.  Cells run with the local
runtime (so under the manifest's numerics mode); finished runs in --workdir are reused.
Prints mean and sample sd per dataset and metric, and each run's margin over the best trivial
answer (bench/baselines.py).
"""

from __future__ import annotations

import argparse
import json
import runpy
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bioeval.manifest import cells as manifest_cells, load_manifest  # noqa: E402
from bioeval.manifest.resolve import Cell, cell_spec, run_id_of  # noqa: E402
from bioeval.manifest.schema import Prov  # noqa: E402
from bioeval.runs import read_json  # noqa: E402
from bioeval.settings import Settings  # noqa: E402

SMOKE = REPO / "manifests" / "smoke.yaml"


def shifted(cell: Cell, i: int) -> Cell:
    if i == 0:
        return cell
    p = cell.protocol
    note = f"seed spread run {i}: the protocol's value + {i}"
    update = {"seed": Prov(value=p.seed.value + i, source=p.seed.source, note=note)}
    if p.training is not None:
        update["training"] = p.training.model_copy(update={"shuffle_seed": Prov(
            value=p.training.shuffle_seed.value + i, source=p.training.shuffle_seed.source, note=note)})
    protocol = p.model_copy(update=update)
    spec = cell_spec(cell.model, cell.dataset, protocol)
    return Cell(cell.model, cell.dataset, protocol, cell.expected, spec, run_id_of(spec))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--workdir", type=Path, default=REPO / "bioeval-runs" / "seed-spread")
    ap.add_argument("--offsets", type=int, nargs="*", help="run only these seed offsets (several processes "
                    "can share one workdir); the summary needs all of them finished")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    from bioeval.runtimes.local import run_cells

    loaded = load_manifest(SMOKE)
    base = manifest_cells(loaded)
    runs = [(c, i, shifted(c, i)) for i in range(a.seeds) for c in base]
    settings = Settings(workdir=a.workdir)
    mine = [r for _, i, r in runs if a.offsets is None or i in a.offsets]
    rows = run_cells(loaded, mine, settings, {"progress": False})
    failed = [r for r in rows if r["state"] == "failed"]
    if failed:
        sys.exit(f"failed runs: {failed}")
    if a.offsets is not None and set(a.offsets) != set(range(a.seeds)):
        return
    bl = runpy.run_path(str(REPO / "bench" / "baselines.py"), run_name="baselines")["baselines"]()
    per: dict = {}
    for c, i, r in runs:
        m = read_json(Path(a.workdir) / r.run_id / "scores.json")["metrics"]
        per.setdefault(c.dataset.key, {"task": c.dataset.task, "runs": []})["runs"].append(
            {"seed_offset": i, "run_id": r.run_id, **{k: round(v, 4) for k, v in m.items()}})
    print(f"{'dataset':10s} {'metric':9s} {'seed 0':>7s} {'mean':>7s} {'sd':>7s} {'min':>7s} {'max':>7s}  margin F1 (min)")
    for key, d in per.items():
        floor = bl[d["task"]]["best_trivial_f1"]
        d["best_trivial_f1"] = floor
        d["min_margin_f1"] = round(min(x["f1"] for x in d["runs"]) - floor, 4)
        for metric in ("precision", "recall", "f1"):
            v = [x[metric] for x in d["runs"]]
            d[metric] = {"seed0": v[0], "mean": round(statistics.mean(v), 4), "sd": round(statistics.stdev(v), 4),
                         "min": min(v), "max": max(v)}
            s = d[metric]
            print(f"{key:10s} {metric:9s} {s['seed0']:7.4f} {s['mean']:7.4f} {s['sd']:7.4f} {s['min']:7.4f} "
                  f"{s['max']:7.4f}  {d['min_margin_f1'] if metric == 'f1' else ''}")
    if a.json:
        a.json.write_text(json.dumps(per, indent=2) + "\n")


if __name__ == "__main__":
    main()
