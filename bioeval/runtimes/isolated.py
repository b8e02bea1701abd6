"""Run cells with the local runtime in a fresh interpreter that has a given environment.

The numerics variables (engine/numerics.py) are read by torch's native libraries when torch is
imported or first used; a process that imported torch already cannot change them, so its
cells run here instead.  The parent pickles (manifest, cells, settings, options) to a file,
the child runs `local.run_cells` and pickles the rows, or the user error that stopped it, back.

    python -m bioeval.runtimes.isolated IN.pickle OUT.pickle
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import bioeval
from bioeval.errors import BioevalError, EnvironmentProblem


def run_in_child(loaded, cells, settings, options: dict, env: dict[str, str]) -> list[dict]:
    root = str(Path(bioeval.__file__).resolve().parent.parent)  # the same bioeval, installed or not
    env = {**env, "PYTHONPATH": root + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")}
    with tempfile.TemporaryDirectory(prefix="bioeval-cells-") as tmp:
        job, out = Path(tmp) / "in.pickle", Path(tmp) / "out.pickle"
        job.write_bytes(pickle.dumps((loaded, cells, settings, options)))
        res = subprocess.run([sys.executable, "-m", "bioeval.runtimes.isolated", str(job), str(out)], env=env)
        if out.exists():
            kind, value = pickle.loads(out.read_bytes())
            if kind == "error":
                raise value
            return value
    error = f"the cell process ended with exit code {res.returncode} before it reported (see its output above)"
    return [{"run_id": c.run_id, "name": c.name, "state": "failed", "seconds": 0.0, "error": error} for c in cells]


def main(job: str, out: str) -> int:
    from bioeval.runs.atomic import write_bytes
    from bioeval.runtimes.local import run_cells

    loaded, cells, settings, options = pickle.loads(Path(job).read_bytes())
    try:
        result = ("rows", run_cells(loaded, cells, settings, options))
    except (EnvironmentProblem, BioevalError) as exc:
        result = ("error", exc)
    write_bytes(out, pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
