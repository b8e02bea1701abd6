"""Manifest -> cells (model x dataset minus exclusions), each with its resolved protocol and run id."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterator

from pydantic import BaseModel

from bioeval.errors import UsageError
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.schema import Dataset, MetricValue, Model, Prov, Protocol

RUN_ID_LENGTH = 16


@dataclass(frozen=True)
class Cell:
    model: Model
    dataset: Dataset
    protocol: Protocol
    expected: dict[str, MetricValue]
    spec: dict
    run_id: str
    replicate: int = 0  # seed study: run i of K uses the protocol seed + i (0: the cell itself)

    @property
    def name(self) -> str:
        suffix = f" seed+{self.replicate}" if self.replicate else ""
        return f"{self.model.key} x {self.dataset.key}{suffix}"


def values_only(obj: Any) -> Any:
    """Strip provenance: Prov(value=x, ...) -> x, recursively (what the run id hashes)."""
    if isinstance(obj, Prov):
        return values_only(obj.value)
    if isinstance(obj, BaseModel):
        return {k: values_only(getattr(obj, k)) for k in type(obj).model_fields}
    if isinstance(obj, dict):
        return {str(k): values_only(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [values_only(v) for v in obj]
    return obj


def _source_pin(source) -> dict:
    """What a split's source pins; its converter only where it has its own (so run ids of splits
    read with the dataset's format stay what they were before sources could name one)."""
    pin = source.model_dump(exclude={"access", "format", "format_options"})
    if source.format is not None:
        pin["format"] = source.format
    if source.format_options:
        pin["format_options"] = source.format_options
    return pin


def cell_spec(model: Model, dataset: Dataset, protocol: Protocol) -> dict:
    """Everything that decides a cell's numbers: pins and protocol values, no prose."""
    return {
        "schema": 1,
        "model": {"key": model.key, "repo": model.repo, "revision": model.revision,
                  **({"gguf_sha256": model.gguf.sha256} if model.gguf else {})},
        "dataset": {
            "key": dataset.key,
            "task": dataset.task,
            "format": dataset.format,
            "format_options": dataset.format_options,
            "labels": list(dataset.labels) if dataset.labels else None,
            "splits": {
                name: {
                    "source": _source_pin(split.source),
                    "carve": split.carve.model_dump(exclude={"note"}) if split.carve else None,
                }
                for name, split in sorted(dataset.splits.items())
            },
        },
        "protocol": _without_later_defaults(values_only(protocol)),
    }


# fields added after run ids were first recorded, at the value that means "as before": left out
# of the spec, so run ids (and reference receipts) from before the field existed stay valid
LATER_DEFAULTS = {("scoring", "also"): lambda v: not v, ("prompt", "truncation"): lambda v: v == "keep-start",
                  ("training", "shared_prefix"): lambda v: v is False, ("lora", "top_layers"): lambda v: v is None,
                  ("training", "train_subsample"): lambda v: v is None}


def _without_later_defaults(protocol: dict) -> dict:
    for (section, name), as_before in LATER_DEFAULTS.items():
        part = protocol.get(section) or {}  # a zero-shot protocol has no training section
        if name in part and as_before(part[name]):
            part.pop(name)
    return protocol


def run_id_of(spec: dict) -> str:
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:RUN_ID_LENGTH]


def parse_only(only: str | None) -> dict[str, set[str]]:
    """``model=a,dataset=b`` (repeatable keys: ``model=a,model=b``) -> {"model": {...}, ...}."""
    filters: dict[str, set[str]] = {}
    if not only:
        return filters
    for part in only.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in ("model", "dataset", "task") or not value.strip():
            raise UsageError(f"--only {only!r}: expected model=KEY, dataset=KEY or task=TYPE, comma-separated.",
                             "Example: --only model=phi-4,dataset=ddi")
        filters.setdefault(key, set()).add(value.strip())
    return filters


def selection(loaded: LoadedManifest, only: str | None) -> dict[str, set[str]]:
    """The --only filters, every value known to the manifest (an unknown one is a usage error)."""
    m = loaded.manifest
    filters = parse_only(only)
    for key, values in filters.items():
        known = {"model": [x.key for x in m.models], "dataset": [x.key for x in m.datasets],
                 "task": ["EE", "RE", "NER", "TC"]}[key]
        unknown = sorted(values - set(known))
        if unknown:
            raise UsageError(f"--only: unknown {key} {', '.join(unknown)} in {loaded.path}.",
                             f"Known: {', '.join(known)}.")
    return filters


def iter_cells(loaded: LoadedManifest, only: str | None = None) -> Iterator[Cell]:
    m = loaded.manifest
    filters = selection(loaded, only)
    excluded = {(e.model, e.dataset) for e in m.exclude}
    for model in m.models:
        if "model" in filters and model.key not in filters["model"]:
            continue
        for dataset in m.datasets:
            if "dataset" in filters and dataset.key not in filters["dataset"]:
                continue
            if "task" in filters and dataset.task not in filters["task"]:
                continue
            if (model.key, dataset.key) in excluded:
                continue
            protocol = loaded.protocol_of(model, dataset)
            spec = cell_spec(model, dataset, protocol)
            yield Cell(model, dataset, protocol, m.expected.get(model.key, {}).get(dataset.key, {}),
                       spec, run_id_of(spec))


def cells(loaded: LoadedManifest, only: str | None = None) -> list[Cell]:
    return list(iter_cells(loaded, only))


MAX_SEEDS = 100


def seed_variant(cell: Cell, index: int) -> Cell:
    """Run ``index`` of a seed study of ``cell``: every seed derives from protocol.seed + index.

    protocol.seed (adapter init, dropout, sampled decoding) and training.shuffle_seed (data order)
    move by ``index``; the test subsample stays the base run's (subsample_seed pinned), so the K runs
    score the same instances and their spread measures training and decoding, not sampling (the
    sampling part is added separately).  spec.json records {"index", "base_seed", "base_run_id"}, so
    `verify`, `compare` and `report` group the runs by cell.  Index 0 is the cell itself.
    """
    if index == 0:
        return cell
    p = cell.protocol
    base = p.seed.value
    why = f"seed study run {index}: the protocol's value + {index}"
    update: dict = {"seed": Prov(value=base + index, source=p.seed.source, note=why)}
    if p.training is not None:
        shuffle = p.training.shuffle_seed
        update["training"] = p.training.model_copy(update={
            "shuffle_seed": Prov(value=shuffle.value + index, source=shuffle.source, note=why)})
    ev = p.evaluation
    sub = p.test_subsample_seed
    update["evaluation"] = ev.model_copy(update={"subsample_seed": Prov(
        value=sub, source=ev.subsample_seed.source, note="seed study: the base run's test sample, kept")})
    protocol = p.model_copy(update=update)
    spec = {**cell_spec(cell.model, cell.dataset, protocol),
            "replicate": {"index": index, "base_seed": base, "base_run_id": cell.run_id}}
    return Cell(cell.model, cell.dataset, protocol, cell.expected, spec, run_id_of(spec), index)


def with_seeds(cells: list[Cell], seeds: int) -> list[Cell]:
    """Each cell under ``seeds`` seeds (seed study), base runs first within each cell."""
    if not 1 <= seeds <= MAX_SEEDS:
        raise UsageError(f"--seeds {seeds}: give a number of runs per cell from 1 to {MAX_SEEDS}.")
    return [seed_variant(c, i) for c in cells for i in range(seeds)]


def find_run(cells: list[Cell], run_id: str, spec: dict | None = None) -> Cell | None:
    """The cell or seed-study run with this run id: spec.json's replicate record first, then a search."""
    for c in cells:
        if c.run_id == run_id:
            return c
    replicate = (spec or {}).get("replicate") or {}
    for c in cells:
        if c.run_id == replicate.get("base_run_id") and isinstance(replicate.get("index"), int):
            variant = seed_variant(c, replicate["index"])
            if variant.run_id == run_id:
                return variant
    for index in range(1, MAX_SEEDS):
        for c in cells:
            variant = seed_variant(c, index)
            if variant.run_id == run_id:
                return variant
    return None


def protocol_ledger(protocol: Protocol, prefix: str = "protocol") -> list[dict]:
    """Every protocol value as {field, value, source, note}, in schema order."""
    rows: list[dict] = []

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, Prov):
            row = {"field": path, "value": obj.value, "source": obj.source, "note": obj.note}
            if obj.alternatives:
                row["alternatives"] = [a.model_dump() for a in obj.alternatives]
            rows.append(row)
        elif isinstance(obj, BaseModel):
            for name in type(obj).model_fields:
                walk(getattr(obj, name), f"{path}.{name}")

    walk(protocol, prefix)
    return rows
