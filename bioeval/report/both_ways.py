"""The report's "scored both ways" table: each reproduced cell under the protocol's scorer and
under every further scorer of ``scoring.also`` (scores.json's "also" block), side by side, with
the protocol mode so zero-shot and fine-tuned cells of one dataset read as a comparison."""

from __future__ import annotations

from bioeval.runs.read import RunFolder, Spec, usable


def _folder(verification: dict, run_id: str) -> RunFolder:
    """The RunFolder verify read (its files are not read again), else the run's folder."""
    folder = verification.folder(run_id) if hasattr(verification, "folder") else None
    return folder or RunFolder.of(verification["results"], run_id)


def _scores(verification: dict, run_id: str) -> dict | None:
    return usable(_folder(verification, run_id).scores_json())


def _mode(verification: dict, run_id: str) -> str:
    spec = Spec.of(_folder(verification, run_id).spec_json())
    return "?" if spec is None or spec.mode is None else spec.mode


def _f(x) -> str:
    return "–" if x is None else f"{x:.4f}"


def both_ways_section(verification: dict) -> list[str]:
    """Markdown lines; empty when no reproduced cell has an "also" block."""
    results = verification.get("results")
    seen, rows = set(), []
    for row in verification.get("cells", []) + verification.get("unexpected", []):
        run_id = row.get("run_id")
        if not results or not run_id or run_id in seen or row.get("observed", 0) is None:
            continue
        seen.add(run_id)
        scores = _scores(verification, run_id)
        if not scores or not scores.get("also"):
            continue
        m = scores.get("metrics", {})
        for name, block in scores["also"].items():
            a = block.get("metrics", {})
            ci = (block.get("ci") or {}).get("f1")
            rows.append([row.get("paper_model", row["model"]), row.get("paper_dataset", row["dataset"]),
                         _mode(verification, run_id),
                         f"{_f(m.get('precision'))} / {_f(m.get('recall'))} / {_f(m.get('f1'))}", name,
                         f"{_f(a.get('precision'))} / {_f(a.get('recall'))} / {_f(a.get('f1'))}"
                         + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else ""),
                         f"{block.get('n', '–')} ({block.get('skipped', 0)} skipped, {block.get('invalid', 0)} invalid)"])
    if not rows:
        return []
    scorer = next((s.get("scorer") for s in [_scores(verification, r) for r in seen] if s), "the protocol's scorer")
    header = ["Model", "Dataset", "Mode", f"{scorer} P / R / F1", "Canonical scorer", "Its P / R / F1 (95% CI of F1)", "n"]
    lines = ["### Scored both ways", "",
             f"Each cell under the protocol's scorer ({scorer}, the one verified above) and under the canonical "
             "scorer of its task (`scoring.also`: reported, not verified).  Zero-shot and fine-tuned cells of a "
             "dataset are rows of the same dataset.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows.sort(key=lambda r: (r[1], r[2], r[0]))
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines + [""]
