"""Benchmarks of the data stage: converters on generated files of realistic size, and the audit
of the paper manifest over the lab mirror.  Run: `python bench/bench_data.py [--mirror DIR]`.

Budgets (issue 3): PubMed 20k RCT, 240k sentences, converted in at most 5 s; the audit of the
full mirror for the paper manifest in at most 10 s.  Prints a table; exit 1 if a budget is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bioeval.data.converters import convert  # noqa: E402
from bioeval.manifest.schema import Dataset  # noqa: E402

WORDS = ("patients treatment randomized trial dose placebo outcome significant reduced increased "
         "mg daily weeks group control risk ratio confidence interval p < 0.05 therapy").split()
TAGS = ("O", "B-Chemical", "I-Chemical")


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)) + " ."


def gen_pubmed(path: Path, sentences: int, rng) -> None:
    labels = ("BACKGROUND", "OBJECTIVE", "METHODS", "RESULTS", "CONCLUSIONS")
    with open(path, "w") as f:
        written, pmid = 0, 10_000_000
        while written < sentences:
            f.write(f"###{pmid}\n")
            for i in range(min(12, sentences - written)):
                f.write(f"{labels[min(i // 3, 4)]}\t{sentence(rng, rng.randint(12, 40))}\n")
                written += 1
            f.write("\n")
            pmid += 1


def gen_conll(path: Path, sentences: int, rng) -> None:
    with open(path, "w") as f:
        for _ in range(sentences):
            for _ in range(rng.randint(10, 45)):
                f.write(f"{rng.choice(WORDS)}\t{rng.choice(TAGS) if rng.random() < 0.1 else 'O'}\n")
            f.write("\n")


def gen_ade(path: Path, rows: int, rng) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for _ in range(rows):
            w.writerow([sentence(rng, rng.randint(10, 40)), int(rng.random() < 0.3)])


def gen_health(path: Path, rows: int, rng) -> None:
    outs = ("This is no advice", "This is a weak advice", "This is a strong advice")
    json.dump([{"instruction": "classify", "input": sentence(rng, 25), "output": rng.choice(outs)}
               for _ in range(rows)], open(path, "w"))


def gen_text_label(path: Path, rows: int, rng) -> None:
    with open(path, "w") as f:
        for _ in range(rows):
            f.write(json.dumps({"text": sentence(rng, 20), "label": int(rng.random() < 0.2)}) + "\n")


def dataset(fmt, task="TC", labels=None):
    return Dataset(key="b", paper_name="B", task=task, format=fmt, labels=labels,
                   splits={"test": {"source": {"local": "x"}}})


def timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "data" / "zhan2024")
    args = ap.parse_args()
    rng = random.Random(0)
    rows, failed = [], False
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cases = [
            ("pubmed-rct-txt", "PubMed 20k RCT (240,387 sentences)", "rct.txt", gen_pubmed, 240_387, dataset("pubmed-rct-txt"), 5.0),
            ("conll-iob", "BC4CHEMD-size CoNLL (60,000 sentences)", "c.tsv", gen_conll, 60_000, dataset("conll-iob", "NER", TAGS), None),
            ("ade-classification", "ADE CSV (23,516 rows)", "ade.csv", gen_ade, 23_516, dataset("ade-classification"), None),
            ("medalpaca-health-advice", "HealthAdvice JSON (8,676 rows)", "h.json", gen_health, 8_676, dataset("medalpaca-health-advice"), None),
            ("text-label", "text-label JSONL (50,000 rows)", "t.jsonl", gen_text_label, 50_000, dataset("text-label"), None),
        ]
        for fmt, what, name, gen, n, ds, budget in cases:
            path = tmp / name
            gen(path, n, rng)
            seconds, out = timed(lambda: convert(path, "train", ds))
            assert len(out) == n, (fmt, len(out), n)
            ok = budget is None or seconds <= budget
            failed |= not ok
            rows.append((f"convert {fmt}", what, f"{path.stat().st_size / 1e6:.1f} MB", seconds, budget, ok))

        paper = REPO / "manifests" / "deepseek_bionlp.yaml"
        if paper.exists() and args.mirror.is_dir():
            from bioeval.audit.datasets import audit_manifest
            from bioeval.manifest import load_manifest
            from bioeval.settings import Settings

            loaded = load_manifest(paper)
            cold_cache = tmp / "cache-cold"
            t = time.perf_counter()
            report = audit_manifest(loaded, Settings(cache_dir=cold_cache, data_mirror=args.mirror))
            cold = time.perf_counter() - t
            warm, _ = timed(lambda: audit_manifest(loaded, Settings(cache_dir=cold_cache, data_mirror=args.mirror)))
            n_avail = sum(e["available"] for e in report["datasets"])
            what = f"paper manifest, {n_avail}/{len(report['datasets'])} splits available"
            for label, seconds in (("audit (cold cache)", cold), ("audit (warm cache)", warm)):
                ok = seconds <= 10.0
                failed |= not ok
                rows.append((label, what, "-", seconds, 10.0, ok))

    print(f"{'benchmark':32} {'input':48} {'size':>8} {'seconds':>8} {'budget':>7}  ok")
    for name, what, size, seconds, budget, ok in rows:
        print(f"{name:32} {what:48} {size:>8} {seconds:8.2f} {budget if budget else '-':>7}  {'yes' if ok else 'NO'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
