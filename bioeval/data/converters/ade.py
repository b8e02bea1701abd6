"""``ade-classification``: ADE corpus v2, classification config (HF ade-benchmark-corpus/ade_corpus_v2).

Raw form: parquet or CSV (or JSONL) with ``text`` and ``label`` (1 = related to an adverse
drug event, 0 = not).  Usually carved 80/20 (Split.carve), because the corpus has one split.

Follows the lab exactly (TC_ade_test.json): the instruction text and the response strings
``related`` / ``not-related``.  Assumed: label 1 -> ``related``, 0 -> ``not-related`` (the
HF card's meaning); a label that is already one of those strings is kept.
``format_options``: ``instruction``, ``text_column``, ``label_column``.
"""

from __future__ import annotations

from bioeval.data.converters import excerpt, option
from bioeval.data.converters.tables import column, read_rows
from bioeval.data.instances import Instance
from bioeval.errors import DataError

LAB_INSTRUCTION = ("Please do a classification task. You need to determine if the input sentence is ADE-related "
                   "or not. The response should be in predefine set: ('not-related', 'related').")
RESPONSES = {"1": "related", "0": "not-related", "related": "related", "not-related": "not-related",
             "Related": "related", "Not-Related": "not-related"}


def convert(path, split, dataset) -> list[Instance]:
    rows = read_rows(path)
    texts = column(rows, option(dataset, "text_column", "text"), path)
    labels = column(rows, option(dataset, "label_column", "label"), path)
    instruction = option(dataset, "instruction") or LAB_INSTRUCTION
    out = []
    for i, (text, label) in enumerate(zip(texts, labels)):
        response = RESPONSES.get(str(label).strip())
        if response is None:
            raise DataError(f"{path}: record {i} has label {excerpt(label)}; expected 0/1 or related/not-related.")
        out.append(Instance(f"{split}-{i}", instruction, str(text), response))
    return out
