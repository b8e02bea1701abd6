"""Read a dataset split for the engine.  ONE function, to be swapped for `bioeval.data.load_split`
once the data stage lands it (it will add url/hf sources, the mirror and carves)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bioeval.data.instances import Instance, read_lab_json
from bioeval.errors import ChecksumMismatch, DataError
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.schema import Dataset


def load_split(loaded: LoadedManifest, dataset: Dataset, split: str, settings=None) -> tuple[list[Instance], dict]:
    """(instances, pin) for a local lab-format split; pin = {"file", "sha256", "records"} for the receipt."""
    entry = dataset.splits.get(split)
    if entry is None:
        raise DataError(f"dataset {dataset.key} has no {split} split in {loaded.path}.",
                        "Add it under datasets[].splits, or change evaluation.select_on.")
    source = entry.source
    if source.kind != "local" or dataset.format != "zhan2024-json":
        raise DataError(f"dataset {dataset.key}/{split}: the engine's interim reader handles only local "
                        f"zhan2024-json files (this split is {source.kind}, format {dataset.format}).",
                        "Run `bioeval fetch MANIFEST` with the data stage installed.")
    import os
    path = Path(os.path.expandvars(source.local)).expanduser()
    if not path.is_absolute():
        path = (loaded.base_dir / path).resolve()
    if not path.is_file():
        raise DataError(f"dataset {dataset.key}/{split}: file {path} does not exist "
                        f"(datasets[{dataset.key}].splits.{split}.source.local in {loaded.path}).",
                        "Fix the path (relative to the manifest) or create the file.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if source.sha256 and digest != source.sha256:
        raise ChecksumMismatch(str(path), source.sha256, digest)
    instances = read_lab_json(path, split)
    if entry.records is not None and len(instances) != entry.records:
        raise DataError(f"dataset {dataset.key}/{split}: {path} has {len(instances)} records, "
                        f"the manifest expects {entry.records}.", "Check the file or the manifest's records.")
    return instances, {"file": str(path), "sha256": digest, "records": len(instances)}
