"""Find a cell's result in a results folder, and check it: scores are re-derived from predictions.

A run whose files do not chain (status not done, predictions missing or changed since the
receipt, scores.json disagreeing with its predictions) gets ``Result.invalid``: one line
saying why, and no scores (it is never a PASS).

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
    invalid: str | None = None  # why the run cannot be trusted (tampered, incomplete); None when it checks out
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
        loaded.sort(key=lambda r: (r.invalid is None, r.scores is not None, _mtime(r.path)), reverse=True)
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
    """One saved run, checked: its scores are re-derived from predictions.jsonl (see check_run)."""
    spec = _read(path / "spec.json") or {}
    status = _read(path / "status.json") or {}
    state = status.get("state", "unknown") if isinstance(status, dict) else "unknown"
    result = Result(path.name, path, matched_by, None, spec if isinstance(spec, dict) else {}, state)
    recorded = _read(path / "scores.json")
    if recorded is None and not (path / "predictions.jsonl").exists():
        return result  # the run claims nothing (failed, running, never scored): missing, not invalid
    if recorded is not None and (not isinstance(recorded, dict) or "_unreadable" in recorded
                                 or not isinstance(recorded.get("metrics"), dict)):
        # a broken cache of the predictions (it claims nothing readable): re-derive, as when absent
        result.notes.append(f"{path / 'scores.json'} is unreadable or has no metrics")
        recorded = None
    derived, result.invalid = check_run(path, result.spec, state, recorded, scorer)
    if result.invalid is not None:
        result.notes.append(f"invalid: {result.invalid}")
        return result
    if recorded is None:
        result.scores, result.rescored = derived, True
        result.notes.append("scores.json absent: re-scored from predictions.jsonl")
    else:
        result.scores = recorded
    return result


def check_run(path: Path, spec: dict, state: str, recorded, scorer=None) -> tuple[dict | None, str | None]:
    """(scores re-derived from predictions.jsonl, None) or (None, why the run cannot be trusted).

    The chain: status done -> receipt.json present -> predictions.jsonl present and scorable ->
    its sha256 equals the one receipt.json (and scores.json) recorded -> every re-derived field
    of scores.json (metrics, n, skipped, invalid, ci) equals the recorded one.
    """
    from bioeval.errors import UsageError
    from bioeval.scoring import scorer_from_spec
    from bioeval.scoring.scores_json import build_scores, disagreement

    if state != "done":
        return None, f"status is {state!r}, not done: the run did not finish"
    if not (path / "predictions.jsonl").is_file():
        return None, "predictions.jsonl is missing: the scores cannot be re-derived"
    receipt = _read(path / "receipt.json")
    if not isinstance(receipt, dict) or "_unreadable" in receipt:
        return None, "receipt.json is missing or unreadable"
    try:
        try:
            scorer = scorer_from_spec(spec)
        except UsageError:
            if scorer is None:
                raise
        derived = build_scores(path.name, spec, path / "predictions.jsonl", scorer=scorer)
    except BioevalError as exc:  # a broken predictions file is this run's problem, not the whole verify's
        return None, f"predictions.jsonl cannot be scored: {exc.message}"
    pinned = (receipt.get("outputs") or {}).get("predictions_sha256")
    if pinned is not None and pinned != derived["predictions_sha256"]:
        return None, (f"predictions.jsonl changed after the run (sha256 {derived['predictions_sha256'][:12]}..., "
                      f"receipt.json records {str(pinned)[:12]}...)")
    if recorded is not None:
        why = disagreement(recorded, derived)
        if why is not None:
            return None, why
    return derived, None
