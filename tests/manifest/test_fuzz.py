"""Property test: whatever a mutated manifest looks like, loading it either works or raises a
ManifestError (exit 2, located problems): never any other exception."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from tests.json_shapes import json_values, paths

from bioeval.errors import ManifestError
from bioeval.manifest import cells, load_manifest
from bioeval.manifest.summary import plan_json

MINIMAL_TEXT = (Path(__file__).parent / "minimal.yaml").read_text()
MINIMAL = yaml.safe_load(MINIMAL_TEXT)
LINES = MINIMAL_TEXT.splitlines()

values = json_values((-10**6, 10**12), text_size=20, key_size=8, leaves=8)


ALL_PATHS = [p for p in paths(MINIMAL) if p]


def set_path(obj, path, value, delete=False):
    import copy
    obj = copy.deepcopy(obj)
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    elif delete and isinstance(parent, list):
        parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return obj


def check(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text)
    try:
        loaded = load_manifest(path)
    except ManifestError as exc:
        assert exc.problems and all(p.file == str(path) for p in exc.problems)
        assert all(str(p) for p in exc.problems)
        return
    plan_json(loaded, cells(loaded))  # a manifest that loads must also resolve


fuzz = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz
@given(path=st.sampled_from(ALL_PATHS), value=values, delete=st.booleans())
def test_structural_mutations_never_crash(tmp_path, path, value, delete):
    check(tmp_path, yaml.safe_dump(set_path(MINIMAL, path, value, delete), allow_unicode=True))


@fuzz
@given(data=st.data())
def test_textual_mutations_never_crash(tmp_path, data):
    lines = list(LINES)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        op = data.draw(st.sampled_from(["delete", "duplicate", "insert", "swap", "truncate"]))
        if op == "delete":
            lines.pop(i)
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            pos = data.draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + data.draw(st.text(max_size=6)) + lines[i][pos:]
        elif op == "swap":
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))]
        if not lines:
            break
    check(tmp_path, "\n".join(lines) + "\n")
