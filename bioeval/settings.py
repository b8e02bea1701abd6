"""Where things live: the workdir, the data cache and the data mirror (each overridable by env)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_cache_dir() -> Path:
    if os.environ.get("BIOEVAL_CACHE"):
        return Path(os.environ["BIOEVAL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "bioeval"


@dataclass
class Settings:
    workdir: Path = Path("bioeval-runs")
    data_mirror: Path | None = None
    cache_dir: Path = None  # type: ignore[assignment]
    strict: bool = False
    allow_outside_paths: bool = False  # `local:` data outside the manifest folder, mirror and data locations

    def __post_init__(self):
        if self.cache_dir is None:
            self.cache_dir = default_cache_dir()
