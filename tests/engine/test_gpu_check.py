"""bench/gpu_check.py runs the engine's LoRA training and generation on a model built from a
config; in CI on CPU with the tiny config (on a GPU host it is one command, default ~1B)."""

import json
import subprocess
import sys

import pytest

from tests.engine.conftest import REPO


@pytest.mark.slow
def test_gpu_check_runs_on_cpu_with_a_tiny_config():
    res = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check.py"), "--tiny", "--json", "--steps", "2",
                          "--new-tokens", "4", "--peak-tflops", "1.0"], capture_output=True, text=True, timeout=300,
                         cwd=REPO)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    row, paper = out["variants"]
    assert (paper["quantization"], paper["optimizer"], paper["precision"]) == ("nf4", "paged_adamw_8bit", "fp16")
    assert paper["train_tokens_per_s"] > 0 and not out["skipped"]  # the paper's path runs on CPU too
    assert row["params"] == 139_584  # the tiny LlamaConfig, counted before LoRA
    assert row["train_tokens_per_s"] > 0 and row["gen_tokens_per_s"] > 0
    assert row["gen_batch"] * row["gen_new_tokens"] > 0
    # MFU is achieved FLOP/s over the given peak: 4N per trained token, 2N per generated one
    assert row["train_mfu"] == pytest.approx(4 * row["params"] * row["train_tokens_per_s"] / 1e12, rel=0.05, abs=1e-4)


def test_peak_lookup_by_device_name():
    sys.path.insert(0, str(REPO / "bench"))
    from gpu_check import peak_tflops

    assert peak_tflops("NVIDIA H200", None) == 989.0
    assert peak_tflops("NVIDIA A100-SXM4-40GB", None) == 312.0
    assert peak_tflops("Unknown card", None) is None
    assert peak_tflops("Unknown card", 100.0) == 100.0
