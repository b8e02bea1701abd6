"""Model snapshots for `bioeval fetch` and `reproduce`: rows like the data stage's fetch rows (torch-free)."""

from __future__ import annotations

from pathlib import Path

from bioeval.errors import BioevalError
from bioeval.manifest.schema import is_local_path


def fetch_models(loaded, settings, only: str | None = None) -> list[dict]:
    from bioeval.manifest import cells

    rows, seen = [], set()
    for c in cells(loaded, only):
        m = c.model
        if m.key in seen:
            continue
        seen.add(m.key)
        row = {"dataset": m.key, "split": "model", "origin": "unavailable", "sha256": None, "sha256_ok": None,
               "records": None, "expected": None, "ok": False, "detail": ""}
        try:
            if is_local_path(m.revision):
                path = (loaded.base_dir / m.revision).expanduser().resolve()
                ok = (path / "config.json").is_file()
                row.update(origin="local", ok=ok, path=str(path),
                           detail="" if ok else f"{path} holds no config.json (models[{m.key}].revision)")
            else:
                from bioeval.engine.model_fetch import fetch_model
                path = fetch_model(m, settings)
                row.update(origin="hub", ok=True, path=str(path), detail=f"{m.repo}@{m.revision[:12]}")
        except BioevalError as exc:
            row["detail"] = str(exc)
        rows.append(row)
    return rows


def model_dir_ok(path: Path) -> bool:
    return (path / "config.json").is_file()
