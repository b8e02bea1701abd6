"""Find a cell's result in a results folder, and re-score saved predictions when scores are absent.

Layout (written by the engine): ``<results>/<run_id>/{spec,scores,status,receipt}.json`` and
``predictions.jsonl``.  A cell is found by its run id first; when the protocol changed since the
run (a new run id) it is found by its (model, dataset) keys in spec.json, and the verdict says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bioeval.errors import BioevalError
from bioeval.runs import read_json

MATCH_RUN_ID = "run-id"
MATCH_KEYS = "keys"


@dataclass
class Result:
    run_id: str
    path: Path
    matched_by: str  # "run-id" | "keys"
    scores: dict | None  # scores.json, or a re-score of predictions.jsonl; None when neither exists
    spec: dict = field(default_factory=dict)
    state: str = "unknown"
    rescored: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> dict:
        return (self.scores or {}).get("metrics", {})

    def receipt(self) -> dict | None:
        return _read(self.path / "receipt.json")


def _read(path: Path):
    try:
        return read_json(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"_unreadable": str(path)}


def run_dirs(results: Path) -> list[Path]:
    if not results.is_dir():
        return []
    if (results / "spec.json").is_file():  # one run's folder given where a workdir is expected
        return [results]
    return sorted(p for p in results.iterdir() if p.is_dir() and (p / "spec.json").is_file())


def keys_of(spec: dict | None) -> tuple[str | None, str | None]:
    spec = spec or {}
    return (spec.get("model") or {}).get("key"), (spec.get("dataset") or {}).get("key")


class ResultIndex:
    """All runs of one results folder, indexed by run id and by (model, dataset) keys."""

    def __init__(self, results: str | Path):
        self.root = Path(results)
        self.by_id: dict[str, Path] = {}
        self.by_keys: dict[tuple, list[Path]] = {}
        for d in run_dirs(self.root):
            spec = _read(d / "spec.json")
            self.by_id[d.name] = d
            self.by_keys.setdefault(keys_of(spec), []).append(d)

    def find(self, run_id: str, model: str, dataset: str, scorer=None) -> Result | None:
        """The cell's result, or None when the folder has no run of it.

        ``scorer`` (a Scorer) is used to re-score predictions.jsonl when scores.json is absent.
        """
        if run_id in self.by_id:
            return load_result(self.by_id[run_id], MATCH_RUN_ID, scorer)
        candidates = self.by_keys.get((model, dataset), [])
        if not candidates:
            return None
        loaded = [load_result(d, MATCH_KEYS, scorer) for d in candidates]
        # prefer runs with scores, then the newest (by scores/predictions mtime)
        loaded.sort(key=lambda r: (r.scores is not None, _mtime(r.path)), reverse=True)
        best = loaded[0]
        best.notes.insert(0, f"matched by model/dataset keys, not run id (the protocol changed since run {best.run_id})")
        if len(loaded) > 1:
            best.notes.append(f"{len(loaded)} runs of this model x dataset; used the newest with scores")
        return best

    def pairs(self) -> dict[tuple, Path]:
        """(model, dataset) -> the newest run dir, for `compare`."""
        return {k: max(v, key=_mtime) for k, v in self.by_keys.items() if k != (None, None)}


def _mtime(path: Path) -> float:
    times = [p.stat().st_mtime for p in (path / "scores.json", path / "predictions.jsonl", path / "spec.json") if p.exists()]
    return max(times, default=0.0)


def load_result(path: Path, matched_by: str, scorer=None) -> Result:
    spec = _read(path / "spec.json") or {}
    status = _read(path / "status.json") or {}
    result = Result(path.name, path, matched_by, _read(path / "scores.json"), spec, status.get("state", "unknown"))
    if result.scores is not None and ("_unreadable" in result.scores or not isinstance(result.scores.get("metrics"), dict)):
        result.notes.append(f"{path / 'scores.json'} is unreadable or has no metrics")
        result.scores = None
    if result.scores is None and (path / "predictions.jsonl").is_file():
        try:
            result.scores = rescore(path, spec, scorer)
        except BioevalError as exc:  # a broken predictions file is this cell's problem, not the report's
            result.notes.append(f"re-scoring predictions.jsonl failed: {exc}")
            return result
        result.rescored = True
        result.notes.append("scores.json absent: re-scored from predictions.jsonl")
    return result


def rescore(path: Path, spec: dict, scorer=None) -> dict:
    """scores.json's shape, computed from predictions.jsonl (no GPU needed)."""
    from bioeval.scoring import scorer_from_spec
    from bioeval.scoring.files import counts_from_records, read_records, with_ci

    scorer = scorer or scorer_from_spec(spec)
    scoring = spec.get("protocol", {}).get("scoring", {})
    counts = counts_from_records(scorer, read_records(path / "predictions.jsonl"), f"{path / 'predictions.jsonl'}: ")
    s = with_ci(counts, resamples=int(scoring.get("bootstrap_resamples", 1000)),
                level=float(scoring.get("ci_level", 0.95)), seed=int(scoring.get("bootstrap_seed", 0)))
    model, dataset = keys_of(spec)
    return {"run_id": path.name, "model": model, "dataset": dataset, "task": spec.get("dataset", {}).get("task"),
            "scorer": scorer.name, "metrics": s.metrics(), "n": s.n, "skipped": s.skipped, "invalid": s.invalid,
            "ci": s.ci, "selected_checkpoint": None, "select_on": None, "rescored": True}
