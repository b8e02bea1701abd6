"""The one prepared GPU check: every code path of the paper's protocol on CUDA, and the figures that
feed the GPU-hour estimates, in one command and one JSON file.

    scripts/device_check.sh BUNDLE OUT.json     # on a GPU node without network (BUNDLE: make_device_bundle.py)
    python bench/device_check.py --dry-run --mirror ../shared/data/zhan2024 --out /tmp/check.json   # CPU, CI

It runs, each in a fresh interpreter:
1. the miniature's engine path (manifests/zhan2025_miniature.yaml) on the shipped tiny model, one
   PHEE cell per precision variant: the paper's nf4 + paged 8-bit AdamW + fp16 with a grad scaler,
   fp16 + scaler on an unquantised base, bf16; each cell's receipt says what really ran;
2. bench/gpu_check.py on a ~1B Llama built from a config (random weights): training tokens/s and
   MFU for bf16 and for the paper's path, and generation tokens/s batched (8 prompts a call);
3. the same generation one prompt at a time (the paper's per-sentence inference).
Default sizes stay under 8 minutes on one H100/H200; --dry-run uses the tiny config on CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MINIATURE = REPO / "manifests" / "zhan2025_miniature.yaml"
TINY = REPO / "assets" / "tiny-llama"

# the miniature's own protocol is the paper's path; the others change only precision/quantization/optimizer
VARIANTS = {
    "nf4+paged8bit+fp16": {},
    "fp16+scaler": {"precision": "fp16", "quantization": "none", "optimizer": "adamw_torch"},
    "bf16": {"precision": "bf16", "quantization": "none", "optimizer": "adamw_torch"},
}


def variant_manifest(folder: Path, name: str, overrides: dict) -> Path:
    """A manifest that extends the miniature with one precision variant (each value labelled)."""
    path = folder / f"variant-{name.replace('+', '_')}.yaml"
    training = {k: {"value": v, "source": "assumed", "note": f"device check variant {name}"} for k, v in overrides.items()}
    body = {"extends": str(MINIATURE), "protocol": {"training": training}} if training else {"extends": str(MINIATURE)}
    path.write_text(json.dumps(body))  # JSON is YAML
    return path


def run_engine_variant(name: str, manifest: Path, workdir: Path, mirror: Path) -> dict:
    cmd = [sys.executable, "-m", "bioeval", "--workdir", str(workdir), "--data-mirror", str(mirror), "run",
           str(manifest), "--add-model", f"tiny={TINY}", "--only", "model=tiny,dataset=phee", "--no-progress"]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
    row = {"variant": name, "returncode": res.returncode, "wall_s": round(time.perf_counter() - t0, 1)}
    receipts = sorted(workdir.glob("*/receipt.json"))
    if res.returncode != 0 or not receipts:
        return {**row, "error": res.stderr[-1500:]}
    receipt = json.loads(receipts[0].read_text())
    scores = json.loads((receipts[0].parent / "scores.json").read_text())
    return {**row, "device": receipt["device"], "training_execution": receipt.get("training_execution"),
            "quantization": receipt["model_pin"].get("quantization_detail"), "dtype": receipt["model_pin"]["dtype"],
            "timings_s": receipt["timings_s"], "metrics": scores["metrics"], "n": scores["n"]}


def run_gpu_check(args: list[str]) -> dict:
    res = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check.py"), "--json", *args], cwd=REPO,
                         capture_output=True, text=True)
    if res.returncode != 0:
        return {"error": res.stderr[-1500:], "args": args}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    ap.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "data" / "zhan2024",
                    help="a data mirror holding the lab's PHEE files (the bundle's data/ on a GPU node)")
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes, for CPU (CI)")
    a = ap.parse_args(argv)
    if not a.mirror.is_dir():
        ap.error(f"--mirror {a.mirror}: no such folder (it must hold the lab's EE_phee_*.json files)")
    t0 = time.perf_counter()
    size = ["--tiny", "--steps", "2", "--new-tokens", "4"] if a.dry_run else []
    out: dict = {"dry_run": a.dry_run, "engine": [], "throughput": None, "per_sentence_generation": None}
    with tempfile.TemporaryDirectory(prefix="bioeval-device-check-") as tmp:
        for name, overrides in VARIANTS.items():
            manifest = variant_manifest(Path(tmp), name, overrides)
            row = run_engine_variant(name, manifest, Path(tmp) / name.replace("+", "_"), a.mirror)
            out["engine"].append(row)
            print(f"engine {name}: rc {row['returncode']} in {row['wall_s']} s", file=sys.stderr, flush=True)
    out["throughput"] = run_gpu_check(size)
    out["per_sentence_generation"] = run_gpu_check(size + ["--gen-batch", "1", "--steps", "2"])
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    failed = [r["variant"] for r in out["engine"] if r["returncode"] != 0]
    failed += [k for k in ("throughput", "per_sentence_generation") if "error" in out[k]]
    print(f"wrote {a.out} in {out['wall_s']} s" + (f"; FAILED: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
