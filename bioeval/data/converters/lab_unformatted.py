"""``zhan2024-unformatted``: the files the lab's formatted splits were made from (same commit).

Raw form: a JSON array of ``{"sentence", "response"}`` (NER: the token list as a Python-list
string, the tag ids as a list string) or ``{"sentence", "head", "tail", "relation"}`` (DDI).
The lab's formatting added a constant instruction per dataset and renamed the fields
(``sentence`` -> ``inputsentence``, ``relation`` -> ``response``), dropping DDI's head/tail pair;
this converter does the same, checked record for record against every pair where both forms
exist (tests/data/test_lab_unformatted.py).

The instruction is never written here: ``format_options.instruction`` in the manifest, copied
from the lab's formatted file of another split of the same dataset (the test checks it is the
one those files carry).
"""

from __future__ import annotations

from bioeval.data.converters import excerpt, option
from bioeval.data.instances import Instance, read_json_array
from bioeval.errors import DataError

RESPONSE_FIELDS = ("response", "relation")  # NER files, DDI files


def convert(path, split, dataset) -> list[Instance]:
    instruction = option(dataset, "instruction")
    if not isinstance(instruction, str) or not instruction:
        raise DataError(f"dataset {dataset.key}/{split}: format zhan2024-unformatted needs format_options.instruction.",
                        "Copy the `instruction` of the lab's formatted file of another split of this dataset "
                        "into the source's format_options (the converter adds it to every record, as the lab did).")
    rows = read_json_array(path, "the lab's unformatted form")
    out = []
    for i, row in enumerate(rows):
        response = next((row[k] for k in RESPONSE_FIELDS if isinstance(row, dict) and k in row), None)
        if not isinstance(row, dict) or not isinstance(row.get("sentence"), str) or not isinstance(response, str):
            raise DataError(f"{path}: record {i} ({excerpt(row)}) lacks a `sentence` and a `response` or "
                            "`relation` string.", "Check that the source is the lab's unformatted file.")
        out.append(Instance(f"{split}-{i}", instruction, row["sentence"], response))
    return out
