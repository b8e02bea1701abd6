"""The inputs of the cells that still have to run: data splits and model snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bioeval.errors import DataError

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings


def fetch_inputs(loaded: LoadedManifest, cells: list[Cell], settings: Settings) -> None:
    """Data splits and model snapshots of the cells that still have to run (none when all are done)."""
    if not cells:
        return
    from bioeval.data.fetch_all import fetch_all, input_name
    from bioeval.engine.model_fetch import fetch_model_rows  # huggingface_hub only, no torch

    rows = fetch_all(loaded, settings, cells) + fetch_model_rows(loaded, settings, cells)
    missing = [r for r in rows if not r["ok"]]
    if missing:
        lines = "; ".join(f"{input_name(r)}/{r['split']}: {r['detail'] or r['origin']}" for r in missing)
        raise DataError(f"{len(missing)} input(s) of {loaded.path} missing or refused: {lines}",
                        f"See `bioeval fetch {loaded.path}` for details.")
