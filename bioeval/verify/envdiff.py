"""What differs between the environment a reference run was recorded in and this run's.

`diff_receipts(reference, observed)` is pure: two receipts (engine/receipt.py) in, one line per
difference out: library versions, Python, torch build, CPU model and instruction set, numerics
mode and the variables in effect, the numerics fingerprint (engine/fingerprint.py), threads, GPUs
and driver.  `identity(reference, observed)` compares the sha256 of the predictions: identity is
checked, not assumed.  When the manifest names reference receipts (`reference_receipts:`, a
folder of `<model>__<dataset>.json` next to the manifest; the smoke's are in
manifests/reference/smoke/), `verify` marks every row "identical to the reference" or "differs
from the reference" and attaches the lines to each row whose predictions differ.
"""

from __future__ import annotations

from pathlib import Path

from bioeval.runs.read import RunFolder
from bioeval.verify.verdicts import Verdict

# The receipt keys a reference copy keeps (no paths, timings or data of the recording machine).
REFERENCE_KEYS = ("model", "dataset", "run_id", "bioeval", "python", "libraries", "device", "numerics", "image_id",
                  "seeds", "outputs")
IDENTICAL, DIFFERS = "identical", "differs"
LABELS = {IDENTICAL: "identical to the reference", DIFFERS: "differs from the reference"}


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
    lines += _changed("portable kernels (deterministic numerics)", _get(reference, "numerics", "portable_kernels"),
                      _get(observed, "numerics", "portable_kernels"))
    lines += _changed("C library", _get(reference, "numerics", "libc"), _get(observed, "numerics", "libc"))
    lines += _fingerprint_lines(_get(reference, "numerics", "fingerprint"), _get(observed, "numerics", "fingerprint"))
    lines += _changed("torch threads", _get(reference, "device", "torch_threads"), _get(observed, "device", "torch_threads"))
    lines += _changed("deterministic algorithms", _get(reference, "numerics", "deterministic_algorithms"),
                      _get(observed, "numerics", "deterministic_algorithms"))
    lines += _changed("GPUs", _get(reference, "device", "gpus"), _get(observed, "device", "gpus"))
    lines += _changed("GPU driver", _get(reference, "device", "driver"), _get(observed, "device", "driver"))
    return lines


def _fingerprint_lines(ref: dict | None, obs: dict | None) -> list[str]:
    if not ref or not obs or ref.get("sha256") == obs.get("sha256"):
        return []
    ref_parts, obs_parts = ref.get("parts") or {}, obs.get("parts") or {}
    parts = [p for p in sorted(set(ref_parts) | set(obs_parts)) if ref_parts.get(p) != obs_parts.get(p)]
    return [f"numerics fingerprint: {ref.get('sha256', 'none')[:16]} (reference) -> {obs.get('sha256', 'none')[:16]} "
            f"(this run); computed differently: {_fmt(parts)}"]


def identity(reference: dict, observed: dict) -> dict:
    """Whether this run's predictions are the reference run's bytes, and whether the numerics
    fingerprints agree ("same" / "different"; None where a receipt has none)."""
    ref_sha, obs_sha = _get(reference, "outputs", "predictions_sha256"), _get(observed, "outputs", "predictions_sha256")
    ref_fp = _get(reference, "numerics", "fingerprint", "sha256")
    obs_fp = _get(observed, "numerics", "fingerprint", "sha256")
    return {"predictions": None if not ref_sha or not obs_sha else IDENTICAL if ref_sha == obs_sha else DIFFERS,
            "fingerprint": None if not ref_fp or not obs_fp else "same" if ref_fp == obs_fp else "different",
            "reference_predictions_sha256": ref_sha, "predictions_sha256": obs_sha}


def label(row: dict) -> str | None:
    """The row's identity in words: identical / differs, within tolerance / differs (None: not checked)."""
    ident = (row.get("reference") or {}).get("predictions")
    if ident is None:
        return None
    if ident == DIFFERS and row.get("verdict") == Verdict.REPRODUCED:
        return LABELS[DIFFERS] + ", within tolerance"
    return LABELS[ident]


def reference_copy(receipt: dict) -> dict:
    """What a shipped reference receipt keeps of a run's receipt (of its outputs, the predictions' hash)."""
    out = {k: receipt[k] for k in REFERENCE_KEYS if k in receipt}
    if "outputs" in out:
        out["outputs"] = {"predictions_sha256": out["outputs"].get("predictions_sha256")}
    return out


def reference_path(loaded, model: str, dataset: str) -> Path | None:
    folder = getattr(loaded.manifest, "reference_receipts", None)
    if not folder:
        return None
    return Path(loaded.base_dir) / folder / f"{model}__{dataset}.json"


def _load(path: Path | None) -> dict | None:
    try:
        from bioeval.jsonfile import load_json

        return load_json(path) if path else None
    except (OSError, ValueError):
        return None


SAME_FINGERPRINT = ("same numerics fingerprint as the reference run but different predictions: not the CPU's "
                    "numerics; a bug, or an input that changed (the environment lines say what)")


def attach(loaded, rows: list[dict], results: str | Path) -> None:
    """Add `reference` (identity) and `identity` (its words) to each row that has both receipts, and
    `env_diff` (lines) to each row whose predictions differ from the reference's or that is outside
    tolerance."""
    cache: dict[tuple, tuple[dict, list[str]] | None] = {}
    for row in rows:
        if row.get("verdict") in (Verdict.MISSING, Verdict.INVALID):
            continue
        key = (row["model"], row["dataset"], row["run_id"])
        if key not in cache:
            ref = _load(reference_path(loaded, row["model"], row["dataset"]))
            obs = _load(RunFolder.of(results, row["run_id"]).receipt_file)
            try:
                cache[key] = (identity(ref, obs), diff_receipts(ref, obs)) if ref and obs else None
            except (Exception, RecursionError) as exc:  # a receipt of an odd shape: no comparison, not a crash
                cache[key] = None
                row["notes"].append(f"{RunFolder.of(results, row['run_id']).receipt_file} cannot be compared with the "
                                    f"reference receipt ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})")
        if cache[key] is None:
            continue
        ident, lines = cache[key]
        row["reference"] = ident
        row["identity"] = label(row)
        if ident["predictions"] == DIFFERS and ident["fingerprint"] == "same" and SAME_FINGERPRINT not in row["notes"]:
            row["notes"].append(SAME_FINGERPRINT)
        if ident["predictions"] == DIFFERS or row.get("verdict") == Verdict.DISCREPANT:
            row["env_diff"] = lines


def text_lines(rows: list[dict]) -> list[str]:
    """The env_diff of verify's rows as text under the table: one heading per cell, then its lines."""
    out, seen = [], set()
    for row in rows:
        key = (row["model"], row["dataset"])
        if "env_diff" not in row or key in seen:
            continue
        seen.add(key)
        discrepant = any(r.get("verdict") == Verdict.DISCREPANT for r in rows
                         if (r["model"], r["dataset"]) == key)
        what = "is discrepant" if discrepant else (row.get("identity") or "differs from the reference")
        out.append(f"{row['model']} x {row['dataset']} {what}; its environment against the "
                   "reference receipt:" + ("" if row["env_diff"] else " no difference found"))
        out += [f"  - {line}" for line in row["env_diff"]]
    return out
