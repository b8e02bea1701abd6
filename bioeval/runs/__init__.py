"""Run directories: atomic files, per-cell locks and status, shared by engine, verify and runtimes.
Writers use RunDir (rundir.py), readers RunFolder (read.py); only this package names the files."""

from bioeval.runs.atomic import read_json, read_jsonl, write_json, write_jsonl, write_text
from bioeval.runs.read import RunFolder, read_run_json
from bioeval.runs.rundir import CellBusy, RunDir

__all__ = ["RunDir", "RunFolder", "CellBusy", "read_json", "read_jsonl", "read_run_json", "write_json",
           "write_jsonl", "write_text"]
