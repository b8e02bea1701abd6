"""The zero-shot paper's local, access-restricted data: a user's CSV, carved 80/20, audited."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from bioeval.audit.datasets import audit_manifest
from bioeval.manifest import load_manifest
from bioeval.scoring.registry import SCORERS
from bioeval.settings import Settings

PAPER = Path(__file__).resolve().parents[2] / "manifests" / "guo_sarker_classification.yaml"


@pytest.mark.skipif(not PAPER.exists(), reason="the Guo & Sarker manifest is not on this branch yet")
def test_local_csv_is_carved_counted_and_baselined(tmp_path, monkeypatch):
    rng = random.Random(3)
    labels = [int(rng.random() < 0.3) for _ in range(5019)]  # Table 1: 5,019 tweets
    with open(tmp_path / "breast_cancer.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows([f"tweet number {i}", y] for i, y in enumerate(labels))
    monkeypatch.setenv("GUO_SARKER_DATA", str(tmp_path))
    report = audit_manifest(load_manifest(PAPER), Settings(cache_dir=tmp_path / "cache"), only="dataset=breast-cancer")
    (e,) = report["datasets"]
    assert e["available"] and e["origin"] == "local" and e["sha256_ok"] is None
    assert e["records"] == 1004 and e["count_ok"] is True  # 5019 - floor(0.8 * 5019)
    assert any("run `bioeval lock`" in f for f in e["findings"])
    if "binary-prf" not in SCORERS:
        assert any(f.startswith("baselines not scored") for f in e["findings"])
        return
    # independent: which rows the test split holds, and the scores of answering "positive" always
    order = list(range(5019))
    random.Random(42).shuffle(order)
    test = [labels[i] for i in sorted(order[4015:])]
    pos = sum(test)
    best = next(b for b in e["baselines"] if b["name"] == "best-constant")
    assert best["constant"] == "1" and best["precision"] == pytest.approx(pos / len(test)) and best["recall"] == 1.0
    major = next(b for b in e["baselines"] if b["name"] == "majority-response")
    assert major["constant"] == "0" and major["oracle"] is True and major["f1"] == 0.0


@pytest.mark.skipif(not PAPER.exists(), reason="the Guo & Sarker manifest is not on this branch yet")
def test_baseline_finding_names_the_manifest_scorer(tmp_path, monkeypatch):
    with open(tmp_path / "breast_cancer.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows([f"tweet {i}", int(i % 3 == 0)] for i in range(500))
    monkeypatch.setenv("GUO_SARKER_DATA", str(tmp_path))
    report = audit_manifest(load_manifest(PAPER), Settings(cache_dir=tmp_path / "cache"), only="dataset=breast-cancer")
    (f,) = [f for f in report["findings"] if f["kind"] == "trivial-baseline"]
    assert "binary-prf" in f["message"] and "set-F1" not in f["message"] and f["evidence"]["canonical"] is None
