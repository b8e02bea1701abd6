"""``text-label``: CSV/TSV/JSONL/JSON with a text and a label column (Guo & Sarker's six tasks).

Those data sets are not public (SMM4H registration or a data use agreement); users convert
their copy to this form.  One instance per row: input = text, response = the label as a
string (``1``/``0`` or the label string as written; booleans become ``1``/``0``).  The
positive/negative answer phrases of the paper's prompts are not part of the instance: the
zero-shot prompt (manifest protocol) asks the question and the ``binary-prf`` scorer maps
the model's phrase; the scorer compares against this response.

Assumed: nothing about the lab's format applies (zero-shot, no instruction tuning); the
instruction is ``format_options.instruction`` or empty.  ``format_options``: ``text_column``
(default ``text``), ``label_column`` (default ``label``), ``instruction``.
"""

from __future__ import annotations

from bioeval.data.converters import option
from bioeval.data.converters.tables import column, read_rows
from bioeval.data.instances import Instance


def label_string(label) -> str:
    if isinstance(label, bool):
        return "1" if label else "0"
    if isinstance(label, float) and label.is_integer():
        return str(int(label))
    return str(label).strip()


def convert(path, split, dataset) -> list[Instance]:
    rows = read_rows(path)
    texts = column(rows, option(dataset, "text_column", "text"), path)
    labels = column(rows, option(dataset, "label_column", "label"), path)
    instruction = option(dataset, "instruction", "")
    return [Instance(f"{split}-{i}", instruction, str(t), label_string(y)) for i, (t, y) in enumerate(zip(texts, labels))]
