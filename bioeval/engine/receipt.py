"""The receipt of a run: what ran, where, on what, with which pins.  Never an environment dump
(HF_TOKEN and other secrets must not reach results)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

import bioeval
from bioeval.engine import numerics

LIBRARIES = ("torch", "transformers", "peft", "accelerate", "huggingface-hub", "tokenizers", "safetensors",
             "bitsandbytes", "vllm", "pydantic", "numpy")


def library_versions() -> dict[str, str | None]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_sha() -> str | None:
    if os.environ.get("BIOEVAL_GIT_SHA"):  # inside a container there is no .git: the build passes it
        return os.environ["BIOEVAL_GIT_SHA"]
    root = Path(bioeval.__file__).resolve().parent.parent
    try:
        res = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return res.stdout.strip() + ("-dirty" if dirty else "")


def device_info() -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count()}
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
        info["cuda_available"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            info["cuda"] = torch.version.cuda
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            try:
                smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                     capture_output=True, text=True, timeout=10)
                info["driver"] = smi.stdout.strip().splitlines()[0] if smi.returncode == 0 else None
            except (OSError, subprocess.TimeoutExpired, IndexError):
                info["driver"] = None
    return info


def build_receipt(*, manifest_path, manifest_sha256: str, cell, data_pins: dict, model_info: dict,
                  seeds: dict, timings: dict, extra: dict | None = None) -> dict:
    return {
        "run_id": cell.run_id,
        "model": cell.model.key,
        "dataset": cell.dataset.key,
        "manifest": {"path": str(manifest_path), "sha256": manifest_sha256},
        "bioeval": {"version": bioeval.__version__, "git_sha": git_sha()},
        "python": sys.version.split()[0],
        "libraries": library_versions(),
        "device": device_info(),
        "numerics": numerics.describe(cell.protocol.numerics.value),
        "image_id": os.environ.get("BIOEVAL_IMAGE_ID"),
        "data": data_pins,
        "model_pin": {"repo": cell.model.repo, "revision": cell.model.revision, **model_info},
        "seeds": seeds,
        "timings_s": timings,
        **(extra or {}),
    }
