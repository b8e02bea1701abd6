"""verify explains a cell outside tolerance: what differs between the reference run's environment
and this run's (verify/envdiff.py), one line each, in --json and under the table."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.verify.factory import MANIFEST, cell_of, write_manifest, write_run

from bioeval.verify.envdiff import diff_receipts, reference_copy

REPO = Path(__file__).resolve().parents[2]
SMOKE_REFERENCE = REPO / "manifests" / "reference" / "smoke"


def receipt() -> dict:
    return {"python": "3.11.7",
            "libraries": {"torch": "2.13.0+cpu", "transformers": "5.23.0", "peft": "0.21.2"},
            "device": {"torch_threads": 1, "cuda_available": False, "machine": "x86_64"},
            "numerics": {"mode": "deterministic", "cpu_model": "AMD EPYC", "torch_cpu_capability": "DEFAULT",
                         "cpu_flags": ["sse2", "sse4_1", "sse4_2", "avx", "avx2", "fma"], "mkl": True,
                         "deterministic_algorithms": True,
                         "env": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE",
                                 "MKL_ENABLE_INSTRUCTIONS": None}}}


def test_identical_environments_have_no_lines():
    assert diff_receipts(receipt(), receipt()) == []


def test_one_line_per_difference():
    ref, obs = receipt(), receipt()
    obs["libraries"]["transformers"] = "5.24.0"
    obs["libraries"]["bitsandbytes"] = "0.45.0"
    obs["numerics"].update(mode="default", torch_cpu_capability="AVX512", cpu_model="Intel Xeon Platinum 8480",
                           cpu_flags=ref["numerics"]["cpu_flags"] + ["avx512f", "avx512bw"])
    obs["numerics"]["env"].update(ATEN_CPU_CAPABILITY=None, MKL_ENABLE_INSTRUCTIONS="AVX")
    obs["device"].update(torch_threads=8, gpus=["NVIDIA A100-SXM4-80GB"], driver="580.65")
    lines = diff_receipts(ref, obs)
    assert lines == [
        "bitsandbytes: none (reference) -> 0.45.0 (this run)",
        "transformers: 5.23.0 (reference) -> 5.24.0 (this run)",
        "torch CPU kernels (ATen capability): DEFAULT (reference) -> AVX512 (this run)",
        "CPU model: AMD EPYC (reference) -> Intel Xeon Platinum 8480 (this run)",
        "CPU instruction set: this run only: avx512f, avx512bw",
        "numerics mode: deterministic (reference) -> default (this run)",
        "ATEN_CPU_CAPABILITY: default (reference) -> none (this run)",
        "MKL_ENABLE_INSTRUCTIONS: none (reference) -> AVX (this run)",
        "torch threads: 1 (reference) -> 8 (this run)",
        "GPUs: none (reference) -> NVIDIA A100-SXM4-80GB (this run)",
        "GPU driver: none (reference) -> 580.65 (this run)",
    ]


def test_shipped_smoke_reference_receipts_are_complete():
    from bioeval.manifest import cells, load_manifest

    loaded = load_manifest(REPO / "manifests" / "smoke.yaml")
    assert loaded.manifest.reference_receipts == "reference/smoke"
    for c in cells(loaded):
        ref = json.loads((SMOKE_REFERENCE / f"{c.model.key}__{c.dataset.key}.json").read_text())
        # the run it was: its run id changes whenever the schema gains a protocol field (with a
        # default that keeps the old behaviour), so only the keys are checked here
        assert (ref["model"], ref["dataset"]) == (c.model.key, c.dataset.key) and len(ref["run_id"]) == 16
        assert ref["numerics"]["mode"] == "deterministic" and ref["numerics"]["torch_cpu_capability"] == "DEFAULT"
        assert ref["libraries"]["torch"] and ref["numerics"]["cpu_flags"]
        assert reference_copy(ref) == ref and "timings_s" not in ref and "manifest" not in ref


def test_verify_lists_the_differences_of_a_cell_outside_tolerance(tmp_path, cli):
    manifest = write_manifest(tmp_path, MANIFEST + "reference_receipts: ref\n")
    results = tmp_path / "results"
    ours = receipt()
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.80, "recall": 0.87}, n=400,
              receipt=ours)  # f1 0.834 (from the predictions) vs 0.80 +- 0.02: discrepant; precision inside
    write_run(results, cell_of(manifest, "tiny", "tc"), {"precision": 0.84, "recall": 0.924}, n=1000,
              receipt=ours)  # f1 0.880 (from the predictions): inside every tc rule
    doctored = copy.deepcopy(ours)  # the reference "was recorded" on an AVX-512 machine without the mode
    doctored["numerics"].update(mode="default", torch_cpu_capability="AVX512",
                                cpu_flags=ours["numerics"]["cpu_flags"] + ["avx512f"])
    doctored["libraries"]["transformers"] = "5.24.0"
    (tmp_path / "ref").mkdir()
    for d in ("ee", "tc"):
        (tmp_path / "ref" / f"tiny__{d}.json").write_text(json.dumps(doctored))

    r = cli("verify", str(manifest), "--results", str(results), "--only", "model=tiny", "--json",
            "--allow-missing")
    assert r.returncode == 1
    rows = {(x["dataset"], x["metric"]): x for x in json.loads(r.stdout)["cells"]}
    expected = ["transformers: 5.24.0 (reference) -> 5.23.0 (this run)",
                "torch CPU kernels (ATen capability): AVX512 (reference) -> DEFAULT (this run)",
                "CPU instruction set: reference only: avx512f",
                "numerics mode: default (reference) -> deterministic (this run)"]
    assert rows[("ee", "f1")]["verdict"] == "discrepant" and rows[("ee", "f1")]["env_diff"] == expected
    assert "env_diff" not in rows[("ee", "precision")]  # within tolerance: nothing to explain
    assert all("env_diff" not in rows[("tc", m)] for m in ("precision", "recall", "f1"))

    r = cli("verify", str(manifest), "--results", str(results), "--only", "model=tiny", "--allow-missing")
    assert r.returncode == 1
    assert "tiny x ee is discrepant; its environment against the reference receipt:" in r.stdout
    assert "  - CPU instruction set: reference only: avx512f" in r.stdout


def test_no_reference_receipts_no_env_diff(tmp_path):
    from bioeval.manifest import load_manifest
    from bioeval.verify.verify import verify_manifest

    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.80, "recall": 0.87}, n=400,
              receipt=receipt())
    report = verify_manifest(load_manifest(manifest), results, "model=tiny,dataset=ee")
    assert [r["verdict"] for r in report["cells"]] == ["reproduced", "discrepant", "discrepant"]
    assert all("env_diff" not in r for r in report["cells"])
