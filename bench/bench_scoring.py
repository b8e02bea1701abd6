"""Benchmark: re-score 1M predictions from a JSON-lines file, bootstrap included.

    python bench/bench_scoring.py [N] [set,ner,ner-testset,binary,label] [--repeat R] [--figure PNG]

Writes N synthetic predictions per kind to a temp file, then times `score_file` (read + check
every record + score + 1,000 bootstrap resamples) R times for each; --figure draws the wall
times against the 5 s budget, with the machine in the title.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path

from bioeval.memory import reuse_freed_memory
from bioeval.scoring import get_scorer
from bioeval.scoring.files import score_file

TYPES = ["Adverse_event", "Potential_therapeutic_event", "Binding", "Gene_expression", "Regulation", ""]
NER_LABELS = ["O", "B-Chemical", "B-Disease", "I-Disease", "I-Chemical"]
RELATIONS = ["DDI-effect", "DDI-mechanism", "DDI-advise", "DDI-int", "DDI-false"]
POS, NEG = "the tweet is self-reporting breast cancer", "the tweet is not self-reporting breast cancer"


def rows(kind: str, n: int, rng: random.Random):
    # mostly O, as real NER data (BC5CDR: ~85% of tokens)
    test_set = [[rng.choice([0] * 12 + [1, 2, 3, 4]) for _ in range(rng.randint(5, 40))] for _ in range(1000)]
    for i in range(n):
        if kind == "set":
            gold = ", ".join(rng.sample(TYPES, rng.randint(1, 2)))
            pred = gold if rng.random() < 0.7 else ", ".join(rng.sample(TYPES, rng.randint(1, 3)))
        elif kind == "ner-testset":  # 1,000 test sentences scored by many runs: gold sequences repeat
            tags = test_set[i % len(test_set)]
            gold = str(tags)
            pred = gold if rng.random() < 0.7 else str([t if rng.random() < 0.9 else rng.choice([0, 1, 2]) for t in tags])
        elif kind == "ner":
            tags = [rng.choice([0, 0, 0, 1, 2, 3, 4]) for _ in range(rng.randint(5, 30))]
            gold = str(tags)
            pred = gold if rng.random() < 0.6 else str([rng.choice([0, 0, 1, 2]) for _ in tags])
        elif kind == "label":  # relation classification (DDI), answers in several spellings
            gold = rng.choice(RELATIONS)
            pred = gold if rng.random() < 0.8 else rng.choice(RELATIONS)
            pred = rng.choice([pred, pred.lower(), pred + ".", f'"{pred}"', f"{pred}, {rng.choice(RELATIONS)}"])
        else:
            g = rng.random() < 0.3
            gold = "1" if g else "0"
            pred = (POS if rng.random() < 0.8 else NEG) if g else (NEG if rng.random() < 0.9 else "I cannot tell.")
        yield {"id": str(i), "completion": pred + "\n", "reference": gold, "prompt_truncated": rng.random() < 0.001}


def kind_help() -> str:
    return ("set: multi-label event types; ner: every tag sequence distinct and random (worst case); "
            "ner-testset: a 1,000-sentence test set scored by many runs; binary: Guo & Sarker phrases; "
            "label: DDI relation labels in several spellings (label-accuracy)")


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return f"{model}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"


def main() -> None:
    reuse_freed_memory()  # as the `bioeval` command does
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("kinds", nargs="?", default="set,ner,ner-testset,binary,label")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()
    n, rng = args.n, random.Random(0)
    scorers = {"set": get_scorer("zhan2024-set-f1"), "ner": get_scorer("ner-entity-f1", labels=NER_LABELS),
               "ner-testset": get_scorer("ner-entity-f1", labels=NER_LABELS),
               "binary": get_scorer("binary-prf", positive_phrases=[POS], negative_phrases=[NEG]),
               "label": get_scorer("label-accuracy")}
    walls: dict[str, list[float]] = {}
    print(f"# {machine()}\n# {kind_help()}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds.split(","):
            scorer = scorers[kind]
            path = Path(tmp) / f"{kind}.jsonl"
            with open(path, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows(kind, n, rng))
            for _ in range(args.repeat):
                start, cpu = time.perf_counter(), time.process_time()
                result = score_file(scorer, path)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                walls.setdefault(kind, []).append(elapsed)
                print(f"{kind:12s} {scorer.name:16s} n={n:>9,d}  wall {elapsed:6.2f} s  cpu {cpu:6.2f} s  "
                      f"({elapsed / n * 1e6:.2f} us/prediction)  F1={result.f1:.4f} "
                      f"ci=[{result.ci['f1'][0]:.4f}, {result.ci['f1'][1]:.4f}]", flush=True)
            path.unlink()
    if args.figure:
        figure(walls, n, args.figure)


def figure(walls: dict[str, list[float]], n: int, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = list(walls)
    medians = [statistics.median(walls[k]) for k in kinds]
    low = [m - min(walls[k]) for k, m in zip(kinds, medians)]
    high = [max(walls[k]) - m for k, m in zip(kinds, medians)]
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(kinds) + 1.6))
    ax.barh(kinds, medians, xerr=[low, high], color="#4c72b0", capsize=4)
    ax.axvline(5.0, color="#c44e52", linestyle="--", label="budget 5 s")
    ax.set_xlabel(f"wall s: {n:,d} predictions re-scored, 1,000 bootstrap resamples "
                  f"(median; min-max of {len(next(iter(walls.values())))})")
    ax.set_title(machine(), fontsize=9)
    ax.invert_yaxis()
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"figure: {out}")


if __name__ == "__main__":
    main()
