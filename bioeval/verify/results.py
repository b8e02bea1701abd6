"""Find a cell's result in a results folder, and re-score saved predictions when scores are absent.

Layout (written by the engine): ``<results>/<run_id>/{spec,scores,status,receipt}.json`` and
``predictions.jsonl``.  A cell is found by its run id first; when the protocol changed since the
run (a new run id) it is found by its (model, dataset) keys in spec.json, and the verdict says so.

A seed study (`run --seeds K`) writes K run directories per cell; runs 1..K-1 carry
``spec.json["replicate"] = {"index", "base_seed", "base_run_id"}``, so ``find_group`` returns
every run of a cell: the base run id and the replicates that name it.
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
    invalid: str | None = None  # why this run cannot be used (failed, unreadable, tampered); None when usable

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


def base_run_id(run_dir: Path, spec: dict | None) -> str:
    """The run id of the seed study's first run (the cell's own run id) for any of its runs."""
    replicate = (spec or {}).get("replicate") if isinstance(spec, dict) else None
    return str(replicate.get("base_run_id") or run_dir.name) if isinstance(replicate, dict) else run_dir.name


def replicate_index(spec: dict | None) -> int:
    replicate = (spec or {}).get("replicate") if isinstance(spec, dict) else None
    index = replicate.get("index") if isinstance(replicate, dict) else None
    return index if isinstance(index, int) else 0


def keys_of(spec: dict | None) -> tuple[str | None, str | None]:
    spec = spec or {}
    return (spec.get("model") or {}).get("key"), (spec.get("dataset") or {}).get("key")


class ResultIndex:
    """All runs of one results folder, indexed by run id and by (model, dataset) keys."""

    def __init__(self, results: str | Path):
        self.root = Path(results)
        self.by_id: dict[str, Path] = {}
        self.by_keys: dict[tuple, list[Path]] = {}
        self.by_base: dict[str, list[Path]] = {}  # base run id -> its seed study's run dirs, by seed index
        self.index_of: dict[Path, int] = {}
        for d in run_dirs(self.root):
            spec = _read(d / "spec.json")
            spec = spec if isinstance(spec, dict) else {}
            self.by_id[d.name] = d
            self.index_of[d] = replicate_index(spec)
            self.by_keys.setdefault(keys_of(spec), []).append(d)
            self.by_base.setdefault(base_run_id(d, spec), []).append(d)
        for dirs in self.by_base.values():
            dirs.sort(key=lambda p: (self.index_of[p], p.name))

    def find_group(self, run_id: str, model: str, dataset: str, scorer=None) -> tuple[list[Result], str | None]:
        """Every run of the cell (its seeds), and how they were matched; ([], None) when none.

        By run id: the cell's run and the replicates naming it.  Else by (model, dataset) keys: the
        newest seed study of that pair (the protocol changed since those runs), with a note.
        """
        if run_id in self.by_base:
            return [load_result(d, MATCH_RUN_ID, scorer) for d in self.by_base[run_id]], MATCH_RUN_ID
        candidates = self.by_keys.get((model, dataset), [])
        if not candidates:
            return [], None
        groups: dict[str, list[Path]] = {}
        for d in candidates:
            groups.setdefault(base_run_id(d, _read(d / "spec.json")), []).append(d)
        for dirs in groups.values():
            dirs.sort(key=lambda p: (self.index_of[p], p.name))
        newest = max(groups.values(), key=lambda ds: max(_mtime(d) for d in ds))
        loaded = [load_result(d, MATCH_KEYS, scorer) for d in newest]
        loaded[0].notes.insert(0, f"matched by model/dataset keys, not run id (the protocol changed since run "
                                  f"{loaded[0].run_id})")
        if len(groups) > 1:
            loaded[0].notes.append(f"{len(groups)} protocols of this model x dataset in the folder; used the newest")
        return loaded, MATCH_KEYS

    def seed_runs(self, run_dir: Path) -> int:
        """How many runs the seed study of this run's cell has in the folder (1 without a study)."""
        return max((len(dirs) for dirs in self.by_base.values() if run_dir in dirs), default=1)

    def pairs(self) -> dict[tuple, Path]:
        """(model, dataset) -> the newest run dir, for `compare`; a seed study counts by its base run."""
        bases = {d for dirs in self.by_base.values() for d in dirs[:1]}
        out = {}
        for k, v in self.by_keys.items():
            if k != (None, None):
                out[k] = max(v, key=lambda d: (d in bases, _mtime(d)))
        return out


def _mtime(path: Path) -> float:
    times = [p.stat().st_mtime for p in (path / "scores.json", path / "predictions.jsonl", path / "spec.json") if p.exists()]
    return max(times, default=0.0)


def load_result(path: Path, matched_by: str, scorer=None) -> Result:
    spec = _read(path / "spec.json") or {}
    status = _read(path / "status.json") or {}
    result = Result(path.name, path, matched_by, _read(path / "scores.json"), spec, status.get("state", "unknown"))
    unreadable = result.scores is not None and (
        "_unreadable" in result.scores or not isinstance(result.scores.get("metrics"), dict))
    if unreadable:
        result.notes.append(f"{path / 'scores.json'} is unreadable or has no metrics")
        result.scores = None
    if result.scores is None and (path / "predictions.jsonl").is_file():
        try:
            result.scores = rescore(path, spec, scorer)
        except BioevalError as exc:  # a broken predictions file is this cell's problem, not the report's
            result.notes.append(f"re-scoring predictions.jsonl failed: {exc}")
            result.invalid = f"predictions.jsonl cannot be scored: {exc}"
            return result
        result.rescored = True
        result.notes.append("scores.json absent: re-scored from predictions.jsonl")
    if result.invalid is None:
        result.invalid = _invalid_reason(result, unreadable)
    return result


def _invalid_reason(result: Result, unreadable_scores: bool) -> str | None:
    """A run that exists but cannot be trusted: not finished, or scores that cannot be read.

    A run still ``pending`` (created by Slurm, never started) has no result yet: missing, not invalid.
    """
    if result.state == "pending" and result.scores is None:
        return None
    if result.state != "done":
        return f"run {result.run_id} is not done (state {result.state})"
    if unreadable_scores and result.scores is None:
        return f"run {result.run_id}: scores.json is unreadable and there are no predictions to re-score"
    return None


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
