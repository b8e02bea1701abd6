"""``medalpaca-health-advice``: HF medalpaca/medical_meadow_health_advice (JSON of instruction/input/output).

Raw form: a JSON array (or JSON lines) of ``{"instruction", "input", "output"}``; ``output``
is the class phrase (e.g. "This is no advice").  Usually carved 80/20 (8,676 -> 6,940/1,736).

Follows the lab: the TC instruction pattern of the lab's files ("Please do a classification
task. ... The response should be in predefine set: (...)").  Assumed (the lab has no
HealthAdvice file at all, and the paper cites a different corpus): the task clause, that the
response is medalpaca's ``output`` verbatim, and the label set listed in the instruction
(``dataset.labels`` if given, else the sorted distinct outputs of the file).
``format_options.instruction`` replaces the instruction; ``format_options.keep_instruction: true``
keeps medalpaca's own instruction text instead.
"""

from __future__ import annotations

from bioeval.data.converters import option
from bioeval.data.converters.tables import read_rows
from bioeval.data.instances import Instance
from bioeval.errors import DataError


def instruction_for(labels) -> str:
    return ("Please do a classification task. You need to determine whether the input sentence gives "
            f"health advice, and how strong it is. The response should be in predefine set: {tuple(labels)!r}.")


def convert(path, split, dataset) -> list[Instance]:
    rows = read_rows(path)
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "output" not in row:
            raise DataError(f"{path}: record {i} lacks an `output` field; is this medalpaca's format?")
    labels = dataset.labels or sorted({str(r["output"]).strip() for r in rows})
    fixed = option(dataset, "instruction") or instruction_for(labels)
    keep = bool(option(dataset, "keep_instruction", False))
    return [Instance(f"{split}-{i}", str(r.get("instruction", "")) if keep else fixed,
                     str(r.get("input", "")), str(r["output"]).strip())
            for i, r in enumerate(rows)]
