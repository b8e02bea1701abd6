"""What differs between the environment a reference run was recorded in and this run's.

`diff_receipts(reference, observed)` is pure: two receipts (engine/receipt.py) in, one line per
difference out: library versions, Python, torch build, CPU model and instruction set, numerics
mode and the variables in effect, threads, GPUs and driver.  `verify` attaches the lines to a
cell outside tolerance when the manifest names reference receipts (`reference_receipts:`, a
folder of `<model>__<dataset>.json` next to the manifest; the smoke's are in
manifests/reference/smoke/).
"""

from __future__ import annotations

import json
from pathlib import Path

# The receipt keys a reference copy keeps (no paths, timings or data of the recording machine).
REFERENCE_KEYS = ("model", "dataset", "run_id", "bioeval", "python", "libraries", "device", "numerics", "image_id",
                  "seeds")


def _get(d: dict | None, *path):
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def _fmt(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v)) or "none"
    return str(v)


def _changed(label: str, ref, obs) -> list[str]:
    return [] if ref == obs else [f"{label}: {_fmt(ref)} (reference) -> {_fmt(obs)} (this run)"]


def diff_receipts(reference: dict, observed: dict) -> list[str]:
    """One line per environment difference that can change a cell's numbers (empty: none found)."""
    lines: list[str] = []
    ref_libs, obs_libs = reference.get("libraries") or {}, observed.get("libraries") or {}
    for name in sorted(set(ref_libs) | set(obs_libs)):
        lines += _changed(name, ref_libs.get(name), obs_libs.get(name))
    lines += _changed("python", reference.get("python"), observed.get("python"))
    for label, path in (("torch CPU kernels (ATen capability)", ("numerics", "torch_cpu_capability")),
                        ("torch MKL", ("numerics", "mkl")), ("CUDA (torch build)", ("device", "cuda"))):
        lines += _changed(label, _get(reference, *path), _get(observed, *path))
    lines += _changed("CPU model", _get(reference, "numerics", "cpu_model"), _get(observed, "numerics", "cpu_model"))
    ref_flags, obs_flags = _get(reference, "numerics", "cpu_flags"), _get(observed, "numerics", "cpu_flags")
    if ref_flags is not None and obs_flags is not None and set(ref_flags) != set(obs_flags):
        only_ref = [f for f in ref_flags if f not in obs_flags]
        only_obs = [f for f in obs_flags if f not in ref_flags]
        lines.append("CPU instruction set: " + "; ".join(
            part for part in (f"reference only: {_fmt(only_ref)}" if only_ref else "",
                              f"this run only: {_fmt(only_obs)}" if only_obs else "") if part))
    lines += _changed("numerics mode", _get(reference, "numerics", "mode"), _get(observed, "numerics", "mode"))
    ref_env, obs_env = _get(reference, "numerics", "env") or {}, _get(observed, "numerics", "env") or {}
    for var in sorted(set(ref_env) | set(obs_env)):
        lines += _changed(var, ref_env.get(var), obs_env.get(var))
    lines += _changed("torch threads", _get(reference, "device", "torch_threads"), _get(observed, "device", "torch_threads"))
    lines += _changed("deterministic algorithms", _get(reference, "numerics", "deterministic_algorithms"),
                      _get(observed, "numerics", "deterministic_algorithms"))
    lines += _changed("GPUs", _get(reference, "device", "gpus"), _get(observed, "device", "gpus"))
    lines += _changed("GPU driver", _get(reference, "device", "driver"), _get(observed, "device", "driver"))
    return lines


def reference_copy(receipt: dict) -> dict:
    """What a shipped reference receipt keeps of a run's receipt."""
    return {k: receipt[k] for k in REFERENCE_KEYS if k in receipt}


def reference_path(loaded, model: str, dataset: str) -> Path | None:
    folder = getattr(loaded.manifest, "reference_receipts", None)
    if not folder:
        return None
    return Path(loaded.base_dir) / folder / f"{model}__{dataset}.json"


def _load(path: Path | None) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path else None
    except (OSError, ValueError):
        return None


def attach(loaded, rows: list[dict], results: str | Path) -> None:
    """Add `env_diff` (lines) to each row outside tolerance that has both receipts."""
    cache: dict[tuple, list[str] | None] = {}
    for row in rows:
        if row.get("verdict") not in ("FAIL", "discrepant"):
            continue
        key = (row["model"], row["dataset"], row["run_id"])
        if key not in cache:
            ref = _load(reference_path(loaded, row["model"], row["dataset"]))
            obs = _load(Path(results) / row["run_id"] / "receipt.json")
            cache[key] = diff_receipts(ref, obs) if ref and obs else None
        if cache[key] is not None:
            row["env_diff"] = cache[key]


def text_lines(rows: list[dict]) -> list[str]:
    """The env_diff of verify's rows as text under the table: one heading per cell, then its lines."""
    out, seen = [], set()
    for row in rows:
        key = (row["model"], row["dataset"])
        if "env_diff" not in row or key in seen:
            continue
        seen.add(key)
        out.append(f"{row['model']} x {row['dataset']} is discrepant; its environment against the "
                   "reference receipt:" + ("" if row["env_diff"] else " no difference found"))
        out += [f"  - {line}" for line in row["env_diff"]]
    return out
