"""Run directories: atomic files, per-cell locks and status, shared by engine, verify and runtimes."""

from bioeval.runs.atomic import read_json, read_jsonl, write_json, write_jsonl, write_text
from bioeval.runs.rundir import CellBusy, RunDir

__all__ = ["RunDir", "CellBusy", "read_json", "read_jsonl", "write_json", "write_jsonl", "write_text"]
