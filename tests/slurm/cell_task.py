"""A small real per-task command for the Slurm tests (used until/besides the engine's cell run).

    python cell_task.py WORKDIR RUN_ID MODEL DATASET

Does what a cell run does to its run dir, with the real RunDir code: takes the cell's lock,
marks it running, works for $CELL_SECONDS, then writes scores.json and marks it done.  A
model named in $FAIL_MODELS (comma-separated) fails instead (exit 1, status failed).
"""

import os
import sys
import time

from bioeval.runs import RunDir, write_json

workdir, run_id, model, dataset = sys.argv[1:5]
rundir = RunDir(workdir, run_id)
with rundir:
    rundir.set_status("running")
    print(f"cell {model} x {dataset}: working", flush=True)
    time.sleep(float(os.environ.get("CELL_SECONDS", "0")))
    if model in os.environ.get("FAIL_MODELS", "").split(","):
        print(f"cell {model} x {dataset}: simulated training error (FAIL_MODELS)", flush=True)
        rundir.set_status("failed", error="simulated training error")
        sys.exit(1)
    write_json(rundir.scores, {"model": model, "dataset": dataset, "run_id": run_id,
                               "metrics": {"precision": 1.0, "recall": 1.0, "f1": 1.0}, "n": 1})
    rundir.set_status("done")
    print(f"cell {model} x {dataset}: done", flush=True)
