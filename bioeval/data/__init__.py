"""Stage 2 of the data's path: fetch pinned split files, check them, turn them into instances.

Public API (other stages call these names):
``fetch_split(dataset, split_name, loaded, settings) -> FetchedFile``,
``load_split(dataset, split_name, loaded, settings) -> list[Instance]``,
``subsample(instances, n, seed) -> (instances, indices)``.
The audit of the data against the paper is its own stage above this one (`bioeval.audit`).
"""

from bioeval.data.instances import Instance, read_lab_json
from bioeval.data.sources import FetchedFile
from bioeval.data.splits import RecordCountMismatch, fetch_split, load_split
from bioeval.data.subsample import subsample

__all__ = ["Instance", "read_lab_json", "FetchedFile", "RecordCountMismatch", "fetch_split", "load_split",
           "subsample"]
