"""Plain-data views of a manifest for `validate` and `plan` (the CLI renders them)."""

from __future__ import annotations

from collections import Counter

from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.resolve import Cell, cells, protocol_ledger
from bioeval.manifest.schema import Prov
from bioeval.manifest.tolerance_text import describe


def plan_json(loaded: LoadedManifest, cell_list: list[Cell]) -> dict:
    """The `plan --json` contract: {"manifest", "runs": [...], "protocol": [...]}."""
    return {
        "manifest": str(loaded.path),
        "manifest_sha256": loaded.sha256,
        "paper": loaded.manifest.paper.model_dump(),
        "runs": [_run_row(c) for c in cell_list],
        "protocol": ledger(loaded),
        "tolerance": tolerance_rows(loaded),
        "deviations": [d.model_dump() for d in loaded.manifest.deviations],
        "exclude": [e.model_dump() for e in loaded.manifest.exclude],
        "datasets": dataset_rows(loaded),
        "models": model_rows(loaded),
        "extends": loaded.manifest.extends,
        "warnings": [str(w) for w in loaded.warnings],
    }


def tolerance_rows(loaded: LoadedManifest) -> list[dict]:
    """The default tolerance rule and every override, in words and as data."""

    t = loaded.manifest.tolerance
    rows = [{"applies_to": "default", "rule": describe(t.default), "note": t.default.note}]
    for o in t.overrides:
        scope = ", ".join(f"{k}={getattr(o, k)}" for k in ("model", "dataset", "metric") if getattr(o, k) is not None)
        rows.append({"applies_to": scope or "all", "rule": describe(o), "note": o.note})
    return rows


def dataset_rows(loaded: LoadedManifest) -> list[dict]:
    rows = []
    for d in loaded.manifest.datasets:
        notes = [d.note] if d.note else []
        notes += [f"{name}: {s.note}" for name, s in d.splits.items() if s.note]
        notes += [f"{name} carve: {s.carve.note}" for name, s in d.splits.items() if s.carve and s.carve.note]
        rows.append({"key": d.key, "paper_name": d.paper_name, "task": d.task, "format": d.format,
                     "records": {name: s.records for name, s in d.splits.items()}, "license": d.license,
                     "added": d.added, "notes": notes})
    return rows


def model_rows(loaded: LoadedManifest) -> list[dict]:
    return [{"key": m.key, "paper_name": m.paper_name, "repo": m.repo, "revision": m.revision, "verified": m.verified,
             "gpus": m.resources.gpus, "added": m.added, "like": m.like, "note": m.note}
            for m in loaded.manifest.models]


def _run_row(c: Cell) -> dict:
    return {
        "run_id": c.run_id,
        "model": c.model.key,
        "model_paper_name": c.model.paper_name,
        "repo": c.model.repo,
        "revision": c.model.revision,
        "verified": c.model.verified or c.model.gguf is not None,  # a GGUF is pinned by its sha256
        "dataset": c.dataset.key,
        "dataset_paper_name": c.dataset.paper_name,
        "task": c.dataset.task,
        "mode": c.protocol.mode.value,
        "scorer": c.protocol.scoring.scorer.value,
        "gpus": c.model.resources.gpus,
        "added": c.model.added or c.dataset.added,
        "expected": {k: v.value for k, v in c.expected.items()},
        "expected_ci": {k: list(v.ci) for k, v in c.expected.items() if v.ci},
    }


def ledger(loaded: LoadedManifest) -> list[dict]:
    """The default protocol plus every per-model and per-dataset override, with provenance."""
    rows = protocol_ledger(loaded.manifest.protocol)
    for section, entries in (("models", loaded.manifest.models), ("datasets", loaded.manifest.datasets)):
        for entry in entries:
            for row in _override_rows(entry.protocol, f"{section}[{entry.key}].protocol"):
                rows.append(row)
    return rows


def _override_rows(override: dict, prefix: str) -> list[dict]:
    rows = []
    for key, value in override.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict) and not ({"value", "source", "note"} & value.keys()):
            rows.extend(_override_rows(value, path))
        else:
            prov = Prov.model_validate(value)
            rows.append({"field": path, "value": prov.value, "source": prov.source, "note": prov.note})
    return rows


def summary(loaded: LoadedManifest) -> dict:
    m = loaded.manifest
    cell_list = cells(loaded)
    sources = Counter(row["source"] for row in ledger(loaded))
    return {
        "manifest": str(loaded.path),
        "paper": m.paper.title,
        "arxiv": f"{m.paper.arxiv}{m.paper.version or ''}" if m.paper.arxiv else None,
        "models": len(m.models),
        "models_verified": sum(x.verified or x.gguf is not None for x in m.models),
        "datasets": len(m.datasets),
        "cells": len(cell_list),
        "expected_values": sum(len(c.expected) for c in cell_list),
        "protocol_sources": dict(sources),
        "modes": sorted({c.protocol.mode.value for c in cell_list}),
        "warnings": [str(w) for w in loaded.warnings],
    }

