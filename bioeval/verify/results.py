"""Find a cell's result in a results folder, and check it: scores are re-derived from predictions.

A run whose files do not chain (status not done, predictions missing or changed since the
receipt, a receipt without output hashes, scores.json disagreeing with its predictions), that
is not the cell's own (its folder name, spec.run_id, receipt.run_id and the run id recomputed
from spec.json disagree, or it names another model or dataset: runs/validate.py), or that
cannot be read (a folder where a file belongs, wrong JSON types, too deep, too large, a
symbolic link) gets ``Result.invalid``: one line saying why, and no scores (it is never
reproduced).  Nothing in one run folder stops the others from being checked.

Layout (written by the engine): ``<results>/<run_id>/{spec,scores,status,receipt}.json`` and
``predictions.jsonl``.  A cell is found by its run id first; when the protocol changed since the
run (a new run id) it is found by its (model, dataset) keys in spec.json, and the verdict says so.

A seed study (`run --seeds K`) writes K run directories per cell; runs 1..K-1 carry
``spec.json["replicate"] = {"index", "base_seed", "base_run_id"}``, so ``find_group`` returns
every run of a cell: the base run id and the replicates that name it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bioeval.errors import BioevalError
from bioeval.runs import validate
from bioeval.runs.read import RunFolder, Scores, run_dirs
from bioeval.errors import Unusable

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
    folder: RunFolder | None = None  # its files, read once (the baseline reuses the predictions re-scoring read)

    def __post_init__(self):
        self.folder = self.folder or RunFolder(self.path)

    @property
    def metrics(self) -> dict:
        return (self.scores or {}).get("metrics", {})

    def receipt(self):
        """receipt.json as read (None when absent, {"_unreadable": path} when it cannot be used)."""
        return self.folder.receipt_json()


def _spec(path: Path | RunFolder) -> dict:
    """spec.json when it has a run's shape, else {} (load_result says why the run is invalid)."""
    folder = path if isinstance(path, RunFolder) else RunFolder(path)
    spec = folder.spec_json()
    return spec if validate.spec_problem(spec, folder.path) is None else {}


def base_run_id(run_dir: Path, spec: dict | None) -> str:
    """The run id of the seed study's first run (the cell's own run id) for any of its runs."""
    replicate = (spec or {}).get("replicate") if isinstance(spec, dict) else None
    return str(replicate.get("base_run_id") or run_dir.name) if isinstance(replicate, dict) else run_dir.name


def replicate_index(spec: dict | None) -> int:
    replicate = (spec or {}).get("replicate") if isinstance(spec, dict) else None
    index = replicate.get("index") if isinstance(replicate, dict) else None
    return index if isinstance(index, int) else 0


def keys_of(spec: dict | None) -> tuple[str | None, str | None]:
    if validate.spec_problem(spec, Path()) is not None:
        return None, None
    return spec["model"]["key"], spec["dataset"]["key"]


class ResultIndex:
    """All runs of one results folder, indexed by run id and by (model, dataset) keys."""

    def __init__(self, results: str | Path):
        self.root = Path(results)
        self.by_id: dict[str, Path] = {}
        self.by_keys: dict[tuple, list[Path]] = {}
        self.by_base: dict[str, list[Path]] = {}  # base run id -> its seed study's run dirs, by seed index
        self.index_of: dict[Path, int] = {}
        self.folders: dict[Path, RunFolder] = {}  # each run's files, read once for verify, claims and the report
        for d in run_dirs(self.root):
            spec = _spec(self.folder(d))
            self.by_id[d.name] = d
            self.index_of[d] = replicate_index(spec)
            self.by_keys.setdefault(keys_of(spec), []).append(d)
            self.by_base.setdefault(base_run_id(d, spec), []).append(d)
        for dirs in self.by_base.values():
            dirs.sort(key=lambda p: (self.index_of[p], p.name))

    def folder(self, path: Path | RunFolder) -> RunFolder:
        """The one RunFolder of ``path`` (a run of this folder, or any other)."""
        path = path.path if isinstance(path, RunFolder) else Path(path)
        if path not in self.folders:
            self.folders[path] = RunFolder(path)
        return self.folders[path]

    def find_group(self, run_id: str, model: str, dataset: str, scorer=None, cell=None) -> tuple[list[Result], str | None]:
        """Every run of the cell (its seeds), and how they were matched; ([], None) when none.

        By run id: the cell's run and the replicates naming it (given ``cell``, each spec.json must
        be exactly that run's spec).  Else by (model, dataset) keys: the newest seed study of that
        pair (the protocol changed since those runs), with a note.  Every run must be of this
        model and dataset, and the runs of a seed study need distinct seeds.
        """
        if run_id in self.by_base:
            found = [load_result(d, MATCH_RUN_ID, scorer, model=model, dataset=dataset,
                                  cell=cell if d.name == run_id or cell is None else (cell, self.index_of[d]),
                                  folder=self.folder(d))
                      for d in self.by_base[run_id]]
            return _distinct_seeds(found), MATCH_RUN_ID
        candidates = self.by_keys.get((model, dataset), [])
        if not candidates:
            return [], None
        groups: dict[str, list[Path]] = {}
        for d in candidates:
            groups.setdefault(base_run_id(d, _spec(self.folder(d))), []).append(d)
        for dirs in groups.values():
            dirs.sort(key=lambda p: (self.index_of[p], p.name))
        newest = max(groups.values(), key=lambda ds: max(_mtime(d) for d in ds))
        found = _distinct_seeds([load_result(d, MATCH_KEYS, scorer, model=model, dataset=dataset,
                                              folder=self.folder(d)) for d in newest])
        found[0].notes.insert(0, f"matched by model/dataset keys, not run id (the protocol changed since run "
                                  f"{found[0].run_id})")
        if len(groups) > 1:
            found[0].notes.append(f"{len(groups)} protocols of this model x dataset in the folder; used the newest")
        return found, MATCH_KEYS

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
    return RunFolder(path).mtime()


def _distinct_seeds(results: list[Result]) -> list[Result]:
    """Mark a run invalid when an earlier valid run of its seed study has the same seed (a copy)."""
    seen: list[tuple[Path, dict]] = []
    for r in results:
        if r.invalid is None:
            why = validate.group_problem(seen + [(r.path, r.spec)])
            if why is not None:
                r.invalid, r.scores = f"run {r.run_id}: {why}", None
            else:
                seen.append((r.path, r.spec))
    return results


def load_result(path: Path, matched_by: str, scorer=None, *, model: str | None = None, dataset: str | None = None,
                cell=None, folder: RunFolder | None = None) -> Result:
    """One saved run, checked: its identity (runs/validate.py), then its scores are re-derived from
    predictions.jsonl (see check_run).  ``cell``: the manifest cell (or (cell, seed index)) whose
    exact spec the run must have.  Never raises for what is in the folder: a run that cannot be
    used gets ``invalid``, one line.  ``folder``: the run's RunFolder when its files were read already."""
    result = Result(path.name, path, matched_by, None, folder=folder)
    try:
        _load(result, scorer, model, dataset, cell)
    except Unusable as exc:
        result.invalid, result.scores = f"run {path.name}: {exc}", None
    except (Exception, RecursionError) as exc:  # a shape no check foresaw: this run's problem, not verify's
        result.invalid, result.scores = (f"run {path.name} cannot be checked ({type(exc).__name__}: "
                                         f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'})"), None
    return result


def _expected_spec(cell) -> dict:
    from bioeval.manifest.resolve import seed_variant

    cell, index = cell if isinstance(cell, tuple) else (cell, 0)
    return seed_variant(cell, index).spec


def _load(result: Result, scorer, model, dataset, cell) -> None:
    path, folder = result.path, result.folder
    spec = result.spec = folder.checked_spec()
    problem = validate.identity_problem(path, spec, folder.checked_receipt(), model=model, dataset=dataset)
    if problem is None and cell is not None:
        expected = _expected_spec(cell)
        if {k: v for k, v in spec.items() if k not in validate.SPEC_EXTRA} != expected:
            problem = f"{folder.spec_file} is not the spec of this cell's run (edited, or from another manifest)"
    if problem or (problem := folder.files_problem()):
        raise Unusable(problem)
    state = result.state = folder.status().state
    recorded = folder.scores_json()
    unreadable = recorded is not None and Scores.of(recorded) is None
    if unreadable:  # a broken cache of the predictions (it claims nothing readable): re-derive, as when absent
        result.notes.append(f"{folder.scores_file} is unreadable or has no metrics")
        recorded = None
    if recorded is None and not folder.predictions_file.exists():
        # nothing to re-derive: a run still pending (never started) is missing; anything else invalid
        if state not in ("pending", "done"):
            result.invalid = f"run {result.run_id} is not done (state {state})"
        elif unreadable:
            result.invalid = f"run {result.run_id}: scores.json is unreadable and there are no predictions to re-score"
        return
    derived, result.invalid = check_run(folder, result.spec, state, recorded, scorer)
    if result.invalid is not None:  # verify and compare show the reason
        return
    if recorded is None:
        result.scores, result.rescored = {**derived, "rescored": True}, True
        result.notes.append("scores.json absent: re-scored from predictions.jsonl")
    else:
        result.scores = recorded


def check_run(run: RunFolder | Path, spec: dict, state: str, recorded, scorer=None) -> tuple[dict | None, str | None]:
    """(scores re-derived from predictions.jsonl, None) or (None, why the run cannot be trusted).

    The chain: status done -> receipt.json present -> predictions.jsonl present and scorable ->
    its sha256 equals the one receipt.json (and scores.json) recorded -> every re-derived field
    of scores.json (scorer, metrics, n, skipped, invalid, ci) equals the recorded one.
    """
    from bioeval.errors import UsageError
    from bioeval.scoring import scorer_from_spec
    from bioeval.scoring.scores_json import build_scores, disagreement

    run = run if isinstance(run, RunFolder) else RunFolder(run)
    if state != "done":
        return None, f"run {run.name} is not done (state {state})"
    if not run.has_predictions():
        return None, "predictions.jsonl is missing: the scores cannot be re-derived"
    receipt = run.receipt()
    if receipt is None:
        return None, "receipt.json is missing or unreadable"
    problem = validate.receipt_problem(run.path, receipt.raw)
    if problem:  # without the pinned hash, edited predictions would re-derive edited scores
        return None, problem
    try:
        try:
            scorer = scorer_from_spec(spec)
        except UsageError:
            if scorer is None:
                raise
        derived = build_scores(run.name, spec, run.predictions(), scorer=scorer)
    except BioevalError as exc:  # a broken predictions file is this run's problem, not the whole verify's
        return None, f"predictions.jsonl cannot be scored: {exc.message}"
    pinned = receipt.predictions_sha256
    if pinned != derived["predictions_sha256"]:
        return None, (f"predictions.jsonl changed after the run (sha256 {derived['predictions_sha256'][:12]}..., "
                      f"receipt.json records {str(pinned)[:12]}...)")
    if recorded is not None:
        why = disagreement(recorded, derived)
        if why is not None:
            return None, why
    return derived, None
