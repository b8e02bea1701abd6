"""Trivial baselines of the smoke test sets under the manifest's scorer (what LoRA must beat).

    python bench/baselines.py                                   # best constant / all-O F1 per task
    python bench/baselines.py --results RUNS --figure out.png   # + the smoke runs' F1 beside them
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bioeval.scoring import Prediction, get_scorer, score  # noqa: E402


def best_constant(train: list[dict], test: list[dict], scorer) -> tuple[str, float]:
    """The best single answer given to every test instance (candidates: train responses and their parts)."""
    candidates = {r["response"] for r in train} | {part for r in train for part in r["response"].split(", ")}
    best = ("", -1.0)
    for c in sorted(candidates):
        f1 = score(scorer, [Prediction(str(i), c, r["response"]) for i, r in enumerate(test)]).f1
        if f1 > best[1]:
            best = (c, f1)
    return best


def all_o(test: list[dict], scorer) -> float:
    """NER: every token tagged O (id 0), with the right length."""
    preds = [Prediction(str(i), str([0] * len(ast.literal_eval(r["inputsentence"]))), r["response"])
             for i, r in enumerate(test)]
    return score(scorer, preds).f1


def baselines(data_dir: Path = REPO / "assets" / "smoke-data") -> dict[str, dict]:
    scorer = get_scorer("zhan2024-set-f1")
    out = {}
    for task in ("EE", "RE", "NER", "TC"):
        train = json.loads((data_dir / f"smoke_{task}_train.json").read_text())
        test = json.loads((data_dir / f"smoke_{task}_test.json").read_text())
        answer, f1 = best_constant(train, test, scorer)
        row = {"best_constant": answer, "best_constant_f1": f1}
        if task == "NER":
            row["all_o_f1"] = all_o(test, scorer)
        row["best_trivial_f1"] = max(v for k, v in row.items() if k.endswith("_f1"))
        out[task] = row
    return out


def smoke_f1(results: Path) -> dict[str, float]:
    out = {}
    for path in results.glob("*/scores.json"):
        scores = json.loads(path.read_text())
        out[scores["task"]] = scores["metrics"]["f1"]
    return out


def figure(rows: dict[str, dict], lora: dict[str, float], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(rows)
    x = range(len(tasks))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar([i - 0.2 for i in x], [rows[t]["best_trivial_f1"] for t in tasks], 0.4, label="best trivial baseline",
           color="#bbbbbb")
    ax.bar([i + 0.2 for i in x], [lora.get(t, 0) for t in tasks], 0.4, label="LoRA on the tiny model", color="#3b75af")
    for i, t in enumerate(tasks):
        ax.text(i + 0.2, lora.get(t, 0) + 0.02, f"{lora.get(t, 0):.2f}", ha="center", fontsize=8)
        ax.text(i - 0.2, rows[t]["best_trivial_f1"] + 0.02, f"{rows[t]['best_trivial_f1']:.2f}", ha="center", fontsize=8)
    ax.set_xticks(list(x), tasks)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("test F1 (zhan2024-set-f1)")
    ax.set_title("Smoke reproduction: F1 against the best trivial answer")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--results", type=Path, default=None, help="workdir of a smoke run")
    ap.add_argument("--figure", type=Path, default=None)
    a = ap.parse_args()
    rows = baselines()
    lora = smoke_f1(a.results) if a.results else {}
    for task, row in rows.items():
        extra = f"  LoRA F1 {lora[task]:.4f} (margin {lora[task] - row['best_trivial_f1']:+.3f})" if task in lora else ""
        print(task, json.dumps(row) + extra)
    if a.figure:
        figure(rows, lora, a.figure)
        print(f"wrote {a.figure}")
