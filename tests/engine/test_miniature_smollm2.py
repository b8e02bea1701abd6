"""One real cell of manifests/zhan2025_miniature.yaml: SmolLM2-135M-Instruct (the pinned GGUF) loaded
in nf4 and fine-tuned with paged 8-bit AdamW under fp16 + grad scaler on the lab's PHEE data, on CPU;
verify reproduces the manifest's reference value and the receipt says what ran."""

from __future__ import annotations

import json

import pytest

from tests.engine.conftest import REPO, bioeval_cmd

pytestmark = pytest.mark.slow
MINIATURE = REPO / "manifests" / "zhan2025_miniature.yaml"
MIRROR = REPO.parent / "shared" / "data" / "zhan2024"


def test_a_real_miniature_cell_runs_the_papers_path_and_verifies(smollm2_cache, tmp_path):
    if not MIRROR.is_dir():
        pytest.skip(f"the lab's data mirror {MIRROR} is not present")
    from bioeval.manifest import cells, load_manifest

    cell = cells(load_manifest(MINIATURE), "dataset=phee")[0]
    env = {"BIOEVAL_CACHE": str(smollm2_cache)}
    runs = tmp_path / "runs"
    res = bioeval_cmd("--data-mirror", str(MIRROR), "run", str(MINIATURE), "--only", "dataset=phee", "--no-progress",
                      workdir=runs, env=env, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:]
    receipt = json.loads((runs / cell.run_id / "receipt.json").read_text())
    q = receipt["model_pin"]["quantization_detail"]
    assert q["layers"]["bitsandbytes.nn.modules.Linear4bit"] == 7 * 30  # q k v o gate up down in 30 blocks
    assert receipt["training_execution"]["optimizer"].endswith("PagedAdamW8bit")
    assert receipt["training_execution"]["autocast_dtype"] == "float16"
    assert receipt["training_execution"]["grad_scaler"]["enabled"]
    assert [h["step"] for h in receipt["selection"]["history"]] == [1, 2]
    v = bioeval_cmd("verify", str(MINIATURE), "--results", str(runs), "--allow-missing", "--json", workdir=runs,
                    env=env)
    rows = [r for r in json.loads(v.stdout)["cells"] if r["dataset"] == "phee"]
    assert rows and all(r["verdict"] == "reproduced" for r in rows), v.stdout[-2000:]
