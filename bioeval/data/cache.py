"""The content-addressed data cache: ``<cache>/sha256/<hash>/<file name>``.

A file is only ever placed here after its sha256 was computed, so the path says what the
bytes were.  The bytes can still change afterwards (an editor, a bad disk, a shared cache), so
a hit is hashed again before use; ``.<name>.stamp`` beside the file records the size, mtime and
ctime (which no user can set back) it had when it was last hashed, and only an unchanged stamp
skips the re-hash.  A changed file is refused (ChecksumMismatch), never used.
Files whose manifest has no sha256 yet live under ``<cache>/unpinned/<key>/`` (keyed by
their source) and are hashed again on every use.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from bioeval.errors import ChecksumMismatch

CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def pinned_path(cache_dir: Path, sha256: str, filename: str) -> Path:
    return Path(cache_dir) / "sha256" / sha256 / filename


def unpinned_path(cache_dir: Path, source_key: str, filename: str) -> Path:
    key = hashlib.sha256(source_key.encode()).hexdigest()[:24]
    return Path(cache_dir) / "unpinned" / key / filename


def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.stamp")


def _stat_stamp(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "ino": st.st_ino}


def write_stamp(path: Path, sha256: str) -> None:
    """Record that ``path`` had ``sha256`` in its current state (best effort: a read-only cache re-hashes)."""
    try:
        f, tmp = temp_file_in(path.parent, _stamp_path(path).name)
        with f:
            f.write(json.dumps({**_stat_stamp(path), "sha256": sha256}).encode())
        os.replace(tmp, _stamp_path(path))
    except OSError:
        pass


def verified_sha256(path: Path, expected: str) -> str:
    """The sha256 of the bytes at ``path`` now: from its stamp when the file is unchanged since it
    was hashed, else hashed again (and the stamp renewed when it matches)."""
    try:
        stamp = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        stamp = None
    if isinstance(stamp, dict) and stamp.get("sha256") == expected and stamp == {**_stat_stamp(path), "sha256": expected}:
        return expected
    actual = sha256_file(path)
    if actual == expected:
        write_stamp(path, actual)
    return actual


def lookup(cache_dir: Path, sha256: str | None, filename: str) -> Path | None:
    """A cached copy of a pinned file whose bytes still have that sha256, or None when not cached.

    Raises ChecksumMismatch when the cached bytes changed since they were stored.
    """
    if not sha256:
        return None
    path = pinned_path(cache_dir, sha256, filename)
    if not path.is_file():
        return None
    actual = verified_sha256(path, sha256)
    if actual != sha256:
        raise ChecksumMismatch(str(path), sha256, actual,
                               f"The cached copy changed after it was downloaded and was not used. Delete {path} "
                               "and fetch again (`bioeval fetch`).")
    return path


def temp_file_in(directory: Path, name: str):
    """An open temp file next to its final place, so the rename is atomic."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    return os.fdopen(fd, "wb"), Path(tmp)


def store_copy(cache_dir: Path, source: Path, sha256: str, filename: str) -> Path:
    """Copy an already verified file into the cache (atomic rename), return the cached path."""
    dest = pinned_path(cache_dir, sha256, filename)
    if dest.is_file():
        return dest
    f, tmp = temp_file_in(dest.parent, filename)
    try:
        with f, open(source, "rb") as src:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                f.write(chunk)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    write_stamp(dest, sha256)
    return dest
