"""A split of a dataset as instances: fetch, convert by ``dataset.format``, carve, check the count."""

from __future__ import annotations

import math
import random
import warnings
from dataclasses import replace

from bioeval.data.converters import convert
from bioeval.data.instances import Instance
from bioeval.data.sources import FetchedFile, fetch_source
from bioeval.errors import DataError, UsageError


class RecordCountMismatch(UserWarning):
    """A split whose record count differs from the manifest's expected count (Table 1)."""


def fetch_split(dataset, split_name: str, loaded, settings) -> FetchedFile:
    if split_name not in dataset.splits:
        raise UsageError(f"dataset {dataset.key} has no split {split_name!r} in {loaded.path}.",
                         f"Its splits: {', '.join(dataset.splits)}.")
    source = dataset.splits[split_name].source
    declared = tuple(loc.var for loc in loaded.manifest.data_locations)
    return fetch_source(source, loaded.base_dir, settings, label=f"{dataset.key}/{split_name}",
                        data_locations=declared)


def carve_indices(n: int, start: float, end: float, seed: int) -> list[int]:
    """Rows [floor(start*n), floor(end*n)) of a seeded permutation of range(n), in file order.

    floor on both ends makes adjacent carves (0-0.8, 0.8-1) partition the rows exactly and
    gives the paper's 80/20 sizes (23,516 -> 18,812 / 4,704).
    """
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return sorted(order[math.floor(start * n):math.floor(end * n)])


def carve(instances: list[Instance], split_name: str, c) -> list[Instance]:
    rows = carve_indices(len(instances), c.start, c.end, c.seed)
    return [replace(instances[i], id=f"{split_name}-{i}") for i in rows]


def reader_view(dataset, split_name: str):
    """The dataset as its split's converter sees it: a source's own `format` and `format_options`
    (over the dataset's) where the split comes from another kind of file than the others."""
    source = dataset.splits[split_name].source
    if source.format is None and not source.format_options:
        return dataset
    return dataset.model_copy(update={"format": source.format or dataset.format,
                                      "format_options": {**dataset.format_options, **source.format_options}})


# (sha256 of the bytes, split, the dataset as declared) -> its instances, for this process: the
# fetch counts a split's records and the report's audit reads it again; converting once is enough,
# since the bytes are named by their hash (Instances are frozen, callers get a fresh list).
# The paper's grid has 36 splits; the oldest entries go first beyond that many.
_CONVERTED: dict[tuple[str, str, str], tuple[Instance, ...]] = {}
KEEP_CONVERTED = 48


def instances_of(fetched: FetchedFile, dataset, split_name: str) -> list[Instance]:
    key = (fetched.sha256, split_name, dataset.model_dump_json())
    if key not in _CONVERTED:
        instances = convert(fetched.path, split_name, reader_view(dataset, split_name))
        c = dataset.splits[split_name].carve
        _CONVERTED[key] = tuple(carve(instances, split_name, c) if c else instances)
        while len(_CONVERTED) > KEEP_CONVERTED:
            del _CONVERTED[next(iter(_CONVERTED))]
    return list(_CONVERTED[key])


def count_problem(dataset, split_name: str, n: int) -> str | None:
    expected = dataset.splits[split_name].records
    if expected is None or expected == n:
        return None
    source = dataset.splits[split_name].records_source
    where = "Table 1 says" if source == "paper" else f"the manifest expects ({source})"
    return f"{dataset.paper_name} {split_name}: {n:,} records, {where} {expected:,}"


def load_split(dataset, split_name: str, loaded, settings, fetched: FetchedFile | None = None) -> list[Instance]:
    """The split's instances; ``fetched``: the split's file, already fetched and hash-checked."""
    fetched = fetched or fetch_split(dataset, split_name, loaded, settings)
    instances = instances_of(fetched, dataset, split_name)
    problem = count_problem(dataset, split_name, len(instances))
    if problem:
        if settings.strict:
            raise DataError(f"{problem}.", "The file is not the one the paper used, or the expected count "
                            "is wrong; drop --strict to run anyway (the mismatch is reported).")
        warnings.warn(problem, RecordCountMismatch, stacklevel=2)
    return instances
