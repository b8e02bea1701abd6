"""Read row files (CSV, TSV, JSON lines, JSON array, parquet) into dicts, by file extension."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bioeval.errors import DataError


def read_rows(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise DataError(f"{path}: reading parquet needs pyarrow.",
                            "`pip install pyarrow`, or convert the file to CSV.") from None
        return pq.read_table(path).to_pylist()
    if suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ","))
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg}).") from None
        return rows
    if suffix == ".json":
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}).") from None
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON array of records, got {type(data).__name__}.")
        return data
    raise DataError(f"{path}: unknown table extension {suffix!r}.",
                    "Use .csv, .tsv, .jsonl, .json or .parquet.")


def column(rows: list[dict], name: str, path: Path) -> list:
    if rows and name not in rows[0]:
        raise DataError(f"{path}: no column {name!r} (columns: {', '.join(map(str, rows[0]))}).",
                        "Set format_options (e.g. text_column, label_column) in the manifest.")
    return [r.get(name) for r in rows]
