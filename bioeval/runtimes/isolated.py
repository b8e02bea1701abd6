"""Run cells with the local runtime in a fresh interpreter that has a given environment.

The numerics variables (engine/numerics.py) are read by torch's native libraries when torch is
imported or first used; a process that imported torch already cannot change them, so its
cells run here instead.  The parent writes (manifest path and sha256, cells, settings, options)
to a file, the child reloads the manifest (refusing one that changed meanwhile), rebuilds the
cells from their fields (pydantic dumps: the generic Prov[...] classes do not pickle), runs
`local.run_pending` (the parent checked and fetched them) and pickles the rows, or the user error that stopped it, back.

    python -m bioeval.runtimes.isolated IN.pickle OUT.pickle
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import tempfile
import typing
from pathlib import Path
from typing import TYPE_CHECKING

import bioeval
from bioeval.errors import BioevalError, EnvironmentProblem

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings


def run_in_child(loaded: LoadedManifest, cells: list[Cell], settings: Settings, options: dict, env: dict[str, str]) -> list[dict]:
    root = str(Path(bioeval.__file__).resolve().parent.parent)  # the same bioeval, installed or not
    env = {**env, "PYTHONPATH": root + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")}
    with tempfile.TemporaryDirectory(prefix="bioeval-cells-") as tmp:
        job, out = Path(tmp) / "in.pickle", Path(tmp) / "out.pickle"
        job.write_bytes(pickle.dumps((str(loaded.path), loaded.sha256, [encode_cell(c) for c in cells],
                                      settings, options)))
        res = subprocess.run([sys.executable, "-m", "bioeval.runtimes.isolated", str(job), str(out)], env=env)
        if out.exists():
            kind, value = pickle.loads(out.read_bytes())
            if kind == "error":
                raise value
            return value
    error = f"the cell process ended with exit code {res.returncode} before it reported (see its output above)"
    return [{"run_id": c.run_id, "name": c.name, "state": "failed", "seconds": 0.0, "error": error} for c in cells]


def _adapter(hint):
    from pydantic import TypeAdapter

    return TypeAdapter(hint)


def _hints():
    from bioeval.manifest.resolve import Cell

    return Cell, typing.get_type_hints(Cell)


def encode_cell(cell) -> dict:
    """The cell's fields as plain data (what pickles)."""
    Cell, hints = _hints()
    return {f.name: _adapter(hints[f.name]).dump_python(getattr(cell, f.name)) for f in dataclasses.fields(Cell)}


def decode_cell(data: dict):
    Cell, hints = _hints()
    return Cell(**{name: _adapter(hints[name]).validate_python(value) for name, value in data.items()})


def main(job: str, out: str) -> int:
    from bioeval.errors import UsageError
    from bioeval.manifest import load_manifest
    from bioeval.runs.atomic import write_bytes
    from bioeval.runtimes.local import run_pending

    path, sha256, cells, settings, options = pickle.loads(Path(job).read_bytes())
    try:
        loaded = load_manifest(path)
        if loaded.sha256 != sha256:
            raise UsageError(f"{path} changed while its cells were starting.", "Run the command again.")
        result = ("rows", run_pending(loaded, [decode_cell(c) for c in cells], settings, options))
    except (EnvironmentProblem, BioevalError) as exc:
        result = ("error", exc)
    write_bytes(out, pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
