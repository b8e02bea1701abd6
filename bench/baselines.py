"""Trivial baselines of the smoke test sets under the manifest's scorer (what LoRA must beat).

    python bench/baselines.py            # prints best constant / all-O F1 per smoke dataset
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
        train = json.loads((data_dir / f"{task}_smoke_train.json").read_text())
        test = json.loads((data_dir / f"{task}_smoke_test.json").read_text())
        answer, f1 = best_constant(train, test, scorer)
        row = {"best_constant": answer, "best_constant_f1": f1}
        if task == "NER":
            row["all_o_f1"] = all_o(test, scorer)
        row["best_trivial_f1"] = max(v for k, v in row.items() if k.endswith("_f1"))
        out[task] = row
    return out


if __name__ == "__main__":
    for task, row in baselines().items():
        print(task, json.dumps(row))
