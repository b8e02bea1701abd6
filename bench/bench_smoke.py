"""Benchmark the embedded default: `bioeval reproduce manifests/smoke.yaml` cold and warm.

    python bench/bench_smoke.py [--cold 2] [--warm 5] [--cores 2] [--numerics both] [--json out.json]

cold: a fresh workdir (everything trained, generated, scored, verified, reported), wall time
of the whole command including Python start-up and the torch import; the predictions of the
cold runs are compared byte for byte (determinism).  warm: the same command again with
nothing changed.  --cores pins the commands to that many CPUs (sched_setaffinity) to mimic
a small CI machine on a bigger one.  Budgets (issue 5): cold <= 60 s, warm <= 3 s on 2 cores.
--numerics: the manifest as shipped (deterministic), a copy with `protocol.numerics: default`
(torch's own kernels for this CPU, as before issue 10), or both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "manifests" / "smoke.yaml"


def manifest_for(mode: str, tmp: Path) -> Path:
    """The smoke manifest under `mode`: the shipped file, or a copy beside a link to assets/."""
    if mode == "deterministic":
        return SMOKE
    (tmp / "manifests").mkdir(exist_ok=True)
    if not (tmp / "assets").exists():
        (tmp / "assets").symlink_to(REPO / "assets")
    text = SMOKE.read_text().replace("numerics: {value: deterministic,", "numerics: {value: default,")
    assert "numerics: {value: default," in text
    out = tmp / "manifests" / "smoke.yaml"
    out.write_text(text)
    return out


def run(workdir: Path, cores: int | None, manifest: Path = SMOKE) -> float:
    cmd = [sys.executable, "-m", "bioeval", "--workdir", str(workdir), "reproduce", str(manifest), "--no-progress"]
    preexec = (lambda: os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))) if cores else None
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, preexec_fn=preexec,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    wall = time.perf_counter() - t0
    if res.returncode not in (0, 1):  # 1: ran, but outside tolerance (the default mode on another CPU)
        sys.exit(f"bioeval reproduce failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return wall


def predictions(workdir: Path) -> dict[str, str]:
    return {p.parent.name: p.read_text() for p in sorted(workdir.glob("*/predictions.jsonl"))}


def cell_timings(workdir: Path) -> list[dict]:
    rows = []
    for r in sorted(workdir.glob("*/receipt.json")):
        receipt = json.loads(r.read_text())
        scores = json.loads((r.parent / "scores.json").read_text())
        rows.append({"dataset": receipt["dataset"], "f1": round(scores["metrics"]["f1"], 4), **receipt["timings_s"]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cold", type=int, default=2)
    ap.add_argument("--warm", type=int, default=5)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--numerics", choices=["deterministic", "default", "both"], default="both")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    cores = a.cores if a.cores and a.cores < len(os.sched_getaffinity(0)) else None
    modes = ["deterministic", "default"] if a.numerics == "both" else [a.numerics]
    out: dict = {"cores": a.cores, "cpu_count": os.cpu_count(), "load_before": os.getloadavg(), "modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            manifest = manifest_for(mode, Path(tmp))
            cold, preds = [], []
            for i in range(a.cold):
                wd = Path(tmp) / f"{mode}-cold{i}"
                cold.append(run(wd, cores, manifest))
                preds.append(predictions(wd))
            warm = [run(Path(tmp) / f"{mode}-cold0", cores, manifest) for _ in range(a.warm)]
            r = out["modes"][mode] = {
                "cold_s": [round(x, 2) for x in cold], "warm_s": [round(x, 2) for x in warm],
                "identical_predictions": all(p == preds[0] for p in preds),
                "cells": cell_timings(Path(tmp) / f"{mode}-cold0")}
            print(f"[numerics {mode}]")
            print(f"cold reproduce: {', '.join(f'{x:.1f}' for x in cold)} s (budget 60 s)")
            print(f"warm reproduce: median {statistics.median(warm):.2f} s, max {max(warm):.2f} s (budget 3 s)")
            print(f"cold runs gave identical predictions: {r['identical_predictions']}")
            for c in r["cells"]:
                print(f"  {c['dataset']:10s} F1 {c['f1']:.4f}  model load {c['model_load']:.1f} s, train+select "
                      f"{c.get('train_and_select', 0):.1f} s, test generation {c['test_generation']:.1f} s, "
                      f"total {c['total']:.1f} s")
    out["load_after"] = os.getloadavg()
    print(f"load average before/after: {out['load_before']} / {out['load_after']}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
