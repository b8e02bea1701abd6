"""Download a model snapshot at its pinned revision (huggingface_hub), honouring HF_TOKEN.

The token is read from the environment by huggingface_hub itself and is never logged,
written to a receipt or put into an error message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from bioeval.errors import BioevalError, ModelError
from bioeval.manifest.schema import Model, is_local_path

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings

WEIGHT_PATTERNS = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]


def model_kind(model: Model) -> str:
    """Where a model's weights come from: "gguf" (a pinned GGUF file, converted once), "local" (a
    folder relative to the manifest) or "hub" (a pinned Hugging Face snapshot)."""
    if model.gguf is not None:
        return "gguf"
    return "local" if is_local_path(model.revision) else "hub"


def local_folder(model: Model, base_dir: Path) -> Path:
    """A local model's folder: its revision, relative to the manifest's folder."""
    return (Path(base_dir) / model.revision).expanduser().resolve()


def fetch_model(model: Model, settings=None, cache_dir: Path | None = None, base_dir: Path | None = None) -> Path:
    """Local folder of ``model`` at its pinned revision (downloaded when not cached yet); for a GGUF
    model the folder it is converted into (engine/gguf.py)."""
    if model_kind(model) == "gguf":
        from bioeval.engine.gguf import model_folder
        from bioeval.settings import default_cache_dir
        cache = cache_dir or (settings.cache_dir if settings is not None else None) or default_cache_dir()
        return model_folder(model, Path(base_dir or "."), Path(cache))
    if model_kind(model) == "local":
        raise ModelError(f"model {model.key} is a local path ({model.revision}); there is nothing to fetch.")
    if model.repo is None:
        raise ModelError(f"model {model.key} has a commit revision but no repo.", "Set models[].repo (owner/name).")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError,
                                        RevisionNotFoundError)

    cache = cache_dir or (settings.cache_dir if settings is not None else None)
    hub_cache = Path(cache) / "models" if cache else None
    try:
        path = snapshot_download(model.repo, revision=model.revision, cache_dir=hub_cache,
                                 allow_patterns=WEIGHT_PATTERNS, token=os.environ.get("HF_TOKEN") or None)
    except GatedRepoError:
        has_token = bool(os.environ.get("HF_TOKEN"))
        raise ModelError(
            f"model {model.key}: {model.repo} is a gated repository and "
            + ("the HF_TOKEN given has no access to it." if has_token else "no HF_TOKEN is set."),
            f"Accept the license at https://huggingface.co/{model.repo} with your account, then "
            "export HF_TOKEN=<a read token of that account> and run again.") from None
    except RevisionNotFoundError:
        raise ModelError(f"model {model.key}: revision {model.revision} does not exist in {model.repo}.",
                         "Check models[].revision (run `bioeval lock` to resolve a branch to a commit).") from None
    except RepositoryNotFoundError:
        raise ModelError(f"model {model.key}: repository {model.repo} not found (or private).",
                         "Check models[].repo; for a private repo export HF_TOKEN.") from None
    except LocalEntryNotFoundError:
        raise ModelError(f"model {model.key}: {model.repo}@{model.revision[:12]} is not cached and the Hub is "
                         "unreachable (offline, or HF_HUB_OFFLINE=1).",
                         "Connect to the internet or fill the cache (`bioeval fetch`) on a machine that can.") from None
    return Path(path)


def fetch_model_rows(loaded: LoadedManifest, settings: Settings, cells: list[Cell]) -> list[dict]:
    """The snapshot of every model the cells use, as rows like the data stage's fetch rows (local
    models: checked), with "model" where those have "dataset" (data.fetch_all.input_name reads either)."""
    rows, seen = [], set()
    for c in cells:
        m = c.model
        if m.key in seen:
            continue
        seen.add(m.key)
        row = {"model": m.key, "dataset": None, "split": "model", "origin": "unavailable", "sha256": None, "sha256_ok": None,
               "records": None, "expected": None, "ok": False, "detail": ""}
        try:
            kind = model_kind(m)
            if kind == "gguf":
                path = fetch_model(m, settings, base_dir=loaded.base_dir)
                row.update(origin="gguf", ok=True, path=str(path), sha256=m.gguf.sha256, sha256_ok=True,
                           detail=f"GGUF {m.gguf.sha256[:12]} converted to {path}")
            elif kind == "local":
                path = local_folder(m, loaded.base_dir)
                ok = (path / "config.json").is_file()
                row.update(origin="local", ok=ok, path=str(path),
                           detail="" if ok else f"{path} holds no config.json (models[{m.key}].revision)")
            else:
                path = fetch_model(m, settings)
                row.update(origin="hub", ok=True, path=str(path), detail=f"{m.repo}@{m.revision[:12]}")
        except BioevalError as exc:
            row["detail"] = str(exc)
        rows.append(row)
    return rows
