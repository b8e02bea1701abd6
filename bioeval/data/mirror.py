"""A local folder that serves data files (HPC nodes without internet, this project's tests).

Looked up by sha256 first (``<dir>/<sha256>``, ``<dir>/<sha256>.<ext>``, ``<dir>/<sha256>/<name>``)
and then by file name (``<dir>/<name>``).  Whatever is found is still checksum-verified: a
mirror is a convenience, never a source of trust.
"""

from __future__ import annotations

from pathlib import Path

from bioeval.data.cache import sha256_file
from bioeval.errors import ChecksumMismatch, UsageError


def candidates(mirror: Path, filename: str, sha256: str | None) -> list[Path]:
    paths = []
    if sha256:
        suffix = "".join(Path(filename).suffixes)
        paths += [mirror / sha256, mirror / f"{sha256}{suffix}", mirror / sha256 / filename]
    paths.append(mirror / filename)
    return [p for p in paths if p.is_file()]


def find(mirror: Path | None, filename: str, sha256: str | None) -> tuple[Path, str] | None:
    """(path, actual sha256) of a mirror copy, or None; a corrupted copy raises ChecksumMismatch."""
    if mirror is None:
        return None
    found = candidates(Path(mirror), filename, sha256)
    if not found:
        return None
    for path in found:
        actual = sha256_file(path)
        if sha256 is None or actual == sha256:
            return path, actual
    path = found[0]
    raise ChecksumMismatch(
        str(path), sha256, sha256_file(path),
        f"The mirror copy was refused and not used. Replace {path} with an intact copy "
        "(compare `sha256sum` with the manifest), or remove it from the mirror to fetch from the source.")


def check_mirror(settings) -> None:
    """A data mirror that does not exist is the user's mistake, reported once (not one 'unavailable' per split)."""
    mirror = getattr(settings, "data_mirror", None)
    if mirror is not None and not mirror.is_dir():
        raise UsageError(f"--data-mirror {mirror}: no such folder.",
                         "Give the folder that holds the lab's files (e.g. ../shared/data/zhan2024), or drop the option.")
