"""What each numerics setting costs and whether it is needed (issue 10).

    python bench/numerics_settings.py [--dataset smoke-ee] [--json out.json]

Runs one smoke cell (the engine directly, in a fresh process each time) under a list of
environments and reports the cell's wall time and the sha256 of its predictions.  A setting
is needed when, without it, an instruction-set limit (MKL_ENABLE_INSTRUCTIONS,
ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY: what another CPU would pick) changes the predictions.
"portable" rows route sqrt/exp/log/sin/cos/tanh/... to engine/portable_math.py (issue 22), as
the mode does; the others leave them to MKL's VML.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "manifests" / "smoke.yaml"

# The child: run exactly one cell with the engine, in whatever environment it was started with.
CHILD = """
import sys, json
from bioeval.manifest import cells, load_manifest
from bioeval.settings import Settings
loaded = load_manifest(sys.argv[1])
cell = next(c for c in cells(loaded) if c.dataset.key == sys.argv[3])
if sys.argv[4] == "1":
    import torch
    torch.use_deterministic_algorithms(True)
if sys.argv[5] == "1":
    import torch
    from bioeval.engine import portable_math
    portable_math.install()
from bioeval.engine.cell import run_cell
s = run_cell(loaded, cell, Settings(workdir=sys.argv[2]), force=True, show_progress=False)
print(json.dumps(s["metrics"]))
"""

PIN = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
CONFIGS = [  # (name, env, torch deterministic algorithms, portable kernels)
    ("as installed (this CPU's kernels, MKL auto)", {}, False, False),
    ("ATEN_CPU_CAPABILITY=default", {"ATEN_CPU_CAPABILITY": "default"}, False, False),
    ("MKL_CBWR=COMPATIBLE", {"MKL_CBWR": "COMPATIBLE"}, False, False),
    ("pinned: ATEN default + MKL_CBWR COMPATIBLE", PIN, False, False),
    ("pinned + MKL_ENABLE_INSTRUCTIONS=AVX", {**PIN, "MKL_ENABLE_INSTRUCTIONS": "AVX"}, False, False),
    ("pinned + ONEDNN_MAX_CPU_ISA=SSE41", {**PIN, "ONEDNN_MAX_CPU_ISA": "SSE41"}, False, False),
    ("pinned + MKL_ENABLE_INSTRUCTIONS=SSE4_2", {**PIN, "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}, False, False),
    ("pinned + use_deterministic_algorithms", PIN, True, False),
    ("pinned + 2 threads", {**PIN, "BIOEVAL_CPU_THREADS": "2"}, False, False),
    ("MKL_ENABLE_INSTRUCTIONS=AVX only", {"MKL_ENABLE_INSTRUCTIONS": "AVX"}, False, False),
    ("portable kernels only", {}, False, True),
    ("portable + ATEN_CPU_CAPABILITY=default", {"ATEN_CPU_CAPABILITY": "default"}, False, True),
    ("portable + MKL_CBWR=COMPATIBLE", {"MKL_CBWR": "COMPATIBLE"}, False, True),
    ("portable + pinned (the mode)", PIN, False, True),
    ("portable + pinned + MKL/oneDNN limited to AVX2", {**PIN, "MKL_ENABLE_INSTRUCTIONS": "AVX2",
                                                            "ONEDNN_MAX_CPU_ISA": "AVX2"}, False, True),
]
CLEAR = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "BIOEVAL_CPU_THREADS",
         "BIOEVAL_NUMERICS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run(workdir: Path, dataset: str, env: dict, det: bool, portable: bool) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in CLEAR}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CHILD, str(SMOKE), str(workdir), dataset, "1" if det else "0",
                          "1" if portable else "0"],
                         env={**base, **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    if res.returncode:
        sys.exit(res.stderr[-3000:])
    pred = next(workdir.glob("*/predictions.jsonl"))
    return {"wall_s": round(wall, 1), "metrics": json.loads(res.stdout.strip().splitlines()[-1]),
            "predictions_sha256": hashlib.sha256(pred.read_bytes()).hexdigest()[:12]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="smoke-ee")
    ap.add_argument("--only", type=int, nargs="*", help="config indexes to run")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, env, det, portable) in enumerate(CONFIGS):
            if a.only and i not in a.only:
                continue
            r = run(Path(tmp) / str(i), a.dataset, env, det, portable)
            rows.append({"config": name, **r})
            m = r["metrics"]
            print(f"{i:2d} {name:45s} {r['wall_s']:5.1f} s  F1 {m['f1']:.4f}  R {m['recall']:.4f}  "
                  f"predictions {r['predictions_sha256']}", flush=True)
    print(f"load average: {os.getloadavg()}")
    if a.json:
        a.json.write_text(json.dumps({"dataset": a.dataset, "load": os.getloadavg(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
