"""Per-instance views of saved runs: what a model answered, what it got wrong, what flipped.

Everything is computed from a run folder's own files (spec.json names the scorer and its
labels; predictions.jsonl holds the answers) with the scoring package's public functions, so
`show`, `score RUN_DIR`, `compare --instances` and the HTML report count exactly as the
engine did.
"""

from __future__ import annotations

from pathlib import Path

from bioeval.errors import UsageError
from bioeval.runs import names
from bioeval.runs.read import RunFolder, Spec, usable

COMPLETION_CHARS = 2000  # a runaway completion is cut for display (the file keeps all of it)


def run_folder(path) -> Path:
    """A run's folder (spec.json + predictions.jsonl), or a UsageError saying what to give instead."""
    path = Path(path)
    if path.is_file() and path.name in (names.PREDICTIONS, names.SPEC, names.SCORES):
        path = path.parent
    if not path.is_dir():
        raise UsageError(f"{path}: no such run folder.", "Give a run's folder: <workdir>/<run_id> (see `bioeval status WORKDIR`).")
    if not RunFolder(path).has_spec():
        runs = sorted(p.name for p in path.iterdir() if RunFolder(p).has_spec())
        hint = (f"{path} looks like a workdir with {len(runs)} run(s); give one of them, e.g. {path / runs[0]}."
                if runs else "Give a run's folder: <workdir>/<run_id>, which holds spec.json and predictions.jsonl.")
        raise UsageError(f"{path} is not a run folder (no spec.json).", hint)
    if not RunFolder(path).has_predictions():
        raise UsageError(f"{path} has no predictions.jsonl (the run did not finish).",
                         f"Check `bioeval status {path.parent}`; rerun the cell to finish it.")
    return path


def _spec(run: Path | RunFolder) -> dict:
    folder = run if isinstance(run, RunFolder) else RunFolder(run)
    spec = usable(folder.spec_json())
    if spec is None:
        raise UsageError(f"{folder.spec_file} is unreadable.", "Rerun the cell, or score its predictions with "
                         "`bioeval score --scorer NAME FILE`.")
    return spec


def scorer_of(run: Path | RunFolder, name: str | None = None):
    from bioeval.scoring import scorer_from_spec

    return scorer_from_spec(_spec(run), name)


def instances(run, scorer=None, folder: RunFolder | None = None) -> list[dict]:
    """One row per test instance: id, gold, prediction, completion, truncation, counts (None when skipped).

    Counted by the scoring package's one path (read_predictions + count_table): the same numbers
    as scores.json.  "prediction" is the record's own prediction field where it has one (the
    engine writes the first line), else the answer's first line; "completion" is what the scorer saw."""
    from bioeval.scoring.files import count_table

    run = run_folder(run)
    folder = folder or RunFolder(run)
    scorer = scorer or scorer_of(folder)
    table = folder.predictions()
    counts = count_table(scorer, table).as_dict()
    raw = folder.prediction_rows()
    out = []
    for i, rid in enumerate(table.ids):
        answer = table.answers[i]
        record = raw[i] if i < len(raw) and isinstance(raw[i], dict) else {}
        prediction = record.get("prediction") if isinstance(record.get("prediction"), str) else \
            answer.split("\n", 1)[0].strip()
        k = counts.get(rid)
        item = {"id": rid, "gold": table.references[i], "prediction": prediction,
                "completion": answer[:COMPLETION_CHARS], "completion_cut": len(answer) > COMPLETION_CHARS,
                "prompt_truncated": table.truncated[i], "input_cut": record.get("input_cut") is True,
                "skipped": k is None,
                "correct": None if k is None else k[0], "predicted": None if k is None else k[1],
                "gold_items": None if k is None else k[2], "invalid": None if k is None else bool(k[3])}
        item["error"] = k is not None and not (k[0] == k[1] == k[2] and not k[3])
        out.append(item)
    return out


def show_run(run, errors: bool = False, limit: int | None = None) -> dict:
    """`bioeval show` data: the run's keys and scorer, counts over all instances, and the rows asked for."""
    run = run_folder(run)
    folder = RunFolder(run)
    spec = Spec.of(_spec(folder))
    scorer = scorer_of(folder)
    rows = instances(run, scorer, folder)
    chosen = [r for r in rows if r["error"]] if errors else rows
    return {"run": str(run), "run_id": run.name, "model": spec.model, "dataset": spec.dataset, "task": spec.task,
            "scorer": scorer.name, "total": len(rows), "errors": sum(r["error"] for r in rows),
            "skipped": sum(r["skipped"] for r in rows), "truncated": sum(bool(r["prompt_truncated"]) for r in rows),
            "input_cut": sum(r["input_cut"] for r in rows),
            "invalid": sum(bool(r["invalid"]) for r in rows), "shown": len(chosen[:limit] if limit else chosen),
            "instances": chosen[:limit] if limit else chosen}


def score_run(run, scorer_name: str | None = None, resamples: int | None = None, level: float | None = None,
              seed: int | None = None):
    """(scorer, Score) of a run folder, with the bootstrap settings of its spec unless given."""
    from bioeval.scoring.files import score_table

    run = run_folder(run)
    folder = RunFolder(run)
    scoring = Spec.of(_spec(folder)).scoring
    scorer = scorer_of(folder, scorer_name)
    result = score_table(scorer, folder.predictions(),
                        resamples=int(resamples if resamples is not None else scoring.get("bootstrap_resamples", 1000)),
                        level=float(level if level is not None else scoring.get("ci_level", 0.95)),
                        seed=int(seed if seed is not None else scoring.get("bootstrap_seed", 0)))
    return scorer, result


def flips(run_a, run_b, scorer=None) -> list[dict]:
    """Instances both runs scored whose outcome changed: "fixed" (wrong in A, right in B) or "broken"."""
    a = {r["id"]: r for r in instances(run_a, scorer) if not r["skipped"]}
    b = {r["id"]: r for r in instances(run_b, scorer or scorer_of(run_folder(run_a))) if not r["skipped"]}
    out = []
    for i in a.keys() & b.keys():
        ra, rb = a[i], b[i]
        if ra["error"] == rb["error"] and (ra["correct"], ra["predicted"]) == (rb["correct"], rb["predicted"]):
            continue
        direction = ("fixed" if ra["error"] and not rb["error"] else "broken" if rb["error"] and not ra["error"]
                     else "better" if _f1(rb) > _f1(ra) else "worse" if _f1(rb) < _f1(ra) else "changed")
        out.append({"id": i, "direction": direction, "gold": ra["gold"], "a": ra["prediction"], "b": rb["prediction"],
                    "a_counts": [ra["correct"], ra["predicted"], ra["gold_items"]],
                    "b_counts": [rb["correct"], rb["predicted"], rb["gold_items"]]})
    order = {"broken": 0, "worse": 1, "changed": 2, "better": 3, "fixed": 4}
    return sorted(out, key=lambda r: (order[r["direction"]], _natural(r["id"])))


def _f1(row: dict) -> float:
    """The instance's own F1 (2 correct / (predicted + gold)): orders partial answers."""
    total = row["predicted"] + row["gold_items"]
    return 2 * row["correct"] / total if total else 1.0


def _natural(i: str) -> list:
    """test-5 before test-21: digit runs compare as numbers."""
    import re

    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", str(i)) if part]
