"""`bioeval lock`: pin a manifest in place (comments and layout kept, via ruamel.yaml round-trip).

- model ``revision`` that is a branch or tag -> the commit the Hub resolves it to, and
  ``verified: true``; a 40-hex revision with ``verified`` not true -> confirmed on the Hub
  (``HfApi().model_info(repo, revision=...).sha``) and marked ``verified: true``;
- each Hub model's ``generation_config.json`` at the pinned commit -> ``generation_config``
  (do_sample, temperature, top_p, ... and the file's sha256, or ``file: absent``): under
  decoding mode ``faithful`` it decides whether generation samples;
- Hugging Face data sources (``hf.revision``) that are not commits -> the commit;
- a url/hf data source with ``sha256: null`` -> downloaded (cache, mirror, source) and hashed.

Local paths (``local:`` data, ``revision: ./...`` models) are left alone: they are private
copies whose bytes differ between users.  The manifest is read as YAML, not through full
validation, because a branch revision does not validate until lock has pinned it.
``--check`` computes the same but writes nothing; the CLI exits 1 if anything would change.
Existing sha256 values are not re-verified here: `bioeval fetch` does that for every file.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bioeval.errors import BioevalError, UsageError
from bioeval.manifest.schema import COMMIT_RE, Source, is_local_path


@dataclass
class LockResult:
    path: Path
    changes: list[str] = field(default_factory=list)  # "where: old -> new"
    problems: list[str] = field(default_factory=list)  # what could not be resolved, and why
    written: bool = False


def _yaml(text: str = ""):
    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap long lines (urls, prompts)
    # keep the file's list style: "  - key:" under a key (indented dashes) or "- key:" (flush)
    if re.search(r"^(\s*)\w[^:\n]*:\s*(#.*)?\n(\s*#.*\n)*\1  - ", text, re.M):
        y.indent(mapping=2, sequence=4, offset=2)
    return y


def _hub_sha(repo: str, revision: str, repo_type: str) -> str:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None)
    info = api.model_info(repo, revision=revision) if repo_type == "model" else \
        api.repo_info(repo, revision=revision, repo_type=repo_type)
    if not info.sha:
        raise BioevalError(f"the Hub returned no commit for {repo}@{revision}.")
    return info.sha


def _why(exc: Exception) -> str:
    if isinstance(exc, BioevalError):
        return exc.message
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _lock_models(doc, result: LockResult) -> None:
    for i, model in enumerate(doc.get("models") or []):
        repo, rev = model.get("repo"), str(model.get("revision", ""))
        where = f"models[{i}] ({model.get('key')})"
        if not repo or not rev or is_local_path(rev):
            continue
        recorded = model.get("generation_config") or {}
        if COMMIT_RE.match(rev) and model.get("verified") is True and recorded.get("revision") == rev:
            continue
        try:
            sha = _hub_sha(repo, rev, "model")
        except Exception as exc:
            result.problems.append(f"{where}: could not resolve {repo}@{rev}: {_why(exc)}")
            continue
        if COMMIT_RE.match(rev) and sha != rev:
            result.problems.append(f"{where}: the Hub resolves {repo}@{rev} to {sha}; check the revision.")
            continue
        _lock_generation_config(model, repo, sha, where, result)
        if sha != rev:
            model["revision"] = sha
            result.changes.append(f"{where}.revision: {rev} -> {sha}")
        if model.get("verified") is not True:
            before = model.get("verified", "unset")
            if "verified" in model:
                model["verified"] = True
            else:
                model.insert(list(model.keys()).index("revision") + 1, "verified", True)
            result.changes.append(f"{where}.verified: {before} -> true")


# the decoding keys of a repo's generation_config.json that change what generate() does
DECODING_KEYS = ("do_sample", "temperature", "top_p", "top_k", "repetition_penalty", "num_beams")


def read_generation_config(repo: str, revision: str) -> dict:
    """The decoding part of ``generation_config.json`` at ``revision`` (``file: absent`` when the repo has
    none, so transformers' defaults apply: greedy) with the file's sha256."""
    import hashlib
    import json

    from huggingface_hub import hf_hub_download
    from huggingface_hub import errors as hf_errors

    try:
        path = hf_hub_download(repo, "generation_config.json", revision=revision,
                               endpoint=os.environ.get("HF_ENDPOINT") or None)
    except hf_errors.EntryNotFoundError:
        return {"revision": revision, "file": "absent"}
    data = Path(path).read_bytes()
    config = json.loads(data)
    out = {"revision": revision, "file": "generation_config.json", "sha256": hashlib.sha256(data).hexdigest()}
    out.update({k: config[k] for k in DECODING_KEYS if k in config})
    return out


def _lock_generation_config(model, repo: str, sha: str, where: str, result: LockResult) -> None:
    """Record what the repo's generation_config.json says about decoding at the pinned commit
    (under decoding mode `faithful`, it decides whether generate() samples)."""
    from ruamel.yaml.comments import CommentedMap

    try:
        found = read_generation_config(repo, sha)
    except Exception as exc:
        result.problems.append(f"{where}: generation_config.json of {repo}@{sha} not read: {_why(exc)}")
        return
    before = _plain(model.get("generation_config"))
    if before == found:
        return
    value = CommentedMap(found)
    value.fa.set_flow_style()
    if "generation_config" in model:
        model["generation_config"] = value
    else:
        keys = list(model.keys())
        model.insert(keys.index("verified") + 1 if "verified" in keys else keys.index("revision") + 1,
                     "generation_config", value)
    result.changes.append(f"{where}.generation_config: {before or 'unset'} -> {found}")


def _lock_data(doc, base_dir: Path, settings, result: LockResult) -> None:
    from bioeval.data.sources import fetch_source

    for i, dataset in enumerate(doc.get("datasets") or []):
        for split_name, split in (dataset.get("splits") or {}).items():
            source = split.get("source") or {}
            where = f"datasets[{i}] ({dataset.get('key')}).splits.{split_name}.source"
            hf = source.get("hf")
            if hf and not COMMIT_RE.match(str(hf.get("revision", ""))):
                rev = str(hf.get("revision", "main"))
                try:
                    sha = _hub_sha(hf["repo"], rev, hf.get("repo_type", "dataset"))
                except Exception as exc:
                    result.problems.append(f"{where}.hf: could not resolve {hf.get('repo')}@{rev}: {_why(exc)}")
                    continue
                hf["revision"] = sha
                result.changes.append(f"{where}.hf.revision: {rev} -> {sha}")
            if source.get("local") is not None or source.get("sha256"):
                continue
            try:
                src = Source.model_validate(_plain(source))
                fetched = fetch_source(src, base_dir, settings, label=f"{dataset.get('key')}/{split_name}")
            except Exception as exc:
                result.problems.append(f"{where}: sha256 not filled: {_why(exc)}")
                continue
            source["sha256"] = fetched.sha256
            result.changes.append(f"{where}.sha256: null -> {fetched.sha256}")


def _plain(node):
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def lock_manifest(path: str | Path, settings, write: bool = True) -> LockResult:
    import yaml as yaml_errors  # PyYAML: the depth check's scanner
    from ruamel.yaml.error import YAMLError

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    y = _yaml(text)
    try:
        from bioeval.manifest.yaml_positions import check_depth

        check_depth(text, str(path))  # before ruamel composes it recursively
        doc = y.load(text)
    except (YAMLError, yaml_errors.YAMLError) as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]}).",
                         "Run `bioeval validate` on it for the exact line.") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{path}: a manifest is a YAML mapping (paper:, models:, ...).")
    result = LockResult(path)
    _lock_models(doc, result)
    _lock_data(doc, path.parent, settings, result)
    if write and result.changes:
        from bioeval.runs.atomic import write_text

        buf = io.StringIO()
        y.dump(doc, buf)
        write_text(path, buf.getvalue())
        result.written = True
    return result


def render_lock(result: LockResult, console, check: bool) -> None:
    verb = "would change" if check else ("changed" if result.written else "changes")
    if result.changes:
        console.print(f"[bold]{result.path}[/bold]: {len(result.changes)} value(s) {verb}:", soft_wrap=True)
        for c in result.changes:
            console.print(f"  {c}", soft_wrap=True)
    else:
        console.print(f"[bold]{result.path}[/bold]: already locked (nothing to change).", soft_wrap=True)
    for p in result.problems:
        console.print(f"  [red]not locked[/red] {p}", soft_wrap=True)
