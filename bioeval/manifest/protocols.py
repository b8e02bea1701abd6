"""A cell's protocol, in one place: the manifest's defaults, then the model's overrides, then the
dataset's (a later scope wins), validated.  Load checks every cell with it, `cells` resolves them
with it, and the audit asks it for a dataset's protocol."""

from __future__ import annotations

from bioeval.manifest.schema import Dataset, Manifest, Model, Protocol


def merge_protocol(base: dict, override: dict) -> dict:
    """Deep-merge ``override`` into ``base``; a provenance leaf ({value: ...}) is replaced whole."""
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict) and not _is_leaf(old) and not _is_leaf(value):
            out[key] = merge_protocol(old, value)
        else:
            out[key] = value
    return out


def _is_leaf(d: dict) -> bool:
    return bool({"value", "source", "note"} & d.keys())


def protocol_for(manifest: Manifest, raw_protocol: dict, model: Model | None = None,
                 dataset: Dataset | None = None) -> Protocol:
    """The protocol of ``model`` on ``dataset`` (either may be None: that scope adds nothing).
    ``raw_protocol`` is the manifest's `protocol:` section as written (the merge works on what was
    written, so a default the schema fills in never hides an override's sibling).  Raises
    pydantic's ValidationError when the merged protocol is invalid."""
    overrides = [scope.protocol for scope in (model, dataset) if scope is not None and scope.protocol]
    if not overrides:
        return manifest.protocol
    merged = raw_protocol
    for override in overrides:
        merged = merge_protocol(merged, override)
    return Protocol.model_validate(merged)
