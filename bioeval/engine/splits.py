"""A dataset split for the engine, through the data stage (fetch, sha256 check, convert, carve, count)."""

from __future__ import annotations

from bioeval.data import fetch_split, load_split as data_load_split
from bioeval.data.cache import sha256_file
from bioeval.errors import ChecksumMismatch
from bioeval.data.instances import Instance
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.schema import Dataset


def load_pinned_split(loaded: LoadedManifest, dataset: Dataset, split: str, settings) -> tuple[list[Instance], dict]:
    """(instances, pin) where pin = {"file", "sha256", "origin", "records"} goes into the receipt.

    The pin is the hash of the bytes the converter read: the file is hashed before (by the fetch)
    and again after it was read, and refused when they differ (changed while being read)."""
    fetched = fetch_split(dataset, split, loaded, settings)
    instances = data_load_split(dataset, split, loaded, settings, fetched=fetched)
    after = sha256_file(fetched.path)
    if after != fetched.sha256:
        raise ChecksumMismatch(str(fetched.path), fetched.sha256, after,
                               "The file changed while it was read and was not used; fetch it again "
                               "(`bioeval fetch`) and rerun the cell.")
    return instances, {"file": fetched.filename, "sha256": after, "origin": fetched.origin,
                       "records": len(instances)}
