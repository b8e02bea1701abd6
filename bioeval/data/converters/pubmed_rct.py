"""``pubmed-rct-txt``: PubMed 20k RCT text files (Franck-Dernoncourt/pubmed-rct).

Raw form: a ``###<pmid>`` line opens an abstract, then ``LABEL<TAB>sentence`` lines, a
blank line between abstracts.  One instance per sentence: input = the sentence, response =
its label as in the file (BACKGROUND, OBJECTIVE, METHODS, RESULTS, CONCLUSIONS).

Follows the lab: the instruction sentence pattern of the lab's TC files
(TC_ade_*.json: "Please do a classification task. ... The response should be in predefine
set: (...)").  Assumed (the lab's PubMed files were not retrievable): the wording of the
task clause, the label strings (kept upper case as in the raw file; ``dataset.labels``
overrides the label set listed in the instruction) and that sentences are not given their
abstract as context.  ``format_options.instruction`` replaces the whole instruction.
"""

from __future__ import annotations

from bioeval.data.converters import excerpt, option
from bioeval.data.instances import Instance
from bioeval.errors import DataError

LABELS = ("BACKGROUND", "OBJECTIVE", "METHODS", "RESULTS", "CONCLUSIONS")


def instruction_for(labels) -> str:
    return ("Please do a classification task. You need to determine the role of the input sentence "
            f"in its abstract. The response should be in predefine set: {tuple(labels)!r}.")


def convert(path, split, dataset) -> list[Instance]:
    instruction = option(dataset, "instruction") or instruction_for(dataset.labels or LABELS)
    out: list[Instance] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip() or line.startswith("###"):
                continue
            label, sep, sentence = line.partition("\t")
            if not sep:
                raise DataError(f"{path}:{lineno}: expected LABEL<TAB>sentence, got {excerpt(line)}.",
                                "Is this a PubMed RCT .txt file? Check the dataset's format.")
            out.append(Instance(f"{split}-{len(out)}", instruction, sentence, label))
    return out
