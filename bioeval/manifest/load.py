"""Load a manifest file: YAML with positions -> schema -> cross-references, every problem at once."""

from __future__ import annotations

import difflib
import hashlib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bioeval.errors import ManifestError, Problem
from bioeval.redact import looks_secret
from bioeval.manifest.protocols import protocol_for
from bioeval.manifest.schema import METRICS, COMMIT_RE, Manifest, Protocol
from bioeval.manifest.yaml_positions import dotted, load_yaml, locate


@dataclass
class LoadedManifest:
    path: Path
    manifest: Manifest
    raw: dict
    positions: dict
    sha256: str
    warnings: list[Problem] = field(default_factory=list)
    # (model key, dataset key) -> (model, dataset, protocol): each cell's protocol as load built
    # it to check it, kept so that resolving the cells does not merge and validate it again
    protocols: dict = field(default_factory=dict, repr=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def protocol_of(self, model, dataset):
        """The cell's merged, validated protocol (the one load checked, for the same entries)."""
        kept = self.protocols.get((model.key, dataset.key))
        if kept is not None and kept[0] is model and kept[1] is dataset:
            return kept[2]
        return protocol_for(self.manifest, self.raw["protocol"], model, dataset)


def load_manifest(path: str | Path) -> LoadedManifest:
    """Parse and validate; raise ManifestError listing every problem."""
    path = Path(path)
    raw, positions, problems = load_yaml(path)
    from bioeval.manifest.extend import resolve_extends  # `extends: PAPER_MANIFEST`

    raw, positions, base_bytes = resolve_extends(path, raw, positions)
    file = str(path)
    if not isinstance(raw, dict):
        raise ManifestError(problems + [Problem(file, 1, 1, "", "a manifest is a YAML mapping (paper:, models:, ...).")])
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        raise ManifestError(problems + _pydantic_problems(exc, file, positions, Manifest)) from None
    protocols: dict = {}
    problems += _cross_check(manifest, raw, file, positions, protocols)
    if problems:
        raise ManifestError(problems)
    digest = hashlib.sha256(path.read_bytes() + base_bytes).hexdigest()
    return LoadedManifest(path, manifest, raw, positions, digest, _warnings(manifest, file, positions), protocols)


# ----------------------------------------------------------------------------- pydantic -> problems

def _pydantic_problems(exc: ValidationError, file: str, positions: dict, root: type[BaseModel],
                       prefix: tuple = ()) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        raw = tuple(err["loc"])
        # an unknown key is the user's own text (it may hold "["): keep it as it is, clean the path to it
        own = _clean_loc(raw[:-1]) + [raw[-1]] if err["type"] == "extra_forbidden" and raw else _clean_loc(raw)
        loc = prefix + tuple(own)
        line, col = locate(positions, loc)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = _unknown_key_message(root, tuple(own))
        elif err["type"] == "missing":
            message = "required field is missing; add it."
        elif err["type"] == "string_type" and isinstance(err.get("input"), (int, float)):
            message = f"expected text, but YAML read a number ({err['input']!r}); quote the value."
        elif "input" in err and not isinstance(err["input"], (dict, list)) and err["type"] != "value_error":
            message += f" (got {err['input']!r})"
        problems.append(Problem(file, line, col, dotted(loc), message))
    return problems


def _clean_loc(loc) -> list:
    # pydantic inserts union-member tags and generic names ("Prov[int]"); drop them
    return [p for p in loc if isinstance(p, int) or ("[" not in p and p not in ("function-after", "function-before"))]


def _unknown_key_message(root: type[BaseModel], loc: tuple) -> str:
    key = loc[-1]
    allowed = _fields_at(root, loc[:-1])
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}; {hint}allowed here: {', '.join(sorted(allowed))}."


def _fields_at(root: type, loc: tuple) -> list[str]:
    """Field names of the model reached by following ``loc`` from ``root`` (best effort)."""
    current: list[Any] = [root]
    for part in loc:
        nxt: list[Any] = []
        for ann in current:
            for t in _models_in(ann):
                if isinstance(part, str) and part in t.model_fields:
                    nxt.append(t.model_fields[part].annotation)
                    continue
            args = typing.get_args(ann)
            origin = typing.get_origin(ann)
            if origin in (list, tuple) and args:
                nxt.append(args[0])
            elif origin is dict and len(args) == 2:
                nxt.append(args[1])
            elif origin in (typing.Union, types.UnionType):
                for a in args:
                    if typing.get_origin(a) in (list, tuple, dict):
                        sub = typing.get_args(a)
                        nxt.append(sub[-1] if typing.get_origin(a) is dict else sub[0])
        current = nxt
    names: set[str] = set()
    for ann in current:
        for t in _models_in(ann):
            names.update(t.model_fields)
    return sorted(names)


def _models_in(ann: Any) -> list[type[BaseModel]]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    return [a for a in typing.get_args(ann) if isinstance(a, type) and issubclass(a, BaseModel)]


# ----------------------------------------------------------------------------- cross-references

def _cross_check(m: Manifest, raw: dict, file: str, positions: dict, protocols: dict) -> list[Problem]:
    """What the schema cannot see: keys that refer to other entries, cells without expected
    values, protocol overrides that break the merged protocol; every problem, not just the first.
    ``protocols`` receives each cell's protocol (LoadedManifest.protocols)."""
    problems: list[Problem] = []

    def add(loc: tuple, message: str) -> None:
        line, col = locate(positions, loc)
        problems.append(Problem(file, line, col, dotted(loc), message))

    model_keys = [x.key for x in m.models]
    dataset_keys = [x.key for x in m.datasets]
    _check_unique_keys(model_keys, dataset_keys, add)
    excluded = _check_exclude(m, model_keys, dataset_keys, add)
    _check_expected(m, model_keys, dataset_keys, excluded, add)
    _check_references(m, model_keys, dataset_keys, add)
    problems.extend(_override_problems(m, raw, file, positions))
    for i, d in enumerate(m.datasets):
        if d.task == "NER" and d.format != "zhan2024-json" and not d.labels:
            add(("datasets", i, "labels"), "NER datasets converted from raw tags need labels (tag-id map).")
    from bioeval.claims.validate import check_claims
    check_claims(m, add)
    if not problems:  # else a broken override would be reported again for every cell it is part of
        _check_cells(m, raw, excluded, add, protocols)
    _check_local_paths(m, add)
    return problems


def _check_key(add, loc: tuple, key: str | None, keys: list[str], what: str) -> bool:
    """Whether `key` (None: not given) names one of `keys`; if not, a problem with the closest one."""
    if key is None or key in keys:
        return True
    close = difflib.get_close_matches(key, keys, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    add(loc, f"unknown {what} key {key!r}; {hint}known: {', '.join(keys)}.")
    return False


def _check_unique_keys(model_keys: list[str], dataset_keys: list[str], add) -> None:
    for section, keys in (("models", model_keys), ("datasets", dataset_keys)):
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if key in seen:
                add((section, i, "key"), f"duplicate key {key!r}; keys must be unique.")
            seen.add(key)


def _check_exclude(m: Manifest, model_keys: list[str], dataset_keys: list[str], add) -> set:
    """The excluded (model, dataset) cells, each key checked."""
    excluded = set()
    for i, ex in enumerate(m.exclude):
        _check_key(add, ("exclude", i, "model"), ex.model, model_keys, "model")
        _check_key(add, ("exclude", i, "dataset"), ex.dataset, dataset_keys, "dataset")
        excluded.add((ex.model, ex.dataset))
    return excluded


def _check_expected(m: Manifest, model_keys: list[str], dataset_keys: list[str], excluded: set, add) -> None:
    """Expected values: known keys, every metric, none for an excluded cell, and (once a paper
    gives any) one entry for every cell that is neither excluded nor added."""
    for mk, per_dataset in m.expected.items():
        if not _check_key(add, ("expected", mk), mk, model_keys, "model"):
            continue
        for dk, metrics in per_dataset.items():
            if not _check_key(add, ("expected", mk, dk), dk, dataset_keys, "dataset"):
                continue
            missing = [x for x in METRICS if x not in metrics]
            if missing:
                add(("expected", mk, dk), f"missing expected {', '.join(missing)}; give precision, recall and f1 for every cell.")
            if (mk, dk) in excluded:
                add(("expected", mk, dk), "this cell is excluded but has expected values; remove one of the two.")
    if m.expected:
        added = {x.key for x in m.models if x.added} | {x.key for x in m.datasets if x.added}
        for mk in model_keys:
            for dk in dataset_keys:
                if (mk, dk) not in excluded and dk not in m.expected.get(mk, {}) and not {mk, dk} & added:
                    add(("expected",), f"no expected values for cell {mk} x {dk}; add them or list the cell under exclude.")


def _check_references(m: Manifest, model_keys: list[str], dataset_keys: list[str], add) -> None:
    """The model and dataset keys that `like` and the tolerance's scoped entries name."""
    for i, x in enumerate(m.models):
        if x.like is not None:
            _check_key(add, ("models", i, "like"), x.like, model_keys, "model")
    for i, rule in enumerate(m.tolerance.overrides):
        _check_key(add, ("tolerance", "overrides", i, "model"), rule.model, model_keys, "model")
        _check_key(add, ("tolerance", "overrides", i, "dataset"), rule.dataset, dataset_keys, "dataset")
    for section in ("seed_spread", "selection_bias", "sampling"):
        for i, scope in enumerate(getattr(m.tolerance, section)):
            _check_key(add, ("tolerance", section, i, "model"), scope.model, model_keys, "model")
            _check_key(add, ("tolerance", section, i, "dataset"), scope.dataset, dataset_keys, "dataset")


def _override_problems(m: Manifest, raw: dict, file: str, positions: dict) -> list[Problem]:
    """A model's or dataset's protocol overrides must still give a valid protocol once merged
    into the defaults (located inside the override)."""
    problems: list[Problem] = []
    for section, entries in (("models", m.models), ("datasets", m.datasets)):
        for i, entry in enumerate(entries):
            if not entry.protocol:
                continue
            scope = {"model": entry} if section == "models" else {"dataset": entry}
            try:
                protocol_for(m, raw["protocol"], **scope)
            except ValidationError as exc:
                problems.extend(_pydantic_problems(exc, file, positions, Protocol, (section, i, "protocol")))
    return problems


def _check_cells(m: Manifest, raw: dict, excluded: set, add, protocols: dict) -> None:
    """What only the resolved protocol of a cell shows: a max_new_tokens for its dataset's task;
    each valid protocol goes into ``protocols``."""
    for model in m.models:
        for j, dataset in enumerate(m.datasets):
            if (model.key, dataset.key) in excluded:
                continue
            try:
                protocol = protocol_for(m, raw["protocol"], model, dataset)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                add(("datasets", j, "protocol"), f"cell {model.key} x {dataset.key}: the merged protocol is "
                    f"invalid at {dotted(tuple(_clean_loc(first['loc'])))}: {first['msg']}.")
                continue
            protocols[(model.key, dataset.key)] = (model, dataset, protocol)
            if dataset.task not in protocol.decoding.max_new_tokens.value:
                have = ", ".join(protocol.decoding.max_new_tokens.value) or "none"
                add(("datasets", j, "task"), f"cell {model.key} x {dataset.key}: protocol.decoding.max_new_tokens "
                    f"has no entry for task {dataset.task} (it has {have}); add `{dataset.task}: N` there.")


VAR_RE = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _check_local_paths(m: Manifest, add) -> None:
    """`${VAR}` in a local path: only a declared data location, only as the path's first part."""
    declared = {loc.var for loc in m.data_locations}
    for i, d in enumerate(m.datasets):
        for split, s in d.splits.items():
            local = s.source.local
            if local is None:
                continue
            loc = ("datasets", i, "splits", split, "source", "local")
            for n, match in enumerate(VAR_RE.finditer(local)):
                name = match.group(1) if match.group(1) is not None else match.group(2)
                if looks_secret(name):
                    add(loc, f"{d.key}/{split}: ${{{name}}} looks like a secret (token, key, password); "
                        "a local path never expands one.")
                elif name not in declared:
                    listed = ", ".join(sorted(declared)) or "none"
                    add(loc, f"{d.key}/{split}: ${{{name}}} is not a declared data location (declared: {listed}); "
                        f"add `data_locations: [{{var: {name}, note: ...}}]` at the top of the manifest.")
                elif match.group(1) is None or n > 0 or match.start() != 0 or \
                        local[match.end():match.end() + 1] not in ("/", ""):
                    add(loc, f"{d.key}/{split}: write the data location as the path's first part, "
                        f"${{{name}}}/file (got {local!r}).")
            if "$" in local and not VAR_RE.search(local):
                add(loc, f"{d.key}/{split}: a `$` in a local path ({local!r}); only ${{VAR}}/file of a declared "
                    "data location is expanded.")


def _warnings(m: Manifest, file: str, positions: dict) -> list[Problem]:
    out = []
    for i, d in enumerate(m.datasets):
        for split, s in d.splits.items():
            loc = ("datasets", i, "splits", split, "source")
            line, col = locate(positions, loc)
            if s.source.hf and not COMMIT_RE.match(s.source.hf.revision):
                out.append(Problem(file, line, col, dotted(loc + ("hf", "revision")),
                                   f"{d.key}/{split}: revision {s.source.hf.revision!r} is a branch, not a commit; run `bioeval lock`."))
            if s.source.sha256 is None and s.source.kind != "local":
                out.append(Problem(file, line, col, dotted(loc + ("sha256",)),
                                   f"{d.key}/{split}: no sha256 yet; `bioeval lock` fills it where the file is reachable."))
    return out + _ambiguous_declarations(m, file, positions)


def _ambiguous_declarations(m: Manifest, file: str, positions: dict) -> list[Problem]:
    """Two scoped tolerance declarations naming equally many fields that both match a cell:
    the precedence (manifest/scopes.py) decides, and the author should know which won."""
    from bioeval.manifest.scopes import FIELDS, ambiguities

    cells = [(x.key, d.key, d.task) for x in m.models for d in m.datasets]
    out = []
    for kind in ("seed_spread", "selection_bias", "sampling"):
        rules = getattr(m.tolerance, kind)
        for amb in ambiguities(rules, cells):
            i, j, w = amb["first"], amb["second"], amb["winner"]
            loc = ("tolerance", kind, j)
            line, col = locate(positions, loc)

            def names(k):
                return ", ".join(f"{f} {getattr(rules[k], f)}" for f in FIELDS if getattr(rules[k], f) is not None)

            shown = ", ".join(f"{mk} x {dk}" for mk, dk, _ in amb["cells"][:3])
            more = f" and {len(amb['cells']) - 3} more" if len(amb["cells"]) > 3 else ""
            model, dataset = amb["cells"][0][:2]
            out.append(Problem(file, line, col, dotted(loc),
                               f"tolerance.{kind}[{i}] ({names(i)}) and [{j}] ({names(j)}) both match {shown}{more}; "
                               f"[{w}] wins ({'it names the model' if rules[w].model else 'the later one'}, "
                               "docs/statistics.md). If the other is meant there, add a declaration naming both, "
                               f"e.g. {{model: {model}, dataset: {dataset}, ...}}."))
    return out


