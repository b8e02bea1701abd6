"""Converters from canonical raw formats into the lab's instance form (PROTOCOL.md 1.3).

Every converter is ``convert(path, split, dataset) -> list[Instance]``; ``dataset`` gives the
labels and ``format_options`` (``instruction`` overrides the instruction text).  Each module's
docstring says where it copies the lab's format and where it assumes.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from bioeval.errors import DataError

# format name -> "module:function"; imported lazily (parquet needs pyarrow, only when used)
FORMATS: dict[str, str] = {
    "zhan2024-json": "bioeval.data.converters.lab_json:convert",
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
    return getattr(importlib.import_module(module), attr)(Path(path), split, dataset)


def option(dataset, name: str, default=None):
    return (dataset.format_options or {}).get(name, default)
