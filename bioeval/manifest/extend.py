"""New models (and datasets) on a paper's protocol, without copying the paper's manifest.

Two ways in, one meaning:
- `--add-model KEY=REPO@REVISION` or `KEY=./LOCAL/PATH` on the command line (repeatable;
  `--like EXISTING_KEY` copies that model's per-model protocol overrides and resources, and
  makes it the model the new one is paired with in comparisons): `add_models`;
- a small manifest with `extends: PAPER_MANIFEST` whose `models` / `datasets` add entries or
  replace entries of the same key: `resolve_extends`, called by `load_manifest`.

Added models and datasets carry `added: true`: their cells need no published values and are
reported with the verdict `new` (compared, not verified).  The paper's own cells keep their run
ids, so runs already in a workdir are reused.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from pydantic import ValidationError

from bioeval.errors import ManifestError, Problem, UsageError
from bioeval.manifest.schema import COMMIT_RE, KEY_PATTERN, Model, is_local_path

ADD_MODEL_HINT = ("Give KEY=ORG/NAME@<40-hex commit> (a Hugging Face repo at a pinned commit) or KEY=./PATH/TO/FOLDER "
                  "(a local model folder), e.g. --add-model mynew=Qwen/Qwen2.5-7B@<commit>.")
MAX_DEPTH = 5  # extends chains deeper than this are a mistake (or a cycle)


def parse_add_model(text: str, base_dir: Path) -> dict:
    """`KEY=REPO@REVISION` or `KEY=./LOCAL/PATH` -> a raw models entry (local paths relative to ``base_dir``)."""
    key, sep, target = text.partition("=")
    key, target = key.strip(), target.strip()
    if not sep or not key or not target:
        raise UsageError(f"--add-model {text!r}: expected KEY=REPO@REVISION or KEY=./LOCAL/PATH.", ADD_MODEL_HINT)
    if not re.match(KEY_PATTERN, key):
        raise UsageError(f"--add-model {text!r}: key {key!r} must be lowercase letters, digits, '.', '_' or '-'.",
                         ADD_MODEL_HINT)
    if is_local_path(target) or Path(target).expanduser().is_dir():
        folder = Path(target).expanduser().resolve()
        if not folder.is_dir():
            raise UsageError(f"--add-model {text!r}: no folder {folder}.", ADD_MODEL_HINT)
        rel = os.path.relpath(folder, Path(base_dir).resolve())
        revision = rel if rel.startswith("..") else f"./{rel}"
        return {"key": key, "paper_name": key, "repo": None, "revision": revision}
    repo, at, revision = target.rpartition("@")
    if not at or not repo:
        raise UsageError(f"--add-model {text!r}: no revision after '@'.", ADD_MODEL_HINT)
    if not COMMIT_RE.match(revision):
        raise UsageError(f"--add-model {text!r}: revision {revision!r} is not a 40-hex commit.",
                         "Pin the full commit from the Hub's history (a branch name would change under you). "
                         + ADD_MODEL_HINT)
    return {"key": key, "paper_name": key, "repo": repo, "revision": revision}


def inherit(entry: dict, like: dict | None) -> dict:
    """The entry with the per-model protocol overrides and resources of ``like`` where it gives none."""
    out = dict(entry)
    if like is not None:
        out.setdefault("protocol", like.get("protocol") or {})
        out.setdefault("resources", like.get("resources") or {})
        out.setdefault("architecture", like.get("architecture") or "")
    return out


def add_models(loaded, specs, like: str | None = None):
    """A copy of ``loaded`` with the models of ``specs`` (`KEY=REPO@REV` texts) added; ``loaded`` unchanged."""
    specs = list(specs or ())
    if not specs:
        if like:
            raise UsageError("--like needs --add-model.", "Example: --add-model mynew=ORG/NAME@<commit> --like phi-4")
        return loaded
    m = loaded.manifest
    by_key = {x.key: x for x in m.models}
    if like is not None and like not in by_key:
        import difflib

        close = difflib.get_close_matches(like, list(by_key), n=1)
        raise UsageError(f"--like {like!r}: no such model in {loaded.path}"
                         + (f"; did you mean {close[0]!r}?" if close else "."), f"Known: {', '.join(by_key)}.")
    base = by_key[like].model_dump(mode="json") if like else None
    new = []
    for text in specs:
        entry = inherit(parse_add_model(text, loaded.base_dir), base)
        if entry["key"] in by_key or any(x.key == entry["key"] for x in new):
            raise UsageError(f"--add-model {text!r}: model key {entry['key']!r} already exists in {loaded.path}.",
                             "Choose another key; replacing a paper's model is done in an `extends:` manifest.")
        entry.update(added=True, like=like, verified=False,
                     note=f"added with --add-model{' --like ' + like if like else ''}")
        try:
            new.append(Model.model_validate(entry))
        except ValidationError as exc:
            detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
            raise UsageError(f"--add-model {text!r}: {detail}.", ADD_MODEL_HINT) from None
    manifest = m.model_copy(update={"models": m.models + tuple(new)})
    return replace(loaded, manifest=manifest)


def load_with_additions(path, specs=(), like: str | None = None):
    from bioeval.manifest.load import load_manifest

    return add_models(load_manifest(path), specs, like)


# ----------------------------------------------------------------------------- extends: PAPER_MANIFEST

def resolve_extends(path: Path, raw, positions: dict, depth: int = 0) -> tuple:
    """(raw, positions, bytes of the base files) with ``extends:`` merged in; unchanged without it.

    The child's `models` and `datasets` replace base entries of the same key and append new
    ones (marked `added: true`); `expected` merges per model and dataset; `exclude` and
    `deviations` are appended; other sections (protocol, tolerance, ...) merge key by key.
    Relative local paths of the base are rewritten relative to the child's folder."""
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw, positions, b""
    file = str(path)
    target = raw.get("extends")
    base_path = (Path(path).parent / str(target)).resolve() if isinstance(target, str) else None
    if base_path is None or not base_path.is_file():
        line, col = positions.get(("extends",), (None, None))
        raise ManifestError([Problem(file, line, col, "extends",
                                     f"extends: {target!r} is not a manifest file (relative to {Path(path).parent}).")])
    if depth >= MAX_DEPTH:
        raise ManifestError([Problem(file, None, None, "extends", f"extends chain deeper than {MAX_DEPTH} (a cycle?).")])
    from bioeval.manifest.yaml_positions import load_yaml

    base_raw, _, problems = load_yaml(base_path)
    if problems:
        raise ManifestError(problems)
    base_raw, _, more = resolve_extends(base_path, base_raw, {}, depth + 1)
    if not isinstance(base_raw, dict):
        raise ManifestError([Problem(str(base_path), 1, 1, "", "a manifest is a YAML mapping (paper:, models:, ...).")])
    rebase(base_raw, base_path.parent, Path(path).parent)
    if "keep" in raw:
        raw = dict(raw)
        keep_only(base_raw, raw.pop("keep"), file, positions)
    merged = merge_manifests(base_raw, raw)
    # only the child's positions are known; keys of the base are reported without a line
    return merged, positions, base_path.read_bytes() + more


def keep_only(base: dict, keep, file: str, positions: dict) -> None:
    """`keep: {models: [...], datasets: [...]}` in an extends manifest: the base's entries not named
    are dropped (with their expected values, exclusions, scoped tolerances and the claims that name
    them), so a miniature of
    a paper's grid can reuse the paper's protocol without listing every cell it leaves out."""
    allowed = {"models", "datasets"}
    if not isinstance(keep, dict) or not set(keep) <= allowed or not all(
            isinstance(v, list) and all(isinstance(k, str) for k in v) for v in keep.values()):
        line, col = positions.get(("keep",), (None, None))
        raise ManifestError([Problem(file, line, col, "keep",
                                     "keep: takes `models: [KEY, ...]` and/or `datasets: [KEY, ...]` (keys of the "
                                     "extended manifest).")])
    for section in allowed & set(keep):
        known = [e.get("key") for e in base.get(section) or [] if isinstance(e, dict)]
        for i, key in enumerate(keep[section]):
            if key not in known:
                line, col = positions.get(("keep", section, i), (None, None))
                raise ManifestError([Problem(file, line, col, f"keep.{section}[{i}]",
                                             f"{key!r} is not a {section[:-1]} of the extended manifest; "
                                             f"known: {', '.join(map(str, known))}.")])
        base[section] = [e for e in base.get(section) or [] if isinstance(e, dict) and e.get("key") in keep[section]]
    models = {e["key"] for e in base.get("models") or []}
    datasets = {e["key"] for e in base.get("datasets") or []}

    def kept(entry) -> bool:
        return not isinstance(entry, dict) or (entry.get("model") in (None, *models)
                                               and entry.get("dataset") in (None, *datasets))

    base["expected"] = {m: {d: v for d, v in (per or {}).items() if d in datasets}
                        for m, per in (base.get("expected") or {}).items() if m in models}
    base["expected"] = {m: per for m, per in base["expected"].items() if per}
    base["exclude"] = [e for e in base.get("exclude") or [] if kept(e)]
    if isinstance(base.get("claims"), list):  # the paper's sentences about entries no longer kept
        from bioeval.claims.validate import names_only
        base["claims"] = [c for c in base["claims"] if names_only(c, models, datasets)]
    tolerance = base.get("tolerance")
    if isinstance(tolerance, dict):
        for key in ("overrides", "seed_spread", "selection_bias", "sampling"):
            if isinstance(tolerance.get(key), list):
                tolerance[key] = [e for e in tolerance[key] if kept(e)]


def merge_manifests(base: dict, child: dict) -> dict:
    from bioeval.manifest.protocols import merge_protocol

    out = dict(base)
    for key, value in child.items():
        if key in ("models", "datasets") and isinstance(value, list):
            entries = list(base.get(key) or [])
            index = {e.get("key"): i for i, e in enumerate(entries) if isinstance(e, dict)}
            for entry in value:
                if not isinstance(entry, dict):
                    entries.append(entry)
                elif entry.get("key") in index:
                    entries[index[entry["key"]]] = entry
                else:
                    added = dict(entry)
                    added.setdefault("added", True)
                    if key == "models" and added.get("like"):
                        like = next((e for e in entries if isinstance(e, dict) and e.get("key") == added["like"]), None)
                        added = inherit(added, like)
                    entries.append(added)
            out[key] = entries
        elif key in ("exclude", "deviations") and isinstance(value, list):
            out[key] = list(base.get(key) or []) + value
        elif key == "expected" and isinstance(value, dict):
            expected = {k: dict(v) for k, v in (base.get("expected") or {}).items() if isinstance(v, dict)}
            for model, per_dataset in value.items():
                expected.setdefault(model, {}).update(per_dataset or {})
            out[key] = expected
        elif key == "extends":
            out[key] = value
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = merge_protocol(base[key], value)
        else:
            out[key] = value
    return out


def rebase(raw: dict, old: Path, new: Path) -> None:
    """Rewrite relative local paths (model revisions, data sources) from folder ``old`` to folder ``new``."""
    if Path(old).resolve() == Path(new).resolve():
        return

    def moved(p: str) -> str:
        rel = os.path.relpath(Path(old).resolve() / p, Path(new).resolve())
        return rel if rel.startswith("..") else f"./{rel}"

    for model in raw.get("models") or []:
        rev = model.get("revision") if isinstance(model, dict) else None
        if isinstance(rev, str) and rev.startswith(("./", "../")):
            model["revision"] = moved(rev)
    for dataset in raw.get("datasets") or []:
        for split in ((dataset or {}).get("splits") or {}).values() if isinstance(dataset, dict) else ():
            source = (split or {}).get("source") if isinstance(split, dict) else None
            local = source.get("local") if isinstance(source, dict) else None
            if isinstance(local, str) and not local.startswith(("/", "~", "$")):
                source["local"] = moved(local)
