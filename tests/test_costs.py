"""`plan --costs`: tokens and GPU-hours per cell before the GPUs are rented (bioeval/pipeline/costs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bioeval.errors import UsageError
from bioeval.manifest import cells, load_manifest
from bioeval.pipeline import costs

REPO = Path(__file__).resolve().parents[1]
MIRROR = REPO.parent / "shared" / "data" / "zhan2024"


@pytest.fixture(scope="module")
def paper():
    return load_manifest(REPO / "manifests" / "deepseek_bionlp.yaml")


def test_generation_passes_follow_the_engine(paper):
    """Selection on test with five checkpoints: five cuts of 1,000 plus the final test (engine/cell.py)."""
    cell = cells(paper, "model=mistral-7b-instruct-v0.2,dataset=ddi")[0]
    assert costs.generation_passes(cell.protocol, 3020, 1285) == (6000, 5000)
    assert costs.generation_passes(cell.protocol, 465, None) == (6 * 465, 5 * 465)  # a test set below the cut
    val = cell.protocol.model_copy(update={"evaluation": cell.protocol.evaluation.model_copy(update={
        "select_on": cell.protocol.evaluation.select_on.model_copy(update={"value": "validation"})})})
    assert costs.generation_passes(val, 3020, 1285) == (5 * 1285 + 1000, 5 * 1285)


def test_gpu_hours_are_the_throughput_model(paper):
    cell = cells(paper, "model=mistral-7b-instruct-v0.2,dataset=phee")[0]
    model = costs.throughput_model("A100-40GB")
    tokens = {"train_tokens": 10_000_000, "prompt_tokens": 1_000_000, "new_tokens_upper": 50_000}
    h = costs.gpu_hours(tokens, cell, model)
    n, peak, mfu = 7.2e9, 312e12, model["train_mfu_nf4"]["value"]
    assert h["train_h"] == pytest.approx(10e6 * 4 * n / (peak * mfu) / 3600, rel=1e-3)
    decode = 50_000 * n * costs.BYTES_PER_WEIGHT["nf4"] / (1.555e12 * model["decode_bandwidth"]["value"])
    assert h["per_sentence_h"] == pytest.approx((10e6 * 4 * n + 1e6 * 2 * n) / (peak * mfu) / 3600 + decode / 3600,
                                                 rel=1e-3)
    assert h["train_h"] < h["batched_h"] < h["per_sentence_h"]


def test_every_figure_names_its_source_and_measured_ones_replace_assumed():
    model = costs.throughput_model("H200")
    assert all(model[k]["source"] for k in ("bf16_tflops", "hbm_tb_s", "train_mfu_nf4", "decode_bandwidth"))
    assert model["train_mfu_nf4"]["source"].startswith("assumed")
    report = {"throughput": {"device": "NVIDIA H200", "variants": [
                  {"quantization": "nf4", "train_mfu": 0.11, "params": 10**9}]},
              "per_sentence_generation": {"variants": [{"quantization": "nf4", "gen_tokens_per_s": 100.0, "params": 10**9}]}}
    measured = costs.throughput_model("H200", report)
    assert measured["train_mfu_nf4"] == {"value": 0.11, "source": measured["train_mfu_nf4"]["source"]}
    assert "measured by bench/device_check.py on NVIDIA H200" in measured["train_mfu_nf4"]["source"]
    assert measured["decode_bandwidth"]["value"] == pytest.approx(100 * 1e9 * 0.53 / 4.8e12, rel=1e-3)
    assert measured["train_mfu_none"]["source"].startswith("assumed")  # not measured: stays assumed
    with pytest.raises(UsageError, match="Known: A100-40GB"):
        costs.throughput_model("TPU")


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the lab's data (../shared/data/zhan2024) is absent")
def test_plan_costs_of_the_paper_manifest(bioeval_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("BIOEVAL_CACHE", str(tmp_path / "cache"))
    code, out, err = bioeval_cli("--data-mirror", MIRROR, "plan", REPO / "manifests" / "deepseek_bionlp.yaml",
                                 "--costs", "--json")
    assert code == 0, err[-2000:]
    c = json.loads(out)["costs"]
    assert len(c["cells"]) == 144 and 0 < c["measured_cells"] < 144
    phee = next(r for r in c["cells"] if r["cell"] == "mistral-7b-instruct-v0.2 x phee")
    assert "estimated" not in phee and phee["prompts"] == 6 * 968  # 968 test sentences, below the cut of 1,000
    assert phee["train_tokens"] > 5000 * 4 * 50  # 5,000 steps of 4 texts of more than 50 tokens
    for key in ("train_tokens", "train_h", "per_sentence_h", "batched_h"):
        assert c["total"][key] == pytest.approx(sum(r[key] for r in c["cells"]), rel=1e-6, abs=0.01)
    big = next(r for r in c["cells"] if r["cell"] == "deepseek-llm-67b-base x phee")
    assert big["gpus"] > 1 and big["train_h"] > 9 * phee["train_h"]  # 67B over several GPUs
