"""A dataset split for the engine, through the data stage (fetch, sha256 check, convert, carve, count)."""

from __future__ import annotations

from bioeval.data import fetch_split, load_split as data_load_split
from bioeval.data.instances import Instance
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.schema import Dataset


def load_split(loaded: LoadedManifest, dataset: Dataset, split: str, settings) -> tuple[list[Instance], dict]:
    """(instances, pin) where pin = {"file", "sha256", "origin", "records"} goes into the receipt."""
    instances = data_load_split(dataset, split, loaded, settings)
    fetched = fetch_split(dataset, split, loaded, settings)  # cached by now: only for the pin
    return instances, {"file": fetched.filename, "sha256": fetched.sha256, "origin": fetched.origin,
                       "records": len(instances)}
