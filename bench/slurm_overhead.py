"""What the Slurm runtime itself costs (not the cells): writing a 144-cell submission, reading
the state of 144 cells, and the scheduling overhead per array task on a real cluster.

    SLURM_CONF=... python bench/slurm_overhead.py [--tasks 20]

The per-task numbers need a reachable cluster (scripts/slurm_cluster.sh start); each task
runs a trivial cell command (a Python process that writes the cell's scores and status).
Results go to docs/slurm.md by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from slurm.conftest import manifest_text  # noqa: E402  (the tests' synthetic grid manifest)

from bioeval.manifest import cells, load_manifest  # noqa: E402
from bioeval.runtimes import slurm_client as client  # noqa: E402
from bioeval.runtimes.slurm import run_cells  # noqa: E402
from bioeval.runtimes.slurm_state import cell_states  # noqa: E402
from bioeval.settings import Settings  # noqa: E402

TRIVIAL = ('"$PYTHON" -c "import sys; from bioeval.runs import RunDir, write_json; r = RunDir(sys.argv[1], sys.argv[2]); '
           'write_json(r.scores, {}); r.set_status(\'done\')" "$WORKDIR" "$RUN_ID"')


GPU = "{gpus: 1, gpu_memory_gb: 40, memory_gb: 64, time: '24:00:00'}"
CPU = "{gpus: 0, memory_gb: 1, time: '00:05:00'}"


def grid(folder: Path, models: int, datasets: int, resources: str = GPU):
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data" / "test.json").write_text("[]")
    (folder / "model").mkdir(exist_ok=True)
    (folder / "model" / "config.json").write_text("{}")
    path = folder / "grid.yaml"
    path.write_text(manifest_text([(f"m{i}", resources) for i in range(models)], datasets))
    return load_manifest(path)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        loaded = grid(tmp / "paper", 12, 12)
        cs = cells(loaded)
        settings = Settings(workdir=tmp / "runs-dry")
        _, t = timed(lambda: run_cells(loaded, cs, settings, {"dry_run": True, "partition": "a100"}))
        print(f"dry run, {len(cs)} cells (grid, script, run dirs): {t:.2f} s")
        keys = [(c.run_id, c.model.key, c.dataset.key) for c in cs]
        _, t = timed(lambda: cell_states(settings.workdir, keys))
        print(f"state of {len(cs)} cells (files + squeue): {t:.3f} s")

        if client.show_config() is None:
            print("no reachable Slurm cluster: skipping the per-task overhead")
            return
        os.environ.setdefault("BIOEVAL_SLURM_POLL_S", "0.2")
        loaded = grid(tmp / "small", 1, args.tasks, CPU)
        cs = cells(loaded)
        cs_settings = Settings(workdir=tmp / "runs-real")
        from rich.console import Console
        quiet = Console(file=open(os.devnull, "w"))
        _, t = timed(lambda: run_cells(loaded, cs, cs_settings, {}, console=quiet,
                                       run_command=TRIVIAL))
        print(f"real cluster: {len(cs)} trivial tasks submitted and finished in {t:.1f} s "
              f"({t / len(cs):.2f} s per task on {client.show_config().get('ClusterName')})")


if __name__ == "__main__":
    main()
