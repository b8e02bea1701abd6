"""Atomic file writes: write a temp file in the same folder, fsync, rename.

A reader never sees a half-written result, and a killed process leaves either the old file
or the new one.  The rename would replace whatever is at the target, so a target that exists
and is not a regular file (a symlink, a device node, a fifo, a folder) is refused: `--out
/dev/full` must not turn a device into a file.  ``-`` is standard output, on purpose.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterable

_UMASK = os.umask(0)
os.umask(_UMASK)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomic write; a read-only, full or foreign folder is a WorkdirError naming ``path``;
    ``-`` writes to standard output."""
    if str(path) == "-":
        import sys

        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    check_target(path)
    try:
        _write_bytes(Path(path), data)
    except OSError as exc:
        from bioeval.errors import PATH_ERRNOS, WRITE_ERRNOS, WorkdirError

        if exc.errno not in WRITE_ERRNOS | PATH_ERRNOS:
            raise
        where = exc.filename if exc.errno == errno.EEXIST and exc.filename else path  # the file in the way
        raise WorkdirError.from_os_error(OSError(exc.errno, exc.strerror, str(where))) from None


def check_target(path: str | Path) -> None:
    """WorkdirError unless ``path`` is a regular file, absent, or ``-`` (callers that write other
    files first, such as a report's figures, check their main target before anything)."""
    if str(path) == "-":
        return
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there yet (or a file in the way of its folder: reported by the write)
    if not stat.S_ISREG(mode):
        from bioeval.errors import WorkdirError

        kind = "a symlink" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode) else \
            "a device node" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a fifo" if stat.S_ISFIFO(mode) else \
            "not a regular file"
        raise WorkdirError(f"cannot write {path}: it is {kind}, and bioeval only replaces regular files.",
                           "Give the path of a regular file (or a new one); `-` prints to standard output "
                           "where the option allows it.")


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Every text the kit saves (receipts, scores, reports, scripts) passes here: secrets scrubbed."""
    from bioeval.redact import scrub

    write_bytes(path, scrub(text).encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
