"""Seed study of one smollm2_bionlp cell: the basis of that manifest's tolerance.

Runs the fine-tuned cell of one dataset (default PHEE) with protocol.seed = each of the given
seeds (LoRA initialisation and dropout change; the data order, test sample and decoding stay
fixed) and prints the set-F1 of each and their spread.  Kept small on purpose (CPU is scarce):
3 seeds of one dataset, about 3 minutes each on 2 busy cores.

Run:  PYTHONPATH=. python bench/seed_study_smollm2.py --data-mirror ../shared/data/zhan2024 [--seeds 42 1 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MANIFEST = REPO / "manifests" / "smollm2_bionlp.yaml"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-mirror", type=Path, default=REPO.parent / "shared" / "data" / "zhan2024")
    ap.add_argument("--dataset", default="phee")
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    ap.add_argument("--workdir", type=Path, default=None, help="default: a temp folder")
    args = ap.parse_args(argv)

    from bioeval.engine.cell import run_cell
    from bioeval.manifest import cells, load_manifest
    from bioeval.settings import Settings

    text = MANIFEST.read_text()
    old = "  seed: {value: 42, source: authors-code,"
    assert old in text, "manifest changed: update the seed line this script rewrites"
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp) / "runs"
        for seed in args.seeds:
            path = Path(tmp) / f"seed{seed}.yaml"
            path.write_text(text.replace(old, f"  seed: {{value: {seed}, source: assumed,"))
            loaded = load_manifest(path)
            cell = cells(loaded, f"model=smollm2-135m-instruct,dataset={args.dataset}")[0]
            t0 = time.perf_counter()
            scores = run_cell(loaded, cell, Settings(workdir=workdir, data_mirror=args.data_mirror), show_progress=False)
            rows.append({"seed": seed, **scores["metrics"], "n": scores["n"], "selected": scores["selected_checkpoint"],
                         "also": {k: v["metrics"]["f1"] for k, v in scores.get("also", {}).items()},
                         "seconds": round(time.perf_counter() - t0, 1)})
            print(json.dumps(rows[-1]), flush=True)
    f1 = [r["f1"] for r in rows]
    summary = {"dataset": args.dataset, "seeds": args.seeds, "f1": f1, "mean": statistics.mean(f1),
               "sd": statistics.stdev(f1) if len(f1) > 1 else 0.0, "range": max(f1) - min(f1)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
