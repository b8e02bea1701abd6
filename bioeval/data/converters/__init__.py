"""Converters from canonical raw formats into the lab's instance form (PROTOCOL.md 1.3).

Every converter is ``convert(path, split, dataset) -> list[Instance]``; ``dataset`` gives the
labels and ``format_options`` (``instruction`` overrides the instruction text).  Each module's
docstring says where it copies the lab's format and where it assumes.
"""

from __future__ import annotations

import csv
import importlib
from pathlib import Path

from bioeval.errors import DataError
from bioeval.redact import scrub

EXCERPT_CHARS = 40  # file content in an error message: this much of the line at fault, no more

# format name -> "module:function"; imported lazily (parquet needs pyarrow, only when used)
FORMATS: dict[str, str] = {
    "zhan2024-json": "bioeval.data.converters.lab_json:convert",
    "zhan2024-unformatted": "bioeval.data.converters.lab_unformatted:convert",
    "pubmed-rct-txt": "bioeval.data.converters.pubmed_rct:convert",
    "conll-iob": "bioeval.data.converters.conll:convert",
    "ade-classification": "bioeval.data.converters.ade:convert",
    "medalpaca-health-advice": "bioeval.data.converters.health_advice:convert",
    "text-label": "bioeval.data.converters.text_label:convert",
}


def convert(path: str | Path, split: str, dataset) -> list:
    if dataset.format not in FORMATS:
        raise DataError(f"dataset {dataset.key}: unknown format {dataset.format!r}.",
                        f"Known formats: {', '.join(sorted(FORMATS))}.")
    module, _, attr = FORMATS[dataset.format].partition(":")
    reader = getattr(importlib.import_module(module), attr)
    try:
        return reader(Path(path), split, dataset)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}).",
                        f"Is this the {dataset.format} file the manifest names? Re-export it as UTF-8.") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV/TSV file ({str(exc)[:80]}).",
                        "Check quoting and very long fields; re-export the file.") from None
    except RecursionError:
        raise DataError(f"{path}: nested too deeply to be a data file.") from None


def excerpt(value) -> str:
    """A short, secret-scrubbed quotation of file content for an error message."""
    text = value if isinstance(value, str) else repr(value)
    short = text[:EXCERPT_CHARS] + ("..." if len(text) > EXCERPT_CHARS else "")
    return repr(scrub(short))


def option(dataset, name: str, default=None):
    return (dataset.format_options or {}).get(name, default)
