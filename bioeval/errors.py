"""Every error a user can cause, with the exit code the CLI gives it.

The CLI prints ``str(error)`` as one paragraph and exits with ``error.exit_code``; no
traceback.  Errors keep their arguments in ``args`` so they pickle cleanly when they cross a
process boundary (Slurm tasks, docker runs, multiprocessing).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3


class BioevalError(Exception):
    """Base class; a runtime failure unless a subclass says otherwise."""

    exit_code = EXIT_RUNTIME

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message, hint)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        return f"{self.message}\n{self.hint}" if "\n" in self.message else f"{self.message} {self.hint}"


class UsageError(BioevalError):
    """Bad command-line input or a file the user named that cannot be used."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class Problem:
    """One problem in a manifest, located as precisely as the YAML allows."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.field or '<top>'}: {self.message}"


class ManifestError(UsageError):
    """A manifest that does not validate; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], hint: str | None = None):
        problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        message = f"{len(problems)} {noun} in manifest:\n{lines}"
        BioevalError.__init__(self, message, hint)
        self.args = (problems, hint)
        self.problems = problems


class DataError(BioevalError):
    """A data file that is missing, unreachable or malformed."""


class Unavailable(DataError):
    """The file cannot be had from this source (404, offline, unreachable); not a corrupt file."""


class BadJson(ValueError):
    """A JSON file that does not parse, or nests deeper than the kit reads (jsonfile.py)."""


class CellBusy(BioevalError):
    """Another process holds the cell's lock."""


class Unusable(Exception):
    """One line saying why a file of a run folder cannot be used (the run is invalid, never an abort)."""


class LocatedScoringError(BioevalError):
    """Raised by a scorer's counts_many for the distinct answer at ``index`` (located by the caller)."""

    def __init__(self, index: int, message: str, hint: str | None = None):
        super().__init__(message, hint)
        self.index = index


class ChecksumMismatch(DataError):
    def __init__(self, file: str, expected: str, actual: str, hint: str | None = None):
        hint = hint or (
            "The file was not used. If the upstream file changed on purpose, update the sha256 "
            "in the manifest (or run `bioeval lock`); otherwise delete the bad copy and fetch again."
        )
        BioevalError.__init__(
            self, f"sha256 mismatch for {file}: expected {expected}, got {actual}.", hint
        )
        self.args = (file, expected, actual, hint)
        self.file, self.expected, self.actual = file, expected, actual


class ModelError(BioevalError):
    """A model that cannot be fetched or loaded (gated repo, missing revision, bad path)."""


class EnvironmentProblem(BioevalError):
    """The machine lacks something the run needs (a GPU, CUDA, a Docker daemon, Slurm)."""


class VerificationFailed(BioevalError):
    exit_code = EXIT_VERIFY_FAILED


class InputRefused(UsageError):
    """An input the kit will not read: a path outside the allowed folders, an undeclared or
    secret-looking ${VAR}, a value that would break a generated script."""


# errors of a file system the user controls (not bugs): read-only, full, over quota, no permission
WRITE_ERRNOS = frozenset({errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EFBIG})
# a path the user gave that cannot be a file or folder: a file where a folder must be, and the reverse
PATH_ERRNOS = frozenset({errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ELOOP, errno.ENAMETOOLONG})


class WorkdirError(EnvironmentProblem):
    """A file the kit must write cannot be written (read-only file system, disk full, no permission,
    a regular file where the path needs a folder)."""

    @classmethod
    def from_os_error(cls, exc: OSError, what: str = "") -> "WorkdirError":
        where = exc.filename or "a file"
        hints = {errno.ENOSPC: "The disk is full: free space or choose another --workdir / BIOEVAL_CACHE.",
                 errno.EDQUOT: "The disk quota is exceeded: free space or choose another --workdir.",
                 errno.EROFS: "The file system is read-only: choose a writable --workdir / BIOEVAL_CACHE.",
                 errno.ENOTDIR: "A part of that path is a regular file, not a folder: choose another path "
                                "(--workdir, --out, --junit) or move the file away.",
                 errno.EEXIST: "A regular file is in the way where a folder is needed: choose another path "
                               "or move the file away.",
                 errno.EISDIR: "That path is a folder; give a file name."}
        hint = hints.get(exc.errno, "Check the folder's permissions, or choose another --workdir / BIOEVAL_CACHE.")
        verb = "use" if exc.errno in PATH_ERRNOS else "write"
        return cls(f"cannot {verb} {where}{' (' + what + ')' if what else ''}: {exc.strerror or exc}.", hint)


class NothingToCompare(UsageError):
    """A comparison or check where no cell could be paired or found: never a silent pass."""
