"""Whether a run folder is what it claims to be: readable, bounded, and the cell's own run.

Every check returns one line saying what is wrong (or None), never raises on a hostile
folder: `verify` marks that run invalid with the line and goes on with the others, and `run`
never takes such a folder for a finished cell.

A run folder belongs to its cell only when its folder name, ``spec.run_id``,
``receipt.run_id`` and the run id recomputed from spec.json agree, and spec.json and the
receipt name the cell's model and dataset.  Folders and files that are symbolic links are
refused: a run folder is the directory a run wrote (a plain copy of it is fine).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from bioeval.errors import Unusable
from bioeval.runs import names

MAX_JSON_BYTES = 16 << 20  # spec/status/receipt/scores.json are a few KB
MAX_PREDICTIONS_BYTES = 1 << 30  # the 1M-prediction re-scoring bench fits; a paper's test set is a few MB
MAX_JSON_DEPTH = 64  # spec.json nests 5 levels
RUN_FILES = (names.SPEC, names.STATUS, names.RECEIPT, names.SCORES, names.PREDICTIONS)
SPEC_EXTRA = ("run_id", "name")  # written into spec.json beside the spec the run id hashes



def depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion (a hostile file must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if d > MAX_JSON_DEPTH:
                return d
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def file_problem(path: Path, limit: int) -> str | None:
    """Why ``path`` (which exists) is not a plain file of at most ``limit`` bytes, or None."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link: a run's files must be the ones it wrote (copy the folder instead)"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if st.st_size > limit:
        return f"{path} is {st.st_size:,} bytes, over the {limit:,}-byte limit for a run's file"
    return None


def read_json(path: Path) -> Any:
    """The JSON value at ``path``, or None when absent; Unusable with one line when it cannot be used."""
    if not os.path.lexists(path):
        return None
    problem = file_problem(path, MAX_JSON_BYTES)
    if problem:
        raise Unusable(problem)
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except RecursionError:
        raise Unusable(f"{path} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (OSError, ValueError) as exc:  # ValueError: JSONDecodeError and UnicodeDecodeError
        raise Unusable(f"{path} is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    if depth(value) > MAX_JSON_DEPTH:
        raise Unusable(f"{path} is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def spec_problem(spec: Any, where: Path) -> str | None:
    """Why spec.json's shape is not a run's spec (the fields verify and the scorer read), or None."""
    if not isinstance(spec, dict):
        return f"{where} is not a JSON object"
    for part in ("model", "dataset"):
        if not isinstance(spec.get(part), dict) or not _text(spec[part].get("key")):
            return f"{where}: {part}.key is missing or not a string"
    if not _text(spec.get("run_id")):
        return f"{where}: run_id is missing or not a string"
    if not isinstance(spec.get("protocol"), dict):
        return f"{where}: protocol is not a JSON object"
    if not isinstance(spec["dataset"].get("task"), str):
        return f"{where}: dataset.task is missing or not a string"
    replicate = spec.get("replicate")
    if replicate is not None:
        if not isinstance(replicate, dict) or not isinstance(replicate.get("index"), int) \
                or isinstance(replicate.get("index"), bool) or replicate["index"] < 1 \
                or not _text(replicate.get("base_run_id")):
            return f"{where}: replicate must be {{\"index\": 1.., \"base_seed\", \"base_run_id\"}}"
    return None


def recomputed_run_id(spec: dict) -> str:
    from bioeval.manifest.resolve import run_id_of

    return run_id_of({k: v for k, v in spec.items() if k not in SPEC_EXTRA})


def seed_of(spec: dict):
    seed = (spec.get("protocol") or {}).get("seed")
    return seed.get("value") if isinstance(seed, dict) else seed


def identity_problem(path: Path, spec: dict, receipt: Any = None, *, model: str | None = None,
                     dataset: str | None = None) -> str | None:
    """Why the folder at ``path`` is not the run its spec.json describes (and, given, of this
    model and dataset), or None.  ``spec`` has passed spec_problem; ``receipt`` may be None."""
    name = path.name
    if path.is_symlink():
        return f"run folder {path} is a symbolic link: a run folder must be the directory the run wrote"
    if spec["run_id"] != name:
        return f"{path}: spec.json's run_id {spec['run_id']} differs from the folder's name (copied or renamed)"
    recomputed = recomputed_run_id(spec)
    if recomputed != name:
        return (f"{path}: spec.json hashes to run id {recomputed}, not the folder's name {name} "
                "(spec.json was edited after the run)")
    keys = (spec["model"]["key"], spec["dataset"]["key"])
    if (model, dataset) != (None, None) and keys != (model, dataset):
        return f"{path}: spec.json is of {keys[0]} x {keys[1]}, not of this cell ({model} x {dataset})"
    if receipt is not None:
        if not isinstance(receipt, dict):
            return f"{path / 'receipt.json'} is not a JSON object"
        if receipt.get("run_id") != name:
            return (f"{path / 'receipt.json'}: run_id {str(receipt.get('run_id'))[:40]!r} is not the folder's {name} "
                    "(not this run's receipt)")
        if (receipt.get("model"), receipt.get("dataset")) != keys:
            return (f"{path / 'receipt.json'}: names {str(receipt.get('model'))[:40]} x "
                    f"{str(receipt.get('dataset'))[:40]}, not this run's {keys[0]} x {keys[1]}")
    replicate = spec.get("replicate")
    if replicate is not None:
        base = replicate.get("base_seed")
        if not isinstance(base, int) or seed_of(spec) != base + replicate["index"]:
            return (f"{path}: seed-study run {replicate['index']} has protocol.seed {seed_of(spec)!r}, not its base "
                    f"seed {base!r} + {replicate['index']}")
    return None


def receipt_problem(path: Path, receipt: Any) -> str | None:
    """Why a done run's receipt cannot pin its outputs, or None."""
    where = path / "receipt.json"
    if not isinstance(receipt, dict):
        return f"{where} is missing or not a JSON object"
    outputs = receipt.get("outputs")
    if not isinstance(outputs, dict) or not _text(outputs.get("predictions_sha256")):
        return f"{where} records no outputs.predictions_sha256: the predictions cannot be checked"
    return None


def group_problem(specs: list[tuple[Path, dict]]) -> str | None:
    """Why the runs of one seed study cannot be counted as separate seeds, or None."""
    seen: dict = {}
    for path, spec in specs:
        seed = json.dumps(seed_of(spec))
        if seed in seen:
            return f"{path}: same protocol.seed {seed} as {seen[seed].name}: a seed study needs distinct seeds"
        seen[seed] = path
    return None


def finished_problem(path: Path, run_id: str, expected: dict | None = None) -> str | None:
    """Why the folder of cell ``run_id`` does not hold that cell's run (None when it does): `run`
    resumes or skips only a folder whose spec.json is the cell's own (``expected``, when given)."""
    try:
        spec = read_json(path / "spec.json")
    except Unusable as exc:
        return str(exc)
    if spec is None:
        return f"{path / 'spec.json'} is missing"
    if not isinstance(spec, dict):
        return f"{path / 'spec.json'} is not a JSON object"
    if run_id != path.name:
        return f"{path} is not the folder of run {run_id}"
    if spec.get("run_id", run_id) != run_id:  # absent in pending folders older versions made for Slurm
        return f"{path}: spec.json's run_id {str(spec['run_id'])[:40]!r} differs from the folder's name (copied or renamed)"
    problem = None
    if path.is_symlink():
        problem = f"run folder {path} is a symbolic link: a run folder must be the directory the run wrote"
    elif recomputed_run_id(spec) != run_id:
        problem = f"{path}: spec.json hashes to run id {recomputed_run_id(spec)}, not the folder's name (copied or edited)"
    if problem is None and expected is not None and {k: v for k, v in spec.items() if k not in SPEC_EXTRA} != expected:
        problem = f"{path / 'spec.json'} is not this cell's spec (edited, or from another manifest)"
    return problem
