"""Stage 2 of the data's path: fetch pinned split files, check them, turn them into instances."""

from bioeval.data.instances import Instance, read_lab_json

__all__ = ["Instance", "read_lab_json"]
