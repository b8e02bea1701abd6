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
        try:
            return _records(pq.read_table(path).to_pylist(), path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise DataError(f"{path}: not a readable parquet file ({type(exc).__name__}).") from None
    if suffix in (".csv", ".tsv"):
        with open(path, encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ","))
    if suffix in (".jsonl", ".ndjson"):
        rows = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise DataError(f"{path}:{lineno}: not valid JSON ({exc.msg}).") from None
                    except (ValueError, RecursionError):  # a 4,300+ digit number, deep nesting
                        raise DataError(f"{path}:{lineno}: a value cannot be read (huge number or deep nesting).") from None
                    if not isinstance(row, dict):
                        raise DataError(f"{path}:{lineno}: expected a JSON object (one record per line), "
                                        f"got {type(row).__name__}.")
                    rows.append(row)
        return rows
    if suffix == ".json":
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}).") from None
        except UnicodeDecodeError:
            raise  # reported by converters.convert as "not UTF-8 text"
        except (ValueError, RecursionError):
            raise DataError(f"{path}: a value cannot be read (a number of 4,300+ digits, or deep nesting).") from None
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON array of records, got {type(data).__name__}.")
        return _records(data, path)
    raise DataError(f"{path}: unknown table extension {suffix!r}.",
                    "Use .csv, .tsv, .jsonl, .json or .parquet.")


def _records(rows: list, path: Path) -> list[dict]:
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError(f"{path}: record {i} is a {type(row).__name__}, not an object with named fields.")
    return rows


def column(rows: list[dict], name: str, path: Path) -> list:
    if rows and name not in rows[0]:
        from bioeval.data.converters import excerpt

        names = ", ".join(excerpt(str(c)) for c in list(rows[0])[:8])
        raise DataError(f"{path}: no column {name!r} (columns: {names}{', ...' if len(rows[0]) > 8 else ''}).",
                        "Set format_options (e.g. text_column, label_column) in the manifest.")
    return [r.get(name) for r in rows]
