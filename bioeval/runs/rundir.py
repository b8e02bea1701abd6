"""The run directory of one cell: self-describing files any later command can work from.

    <workdir>/<run_id>/
        spec.json          resolved cell spec (what the run id hashes) + model/dataset keys
        status.json        {"state": pending|running|done|failed, ...}
        receipt.json       environment and pins (written when the run ends)
        predictions.jsonl  one line per test instance
        scores.json        {"model", "dataset", "run_id", "metrics": {precision, recall, f1}, "n", ...}
        checkpoints/       adapter checkpoints and selection scores
        test_subsample.json  the seeded test subsample, when the protocol caps the test set
        log.txt            the cell's log
        .lock              held while a process works on the cell

The names live in runs/names.py; every reader goes through runs/read.py (RunFolder).
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Any

from bioeval.errors import CellBusy
from bioeval.runs import names
from bioeval.runs.atomic import read_json, write_json

STATES = ("pending", "running", "done", "failed")



class RunDir:
    def __init__(self, workdir: str | Path, run_id: str):
        self.run_id = run_id
        self.path = Path(workdir) / run_id
        self._lock_fd: int | None = None

    # paths
    spec = property(lambda self: self.path / names.SPEC)
    status_file = property(lambda self: self.path / names.STATUS)
    receipt = property(lambda self: self.path / names.RECEIPT)
    predictions = property(lambda self: self.path / names.PREDICTIONS)
    scores = property(lambda self: self.path / names.SCORES)
    checkpoints = property(lambda self: self.path / names.CHECKPOINTS)
    log = property(lambda self: self.path / names.LOG)
    test_subsample = property(lambda self: self.path / names.TEST_SUBSAMPLE)
    lock_file = property(lambda self: self.path / names.LOCK)

    def create(self, spec: dict) -> "RunDir":
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.spec.exists():
            write_json(self.spec, spec)
        if not self.status_file.exists():
            self.set_status("pending")
        return self

    def status(self) -> dict[str, Any]:
        try:
            status = read_json(self.status_file)
        except FileNotFoundError:
            return {"state": "pending"}
        if status.get("state") == "running" and status.get("host") == socket.gethostname() and self._lock_free():
            # the process that ran it is gone without recording an outcome (killed, disk full)
            return {**status, "state": "failed", "stale": True,
                    "error": f"interrupted: the process that ran it (pid {status.get('pid')}) is gone "
                             f"without recording an outcome ({status.get('error') or 'see log.txt'})."}
        return status

    def _lock_free(self) -> bool:
        """True when no process holds the cell's lock (flock: per open file, also within a process)."""
        if self._lock_fd is not None:
            return False
        try:
            fd = os.open(self.lock_file, os.O_RDONLY)
        except OSError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)  # closing drops the probe's lock at once
        return True

    def set_status(self, state: str, **extra: Any) -> None:
        assert state in STATES, state
        write_json(self.status_file, {"state": state, "time": time.time(), "pid": os.getpid(),
                                      "host": socket.gethostname(), **extra})

    def is_done(self) -> bool:
        """Finished, and the folder is this cell's own run (not a copy of another cell's)."""
        return self.status().get("state") == "done" and self.scores.exists() and self.foreign() is None

    def foreign(self, spec: dict | None = None) -> str | None:
        """Why an existing folder of this run id holds some other run (copied, edited, linked), or None.
        ``spec``: the cell's spec (what the run id hashes), which spec.json must hold exactly."""
        from bioeval.runs.validate import finished_problem

        if self.path.is_symlink():
            return f"run folder {self.path} is a symbolic link: a run folder must be the directory the run wrote"
        if not (os.path.lexists(self.path) and os.path.lexists(self.spec)):
            return None
        return finished_problem(self.path, self.run_id, spec)

    # one process per cell: an flock dies with its process, so kill -9 never leaves it stale
    def acquire(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_file, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CellBusy(f"cell {self.run_id} is being run by another process (lock {self.lock_file}).",
                           "Wait for it to finish, or check `bioeval status`.") from None
        self._lock_fd = fd

    def release(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "RunDir":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
