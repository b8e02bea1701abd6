"""Run ids: stable under key order, comments and whitespace; different when a pinned value changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bioeval.manifest import cells, load_manifest
from bioeval.manifest.protocols import merge_protocol

MINIMAL = Path(__file__).parent / "minimal.yaml"


def reorder(obj):
    if isinstance(obj, dict):
        return {k: reorder(obj[k]) for k in reversed(list(obj))}
    if isinstance(obj, list):
        return [reorder(v) for v in obj]
    return obj


def ids(path: Path) -> dict:
    return {(c.model.key, c.dataset.key): c.run_id for c in cells(load_manifest(path))}


def test_run_id_ignores_layout(tmp_path):
    base = ids(MINIMAL)
    rewritten = tmp_path / "rewritten.yaml"
    rewritten.write_text("# comment\n\n" + yaml.safe_dump(reorder(yaml.safe_load(MINIMAL.read_text())),
                                                           sort_keys=False, indent=4, width=200))
    assert ids(rewritten) == base
    assert len(set(base.values())) == len(base)  # one id per cell


def test_run_id_ignores_notes_but_not_values(tmp_path):
    base = ids(MINIMAL)
    text = MINIMAL.read_text()
    noted = tmp_path / "noted.yaml"
    noted.write_text(text.replace("{value: 8, source: paper}", "{value: 8, source: paper, note: a new note}"))
    assert ids(noted) == base
    for old, new in [
        ("0123456789abcdef0123456789abcdef01234567", "1123456789abcdef0123456789abcdef01234567"),
        ("TC_d1_test.json\", sha256: null", "TC_d1_test.json\", sha256: " + "a" * 64),
        ("{value: 8, source: paper}", "{value: 16, source: paper}"),
        ("{value: 1.0e-5, source: paper}", "{value: 2.0e-5, source: paper}"),
    ]:
        changed = tmp_path / "changed.yaml"
        changed.write_text(text.replace(old, new))
        assert ids(changed)[("m1", "d1")] != base[("m1", "d1")], old


def test_overrides_apply_per_cell(tmp_path):
    text = MINIMAL.read_text().replace(
        "    resources: {gpus: 1, time: \"01:00:00\"}",
        "    resources: {gpus: 1, time: \"01:00:00\"}\n    protocol: {training: {learning_rate: {value: 3.0e-4, source: assumed}}}")
    path = tmp_path / "override.yaml"
    path.write_text(text)
    by_model = {c.model.key: c for c in cells(load_manifest(path))}
    assert by_model["m1"].protocol.training.learning_rate.value == 3e-4
    assert by_model["m1"].protocol.training.learning_rate.source == "assumed"
    assert by_model["m2"].protocol.training.learning_rate.value == 1e-5
    assert by_model["m1"].protocol.training.max_steps.value == 100  # untouched siblings survive the merge


def test_merge_replaces_provenance_leaves_whole():
    base = {"a": {"value": 1, "source": "paper", "note": "n"}, "b": {"c": 1, "d": 2}}
    merged = merge_protocol(base, {"a": 2, "b": {"c": 3}})
    assert merged == {"a": 2, "b": {"c": 3, "d": 2}}


def test_zero_shot_cells_without_a_training_section_get_a_run_id(tmp_path):
    """Fields added later are left out of the spec at their old default (resolve.LATER_DEFAULTS); a
    zero-shot protocol may have no training section at all, and its cells must still resolve."""
    from tests.verify.factory import write_manifest

    resolved = cells(load_manifest(write_manifest(tmp_path)))
    assert resolved and all(c.spec["protocol"]["mode"] == "zero-shot" for c in resolved)
    assert all(c.spec["protocol"].get("training") is None and len(c.run_id) == 16 for c in resolved)


def test_a_training_subsample_changes_run_ids_only_when_set(tmp_path):
    """training.train_subsample, added after run ids were recorded: null (every text) leaves them."""
    from bioeval.errors import ManifestError
    from bioeval.manifest import cells, load_manifest

    smoke = Path(__file__).resolve().parents[2] / "manifests" / "smoke.yaml"
    text = smoke.read_text().replace("../assets/", str(smoke.parents[1] / "assets") + "/")
    anchor = "    shuffle_seed: {value: 42, source: authors-code}\n"
    assert anchor in text

    def ids(value):
        path = tmp_path / "m.yaml"
        path.write_text(text if value is None else text.replace(
            anchor, anchor + f"    train_subsample: {{value: {value}, source: assumed}}\n", 1))
        return [c.run_id for c in cells(load_manifest(path))]

    before = ids(None)
    assert ids("null") == before
    assert not set(ids(40)) & set(before)
    with pytest.raises(ManifestError, match="train_subsample must be at least 1"):
        ids(0)
