"""The prepared GPU check (bench/device_check.py, scripts/device_check.sh): its CPU dry run runs every
engine variant of the paper's protocol and the throughput figures; the bundle keeps only the CUDA 13
and CPU libraries of bitsandbytes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from tests.engine.conftest import REPO

MIRROR = REPO.parent / "shared" / "data" / "zhan2024"


def test_trimmed_wheel_keeps_the_cuda13_and_cpu_libraries_and_a_true_record(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    from make_device_bundle import trim_wheel

    wheel = tmp_path / "bitsandbytes-0.50.2-py3-none-manylinux_2_24_x86_64.whl"
    libs = ["libbitsandbytes_cpu.so", "libbitsandbytes_cuda118.so", "libbitsandbytes_cuda130.so",
            "libbitsandbytes_cuda132.so", "libbitsandbytes_rocm64.so"]
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("bitsandbytes/__init__.py", "x = 1\n")
        for lib in libs:
            z.writestr(f"bitsandbytes/{lib}", b"\0" * 64)
        record = "".join(f"bitsandbytes/{n},sha256=abc,1\n" for n in ["__init__.py", *libs])
        z.writestr("bitsandbytes-0.50.2.dist-info/RECORD", record + "bitsandbytes-0.50.2.dist-info/RECORD,,\n")
    trim_wheel(wheel)
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        record = z.read("bitsandbytes-0.50.2.dist-info/RECORD").decode()
    assert {n for n in names if n.endswith(".so")} == {"bitsandbytes/libbitsandbytes_cpu.so",
                                                       "bitsandbytes/libbitsandbytes_cuda130.so"}
    assert "bitsandbytes/__init__.py" in names
    assert "cuda118" not in record and "rocm" not in record and "cuda130" in record


def test_device_check_script_is_valid_bash():
    res = subprocess.run(["bash", "-n", str(REPO / "scripts" / "device_check.sh")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.mark.skipif(not MIRROR.is_dir(), reason="the lab's data (../shared/data/zhan2024) is absent")
@pytest.mark.slow
def test_dry_run_covers_every_variant_of_the_paper_protocol(tmp_path):
    out = tmp_path / "check.json"
    res = subprocess.run([sys.executable, str(REPO / "bench" / "device_check.py"), "--dry-run", "--mirror", str(MIRROR),
                          "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(out.read_text())
    engine = {r["variant"]: r for r in report["engine"]}
    assert set(engine) == {"nf4+paged8bit+fp16", "fp16+scaler", "bf16"}
    paper = engine["nf4+paged8bit+fp16"]
    assert paper["training_execution"]["optimizer"].endswith("PagedAdamW8bit")
    assert paper["training_execution"]["autocast_dtype"] == "float16"
    assert paper["training_execution"]["grad_scaler"]["enabled"]
    assert paper["quantization"]["quant_type"] == "nf4" and paper["quantization"]["layers"]
    assert engine["fp16+scaler"]["quantization"] is None and engine["fp16+scaler"]["training_execution"]["grad_scaler"]["enabled"]
    bf16 = engine["bf16"]["training_execution"]
    assert bf16["autocast_dtype"] == "bfloat16" and not bf16["grad_scaler"]["enabled"]
    from bioeval.manifest import load_manifest  # every variant scores the miniature's whole test cut

    n_test = load_manifest(REPO / "manifests" / "zhan2025_miniature.yaml").manifest.protocol.evaluation.test_subsample.value
    assert all(r["n"] == n_test and r["timings_s"]["train_and_select"] > 0 for r in engine.values()), \
        {name: r["n"] for name, r in engine.items()}
    variants = {v["variant"]: v for v in report["throughput"]["variants"]}
    assert "nf4+paged8bit+fp16" in variants and all(v["train_tokens_per_s"] > 0 for v in variants.values())
    assert {v["gen_batch"] for v in report["per_sentence_generation"]["variants"]} == {1}
    assert {v["gen_batch"] for v in variants.values()} == {8}
