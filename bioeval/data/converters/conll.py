"""``conll-iob``: CoNLL token/IOB files (BC4CHEMD from cambridgeltl/MTL-Bioinformatics-2016).

Raw form: ``token<TAB>tag`` lines, a blank line between sentences (``-DOCSTART-`` lines are
skipped).  One instance per sentence.

Follows the lab exactly (NER_bc5cdr_*.json, NER_bc2gm_val.json): input = the Python list
repr of the tokens (``"['Tricuspid', 'valve', ...]"``), response = the Python list repr of
integer tag ids (``"[2, 3, 0]"``), id = index of the tag in ``dataset.labels``; instruction =
the lab's NER instruction text with the tag map as JSON (copied from NER_bc2gm_val.json,
typos included, so a fine-tuned model sees the same words).  Assumed: the tag map order of
``dataset.labels`` (the lab's BC4CHEMD file was not retrievable); a tag missing from the
labels is an error, not a silent O.  ``format_options.instruction`` replaces the text.
"""

from __future__ import annotations

import json

from bioeval.data.converters import excerpt, option
from bioeval.data.instances import Instance
from bioeval.errors import DataError

LAB_NER_INSTRUCTION = (
    "Please do a Named entity recognition task. You need to to accurately recognize and label these "
    "entities for the input sentece. The input sentence have been divided into a list form. The response "
    "should be a list and each element is corresponding to the each word and sign in the input sentence. "
    "Response should follow this rule: {rule}")


def instruction_for(labels) -> str:
    return LAB_NER_INSTRUCTION.format(rule=json.dumps({label: i for i, label in enumerate(labels)}))


def read_sentences(path):
    """Yield (first line number, tokens, tags) per sentence."""
    tokens: list[str] = []
    tags: list[str] = []
    start = 1
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if tokens:
                    yield start, tokens, tags
                tokens, tags, start = [], [], lineno + 1
                continue
            if line.startswith("-DOCSTART-"):
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) < 2:
                raise DataError(f"{path}:{lineno}: expected token<TAB>tag, got {excerpt(line)}.",
                                "Is this a CoNLL IOB file? Check the dataset's format.")
            tokens.append(parts[0])
            tags.append(parts[-1])
    if tokens:
        yield start, tokens, tags


def convert(path, split, dataset) -> list[Instance]:
    labels = dataset.labels
    if not labels:
        raise DataError(f"dataset {dataset.key}: format conll-iob needs `labels` (the tag-id map, index = id).")
    ids = {label: i for i, label in enumerate(labels)}
    instruction = option(dataset, "instruction") or instruction_for(labels)
    out: list[Instance] = []
    for lineno, tokens, tags in read_sentences(path):
        try:
            tag_ids = [ids[t] for t in tags]
        except KeyError as exc:
            raise DataError(f"{path}:{lineno}: tag {excerpt(exc.args[0])} is not in the labels of dataset "
                            f"{dataset.key} ({', '.join(labels)}).", "Add it to `labels` in the manifest.") from None
        out.append(Instance(f"{split}-{len(out)}", instruction, str(tokens), str(tag_ids)))
    return out
