"""What a run would score without learning anything: the best trivial baseline on the very
instances it scored (their references in predictions.jsonl), under the cell's own scorer.

The candidates are the audit's (audit/datasets.py `baselines`): the most frequent reference, the
best of the 20 most frequent references as a constant answer (an oracle: chosen on these
instances, so an upper bound for any constant), and all-O for tag-list NER.  A model that does
not clear the best of them by a margin has learned the answer format at most (issue 26).
"""

from __future__ import annotations

from bioeval.runs.read import RunFolder

SKIP_LIMIT = 0.05  # a cell skipping more of its test instances says so


def run_baseline(run: RunFolder, cell, scorer) -> dict | None:
    """{"name", "constant", "f1", "precision", "recall", "n"} of the best trivial baseline on the
    run's predictions, or None when they cannot be read (verify reports that elsewhere)."""
    from bioeval.audit.datasets import answer_for, baselines
    from bioeval.data.instances import Instance

    try:
        rows = run.prediction_rows()
    except (OSError, ValueError):
        return None
    test = [Instance(str(r.get("id")), "", "", r["reference"]) for r in rows
            if isinstance(r, dict) and isinstance(r.get("reference"), str) and r.get("prompt_truncated") is not True]
    if not test:
        return None
    best = max(baselines(cell.dataset, scorer, None, test, answer_for(cell.protocol.scoring, cell.dataset)),
               key=lambda b: b["f1"])
    return {"name": best["name"], "constant": best["constant"], "f1": best["f1"], "precision": best["precision"],
            "recall": best["recall"], "n": len(test), "answer_parse_rate": parse_rate(rows)}


def _items(text: str) -> set[str]:
    return {x.strip() for x in text.strip().strip("[]").split(",")}


def parse_rate(rows: list[dict]) -> float | None:
    """The share of answers (first line) made only of items the references use: labels for
    RE / TC / EE, tag ids for NER.  A zero-shot model that answers in sentences scores 0 here,
    which says why its F1 is 0 (wrong format, not wrong labels)."""
    scored = [r for r in rows if isinstance(r, dict) and isinstance(r.get("reference"), str)
              and r.get("prompt_truncated") is not True]
    vocabulary = set().union(*(_items(r["reference"]) for r in scored)) if scored else set()
    answers = [r.get("completion", r.get("prediction")) for r in scored]
    answers = [a.split("\n", 1)[0] for a in answers if isinstance(a, str)]
    if not answers:
        return None
    return sum(_items(a) <= vocabulary for a in answers) / len(answers)


def skip_note(scores: dict | None) -> str | None:
    """A note when more than SKIP_LIMIT of a run's test instances were skipped (truncated prompts)."""
    if not isinstance(scores, dict):
        return None
    skipped, n = scores.get("skipped") or 0, scores.get("n") or 0
    if not isinstance(skipped, int) or not isinstance(n, int) or not skipped or skipped <= SKIP_LIMIT * (n + skipped):
        return None
    return (f"{skipped} of {n + skipped} test instances skipped ({100 * skipped / (n + skipped):.0f}%): their prompts "
            "lost the response marker at max_prompt_tokens (prompt.truncation: cut-input keeps it)")


def baseline_note(observed: float | None, baseline: dict | None, margin: float) -> str | None:
    """A note when the reproduced F1 does not clear the trivial baseline by `margin`."""
    if observed is None or baseline is None or observed - baseline["f1"] >= margin - 1e-12:
        return None
    what = "all-O tags" if baseline["name"] == "all-O" else f"always answering {baseline['constant']!r}"[:80]
    return (f"F1 {observed:.3f} does not clear the best trivial baseline ({what}: {baseline['f1']:.3f} on the same "
            f"{baseline['n']} instances) by {margin:g} (expected_min_over_baseline)")
