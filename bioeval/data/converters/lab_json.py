"""``zhan2024-json``: the lab's own files (JSON array of instruction/inputsentence/response)."""

from bioeval.data.instances import read_lab_json


def convert(path, split, dataset):
    return read_lab_json(path, split)
