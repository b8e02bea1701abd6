"""verify explains a cell outside tolerance: what differs between the reference run's environment
and this run's (verify/envdiff.py), one line each, in --json and under the table."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from tests.verify.factory import MANIFEST, cell_of, verify_selected, write_manifest, write_run

from bioeval.verify.envdiff import diff_receipts, identity, reference_copy

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
        # identity is checked against these: the predictions' bytes and the numerics they came from
        assert len(ref["outputs"]["predictions_sha256"]) == 64 and len(ref["numerics"]["fingerprint"]["sha256"]) == 64
        assert {"sqrt", "exp", "sin", "cos"} <= set(ref["numerics"]["portable_kernels"])
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

    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.80, "recall": 0.87}, n=400,
              receipt=receipt())
    report = verify_selected(manifest, results, "model=tiny,dataset=ee")
    assert [r["verdict"] for r in report["cells"]] == ["reproduced", "discrepant", "discrepant"]
    assert all("env_diff" not in r for r in report["cells"])


def _fingerprinted(parts: dict | None = None) -> dict:
    r = receipt()
    parts = parts or {"matmul": "a" * 16, "sqrt": "b" * 16, "sin_cos": "c" * 16}
    r["numerics"]["fingerprint"] = {"sha256": "".join(sorted(parts.values())), "parts": parts, "ms": 3.0}
    return r


def _reference_from(run_dir: Path, folder: Path, name: str, **numerics) -> None:
    """The reference receipt as scripts/save_reference_receipts.py writes it, from a finished run."""
    ref = reference_copy(json.loads((run_dir / "receipt.json").read_text()))
    ref["numerics"].update(numerics)
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(ref))


def test_reference_copy_keeps_the_predictions_hash_only():
    ref = reference_copy({**receipt(), "outputs": {"predictions_sha256": "1" * 64, "scores_sha256": "2" * 64},
                          "timings_s": {"total": 3.0}})
    assert ref["outputs"] == {"predictions_sha256": "1" * 64} and "timings_s" not in ref


def test_fingerprint_lines_name_the_parts_computed_differently():
    ref, obs = _fingerprinted(), _fingerprinted({"matmul": "a" * 16, "sqrt": "d" * 16, "sin_cos": "e" * 16})
    (line,) = diff_receipts(ref, obs)
    assert line.startswith("numerics fingerprint: ") and line.endswith("computed differently: sin_cos, sqrt")
    assert identity(ref, obs)["fingerprint"] == "different"
    assert identity(ref, ref) == {"predictions": None, "fingerprint": "same", "reference_predictions_sha256": None,
                                  "predictions_sha256": None}


def test_verify_says_identical_or_differs_within_tolerance_per_cell(tmp_path, cli):
    """ee's predictions are the reference run's bytes: identical.  tc's differ but its values stay
    inside tolerance: "differs from the reference, within tolerance", with the environment lines
    (here the fingerprint: another CPU's numerics).  In --json, in the table and under it."""
    manifest = write_manifest(tmp_path, MANIFEST + "reference_receipts: ref\n")
    results = tmp_path / "results"
    ee = write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.81, "recall": 0.79}, n=400,
                   receipt=_fingerprinted())
    tc = write_run(results, cell_of(manifest, "tiny", "tc"), {"precision": 0.84, "recall": 0.924}, n=1000,
                   receipt=_fingerprinted())
    _reference_from(ee, tmp_path / "ref", "tiny__ee")
    other = _fingerprinted({"matmul": "a" * 16, "sqrt": "f" * 16, "sin_cos": "c" * 16})["numerics"]["fingerprint"]
    _reference_from(tc, tmp_path / "ref", "tiny__tc", fingerprint=other)
    ref_tc = json.loads((tmp_path / "ref" / "tiny__tc.json").read_text())
    ref_tc["outputs"]["predictions_sha256"] = "9" * 64  # the reference run predicted other bytes
    (tmp_path / "ref" / "tiny__tc.json").write_text(json.dumps(ref_tc))

    ours_tc = json.loads((tc / "receipt.json").read_text())["outputs"]["predictions_sha256"]
    r = cli("verify", str(manifest), "--results", str(results), "--only", "model=tiny", "--json", "--allow-missing")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {(x["dataset"], x["metric"]): x for x in json.loads(r.stdout)["cells"]}
    for m in ("precision", "recall", "f1"):
        ee_row, tc_row = rows[("ee", m)], rows[("tc", m)]
        assert ee_row["verdict"] == "reproduced" and ee_row["identity"] == "identical to the reference"
        assert ee_row["reference"]["predictions"] == "identical" and "env_diff" not in ee_row
        assert tc_row["verdict"] == "reproduced"
        assert tc_row["identity"] == "differs from the reference, within tolerance"
        assert tc_row["reference"] == {"predictions": "differs", "fingerprint": "different",
                                       "reference_predictions_sha256": "9" * 64,
                                       "predictions_sha256": ours_tc}
        assert tc_row["env_diff"] == [f"numerics fingerprint: {other['sha256'][:16]} (reference) -> "
                                      f"{_fingerprinted()['numerics']['fingerprint']['sha256'][:16]} (this run); "
                                      "computed differently: sqrt"]

    r = cli("verify", str(manifest), "--results", str(results), "--only", "model=tiny", "--allow-missing")
    assert r.returncode == 0
    assert "vs reference" in r.stdout and "identical" in r.stdout
    assert "tiny x tc differs from the reference, within tolerance; its environment against the reference" in r.stdout


def test_same_fingerprint_different_predictions_is_called_a_bug(tmp_path):
    from bioeval.verify.envdiff import SAME_FINGERPRINT

    manifest = write_manifest(tmp_path, MANIFEST + "reference_receipts: ref\n")
    results = tmp_path / "results"
    ee = write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.81, "recall": 0.79}, n=400,
                   receipt=_fingerprinted())
    _reference_from(ee, tmp_path / "ref", "tiny__ee")
    ref = json.loads((tmp_path / "ref" / "tiny__ee.json").read_text())
    ref["outputs"]["predictions_sha256"] = "9" * 64
    (tmp_path / "ref" / "tiny__ee.json").write_text(json.dumps(ref))
    report = verify_selected(manifest, results, "model=tiny,dataset=ee")
    for row in report["cells"]:
        assert row["reference"]["fingerprint"] == "same" and row["reference"]["predictions"] == "differs"
        assert SAME_FINGERPRINT in row["notes"] and row["env_diff"] == []


def test_report_table_says_identical_to_the_reference(tmp_path):
    from bioeval.manifest import load_manifest
    from bioeval.report.markdown import render_report
    from bioeval.verify.verify import verify_manifest

    manifest = write_manifest(tmp_path, MANIFEST + "reference_receipts: ref\n")
    results = tmp_path / "results"
    ee = write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.81, "recall": 0.79}, n=400,
                   receipt=_fingerprinted())
    _reference_from(ee, tmp_path / "ref", "tiny__ee")
    loaded = load_manifest(manifest)
    md = render_report(loaded, verify_manifest(loaded, results), {"datasets": []}, {})
    row = next(line for line in md.split("### EE")[1].splitlines() if line.startswith("| Tiny-Model"))
    assert "**reproduced**; identical to the reference |" in row
