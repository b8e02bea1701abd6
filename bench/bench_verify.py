"""Benchmark: `verify` of the paper manifest against 144 saved cells, every one re-derived.

    python bench/bench_verify.py [MANIFEST] [--min 1000 --max 5000]

Builds a results folder in a temp dir as the engine leaves it (spec.json, status.json,
predictions.jsonl with 1,000-5,000 full completions per cell, scores.json from the one
builder, receipt.json with the hashes), then times `verify_manifest`, which re-scores every
cell's predictions (bootstrap included), checks the hash chain and compares with scores.json.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from bioeval.manifest import cells, load_manifest
from bioeval.memory import reuse_freed_memory
from bioeval.runs import RunDir, write_json
from bioeval.scoring.scores_json import build_scores
from bioeval.verify.verify import verify_manifest

REPO = Path(__file__).resolve().parents[1]
LABELS = ["Adverse_event", "Potential_therapeutic_event", "DDI-effect", "DDI-mechanism", "Chemical", "Disease",
          "Gene", "Binding", "Regulation", "false", "true", ""]


def completion(gold: str, rng: random.Random) -> str:
    """A model answer: often right, sometimes another label set, sometimes with a second line."""
    answer = gold if rng.random() < 0.7 else ", ".join(rng.sample(LABELS, rng.randint(1, 3)))
    return answer + rng.choice(["", "", "\n### Explanation: the sentence says so."])


def build(manifest: Path, root: Path, lo: int, hi: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    total = 0
    for cell in cells(load_manifest(manifest)):
        n = rng.randint(lo, hi)
        run = RunDir(root, cell.run_id)
        run.create({**cell.spec, "run_id": cell.run_id, "name": cell.name})
        with open(run.predictions, "w", encoding="utf-8") as f:
            for i in range(n):
                gold = ", ".join(rng.sample(LABELS, rng.randint(1, 2)))
                f.write(json.dumps({"id": f"{cell.dataset.key}-{i}", "prompt_sha256": "0" * 64,
                                    "completion": completion(gold, rng), "reference": gold,
                                    "prompt_truncated": rng.random() < 0.002}) + "\n")
        scores = build_scores(cell.run_id, cell.spec, run.predictions)
        write_json(run.scores, scores)
        write_json(run.receipt, {"outputs": {"predictions_sha256": scores["predictions_sha256"]}})
        run.set_status("done")
        total += n
    return total


def main() -> None:
    reuse_freed_memory()  # as the `bioeval` command does
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest", nargs="?", default=str(REPO / "manifests" / "deepseek_bionlp.yaml"))
    parser.add_argument("--min", type=int, default=1000)
    parser.add_argument("--max", type=int, default=5000)
    args = parser.parse_args()
    loaded = load_manifest(args.manifest)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        total = build(Path(args.manifest), Path(tmp), args.min, args.max)
        print(f"built {len(cells(loaded))} cells, {total:,d} predictions in {time.perf_counter() - t:.1f} s")
        start, cpu = time.perf_counter(), time.process_time()
        report = verify_manifest(loaded, tmp)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        s = report["summary"]
        print(f"verify: wall {wall:.2f} s  cpu {cpu:.2f} s  ({len(report['cells'])} rows: {s})")
        assert s.get("invalid", 0) == 0, "every built cell must check out"


if __name__ == "__main__":
    main()
