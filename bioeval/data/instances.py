"""The one instance form every dataset is turned into: the lab's instruction format."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bioeval.errors import DataError


@dataclass(frozen=True)
class Instance:
    id: str  # "<split>-<index in the file>"; stable across runs
    instruction: str
    input: str  # the lab's "inputsentence"
    response: str


def read_json_array(path: str | Path, what: str = "the lab's format") -> list:
    """A data file's JSON array, or a located DataError (invalid JSON, unreadable values, not an array)."""
    try:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
                        f"The file may be truncated or not {what}; fetch it again.") from None
    except UnicodeDecodeError:
        raise  # reported by converters.convert as "not UTF-8 text"
    except (ValueError, RecursionError):  # a number of 4,300+ digits, or nesting deeper than Python's stack
        raise DataError(f"{path}: a value cannot be read (a huge number or deep nesting).",
                        f"The file is not {what}; fetch it again.") from None
    if not isinstance(rows, list):
        raise DataError(f"{path}: expected a JSON array of records, got {type(rows).__name__}.")
    return rows


def read_lab_json(path: str | Path, split: str) -> list[Instance]:
    """A JSON array of {"instruction", "inputsentence", "response"} (Zhan et al., commit 72e96c9)."""
    rows = read_json_array(path)
    out = []
    for i, row in enumerate(rows):
        try:
            out.append(Instance(f"{split}-{i}", str(row["instruction"]), str(row.get("inputsentence", "")),
                                str(row["response"])))
        except (KeyError, TypeError):
            raise DataError(f"{path}: record {i} lacks instruction/response fields.",
                            "Check the dataset's format in the manifest.") from None
    return out
