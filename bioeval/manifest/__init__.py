"""Stage 1 of the data's path: read, validate and resolve a manifest into cells."""

from bioeval.manifest.load import LoadedManifest, load_manifest
from bioeval.manifest.resolve import Cell, cells, protocol_ledger, run_id_of

__all__ = ["LoadedManifest", "load_manifest", "Cell", "cells", "protocol_ledger", "run_id_of"]
