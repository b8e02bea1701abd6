"""The one reader of a run folder: verify, compare, show, score, status and the report read
spec, status, scores, receipt and predictions through `RunFolder`, which alone knows the
file names (runs/names.py) and the size and shape checks (runs/validate.py).

Typed shapes as lm-evaluation-harness types its results files: `Status` and `Scores` say what
a reader may rely on; ``raw`` keeps the JSON verify passes on unchanged.  A RunFolder reads each
file from disk once (`predictions_bytes` for predictions.jsonl): re-scoring, the baseline, the
claims' paired bootstraps and the report share what verify read (verify/results.py keeps one
RunFolder per run of a results folder).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioeval.runs import names, validate
from bioeval.errors import Unusable


def read_run_json(path: Path) -> Any:
    """A run file's JSON, None when absent, {"_unreadable": path} when it cannot be used (never raises)."""
    try:
        return validate.read_json(path)
    except Unusable:
        return {"_unreadable": str(path)}


def usable(value: Any) -> dict | None:
    """``value`` when it is a readable JSON object, else None."""
    return value if isinstance(value, dict) and "_unreadable" not in value else None


def predictions_bytes(path: Path) -> bytes:
    """The bytes of a predictions file (the one place a run's predictions are read from disk)."""
    return Path(path).read_bytes()


@dataclass(frozen=True)
class Status:
    """status.json: the run's state (pending | running | done | failed; "unknown" when unreadable)."""

    state: str
    raw: dict = field(default_factory=dict)

    @classmethod
    def of(cls, value: Any) -> "Status":
        raw = value if isinstance(value, dict) else {}
        state = raw.get("state", "unknown")
        return cls(state if isinstance(state, str) else "unknown", raw)


@dataclass(frozen=True)
class Scores:
    """scores.json: what verify, compare and the report read of it."""

    metrics: dict
    raw: dict

    @property
    def also(self) -> dict:
        also = self.raw.get("also")
        return also if isinstance(also, dict) else {}

    @classmethod
    def of(cls, value: Any) -> "Scores | None":
        """None when ``value`` is not a scores.json with metrics."""
        raw = usable(value)
        if raw is None or not isinstance(raw.get("metrics"), dict):
            return None
        return cls(raw["metrics"], raw)


def _key(value: Any) -> str | None:
    return value.get("key") if isinstance(value, dict) else None


@dataclass(frozen=True)
class Spec:
    """spec.json: who and what the run is; ``raw`` is the resolved spec (what the run id hashes)."""

    model: str | None
    dataset: str | None
    task: str | None
    mode: str | None
    scoring: dict
    raw: dict

    @classmethod
    def of(cls, value: Any) -> "Spec | None":
        """None when ``value`` is not a readable JSON object."""
        raw = usable(value)
        if raw is None:
            return None
        dataset = raw.get("dataset") if isinstance(raw.get("dataset"), dict) else {}
        protocol = raw.get("protocol") if isinstance(raw.get("protocol"), dict) else {}
        scoring = protocol.get("scoring") if isinstance(protocol.get("scoring"), dict) else {}
        return cls(_key(raw.get("model")), _key(dataset), dataset.get("task"), protocol.get("mode"), scoring, raw)


@dataclass(frozen=True)
class Receipt:
    """receipt.json: whose run it is and the hash that pins its predictions (None when not recorded)."""

    run_id: Any
    model: Any
    dataset: Any
    predictions_sha256: str | None
    raw: dict

    @classmethod
    def of(cls, value: Any) -> "Receipt | None":
        raw = usable(value)
        if raw is None:
            return None
        outputs = raw.get("outputs") if isinstance(raw.get("outputs"), dict) else {}
        return cls(raw.get("run_id"), raw.get("model"), raw.get("dataset"), outputs.get("predictions_sha256"), raw)


def is_run_folder(path: Path) -> bool:
    """Something called spec.json is there (a broken one is reported by verify, not skipped)."""
    return os.path.lexists(Path(path) / names.SPEC)


def run_dirs(results: Path) -> list[Path]:
    """Run folders of a results folder (or the one run folder given)."""
    results = Path(results)
    if not results.is_dir():
        return []
    if is_run_folder(results):  # one run's folder given where a workdir is expected
        return [results]
    return sorted(p for p in results.iterdir() if p.is_dir() and is_run_folder(p))


class RunFolder:
    """A run folder, read: every file through one method, checked as runs/validate.py says."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._read: dict[str, tuple] = {}  # file name -> (value, None) or (None, the Unusable it raised)
        self._predictions: bytes | None = None
        self._table = None

    def _json(self, path: Path) -> Any:
        """validate.read_json of one of this run's files, read once."""
        if path.name not in self._read:
            try:
                self._read[path.name] = (validate.read_json(path), None)
            except Unusable as exc:
                self._read[path.name] = (None, exc)
        value, problem = self._read[path.name]
        if problem is not None:
            raise problem
        return value

    def _loose(self, path: Path) -> Any:
        try:
            return self._json(path)
        except Unusable:
            return {"_unreadable": str(path)}

    @classmethod
    def of(cls, workdir: str | Path, run_id: str) -> "RunFolder":
        return cls(Path(workdir) / run_id)

    name = property(lambda self: self.path.name)
    spec_file = property(lambda self: self.path / names.SPEC)
    status_file = property(lambda self: self.path / names.STATUS)
    receipt_file = property(lambda self: self.path / names.RECEIPT)
    scores_file = property(lambda self: self.path / names.SCORES)
    predictions_file = property(lambda self: self.path / names.PREDICTIONS)
    log_file = property(lambda self: self.path / names.LOG)
    files = property(lambda self: [self.path / n for n in validate.RUN_FILES])

    def has_spec(self) -> bool:
        return self.spec_file.is_file()

    def has_predictions(self) -> bool:
        return self.predictions_file.is_file()

    # loose reads: never raise; {"_unreadable": path} marks a file that cannot be used
    def spec_json(self) -> Any:
        return self._loose(self.spec_file)

    def scores_json(self) -> Any:
        return self._loose(self.scores_file)

    def receipt_json(self) -> Any:
        return self._loose(self.receipt_file)

    # typed reads: None when absent or unreadable
    def spec(self) -> Spec | None:
        return Spec.of(self.spec_json())

    def receipt(self) -> Receipt | None:
        return Receipt.of(self.receipt_json())

    def scores(self) -> Scores | None:
        return Scores.of(self.scores_json())

    # checked reads: Unusable with one line when a file is there but cannot be used
    def checked_spec(self) -> dict:
        spec = self._json(self.spec_file)
        problem = validate.spec_problem(spec, self.spec_file) if spec is not None else f"{self.spec_file} is missing"
        if problem:
            raise Unusable(problem)
        return spec

    def checked_receipt(self) -> Any:
        return self._json(self.receipt_file)

    def status(self) -> Status:
        return Status.of(self._json(self.status_file))

    def files_problem(self) -> str | None:
        """Why one of the run's files is not a plain file within its size limit, or None."""
        for path in self.files:
            if os.path.lexists(path):
                limit = validate.MAX_PREDICTIONS_BYTES if path.name == names.PREDICTIONS else validate.MAX_JSON_BYTES
                problem = validate.file_problem(path, limit)
                if problem:
                    return problem
        return None

    # predictions: read once, shared by every use in this process
    def predictions_bytes(self) -> bytes:
        if self._predictions is None:
            self._predictions = predictions_bytes(self.predictions_file)
        return self._predictions

    def predictions(self):
        """The checked PredictionTable (scoring/files.py) of predictions.jsonl, parsed once."""
        from bioeval.scoring.files import read_predictions

        if self._table is None:
            try:
                data = self.predictions_bytes()
            except OSError:  # read_predictions says why, in its words
                data = None
            self._table = read_predictions(self.predictions_file, data=data)
        return self._table

    def prediction_rows(self) -> list:
        """predictions.jsonl's records as JSON values (ValueError or OSError when it cannot be read)."""
        text = self.predictions_bytes().decode("utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def mtime(self) -> float:
        """When the run last wrote its results (spec, predictions or scores)."""
        times = [p.lstat().st_mtime for p in (self.scores_file, self.predictions_file, self.spec_file)
                 if os.path.lexists(p)]
        return max(times, default=0.0)
