"""A local folder that serves data files (HPC nodes without internet, this project's tests).

Looked up by sha256 first (``<dir>/<sha256>``, ``<dir>/<sha256>.<ext>``, ``<dir>/<sha256>/<name>``)
and then by file name (``<dir>/<name>``).  Whatever is found is still checksum-verified: a
mirror is a convenience, never a source of trust.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from bioeval.data.cache import sha256_file
from bioeval.errors import ChecksumMismatch, UsageError


def indexed(mirror: Path, url: str | None) -> list[Path]:
    """Files an INDEX.tsv of the mirror (or of a folder in it) lists for this URL: by the path the
    file has in its repository (`path_at_commit`, the tail of the URL).  The lab's mirror keeps its
    unformatted files in raw/ under names of their own, listed so.  (Never by sha256 alone: a
    URL that is gone stays unavailable, even when some listed file has the bytes it pinned.)"""
    if not url:
        return []
    out = []
    for index in [mirror / "INDEX.tsv", *sorted(mirror.glob("*/INDEX.tsv"))]:
        try:
            lines = index.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        header = lines[0].split("\t") if lines else []
        for line in lines[1:]:
            row = dict(zip(header, line.split("\t")))
            name, at = row.get("file"), row.get("path_at_commit")
            if not name or "/" in name or name in (".", ".."):
                continue
            if at and unquote(url).endswith("/" + at):
                out.append(index.parent / name)
    return out


def candidates(mirror: Path, filename: str, sha256: str | None, url: str | None = None) -> list[Path]:
    paths = []
    if sha256:
        suffix = "".join(Path(filename).suffixes)
        paths += [mirror / sha256, mirror / f"{sha256}{suffix}", mirror / sha256 / filename]
    paths.append(mirror / filename)
    paths += indexed(mirror, url)
    return list(dict.fromkeys(p for p in paths if p.is_file()))


def find(mirror: Path | None, filename: str, sha256: str | None, url: str | None = None) -> tuple[Path, str] | None:
    """(path, actual sha256) of a mirror copy, or None; a corrupted copy raises ChecksumMismatch."""
    if mirror is None:
        return None
    found = candidates(Path(mirror), filename, sha256, url)
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
