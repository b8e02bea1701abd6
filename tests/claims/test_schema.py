"""The `claims:` section: its forms, and located errors for what a claim names."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from bioeval.claims.schema import ClaimMetric, ClaimSource
from bioeval.errors import ManifestError
from bioeval.manifest import load_manifest
from bioeval.manifest.schema import METRICS, SourceKind
from tests.verify.factory import MANIFEST, write_manifest

CLAIMS = """
claims:
  - id: tiny-beats-big
    where: "Results, paragraph 1"
    quote: "Tiny beats Big on events."
    check: {kind: comparison, a: tiny, b: big, datasets: [ee], relations: {f1: higher}}
  - id: vague
    where: "Discussion"
    quote: "Models do well."
    not_checkable: "names no value"
"""


def _load(tmp_path: Path, text: str):
    path = write_manifest(tmp_path, MANIFEST + text)
    return load_manifest(path)


def test_claims_load_with_their_check_or_reason(tmp_path):
    claims = _load(tmp_path, CLAIMS).manifest.claims
    assert [c.id for c in claims] == ["tiny-beats-big", "vague"]
    assert claims[0].check.relations == {"f1": "higher"} and claims[0].source == "paper"
    assert claims[1].check is None and claims[1].not_checkable == "names no value"


def test_the_claims_literals_are_the_manifests():
    assert typing.get_args(ClaimMetric) == METRICS
    assert typing.get_args(ClaimSource) == typing.get_args(SourceKind)


@pytest.mark.parametrize("old, new, where, words", [
    ("a: tiny,", "a: tinyy,", "claims[0].check.a", "unknown model key 'tinyy'; did you mean 'tiny'?"),
    ("datasets: [ee]", "datasets: [eee]", "claims[0].check.datasets[0]", "unknown dataset key 'eee'"),
    ("relations: {f1: higher}", "relations: {f2: higher}", "claims[0].check.relations", "f2"),
])
def test_unknown_model_dataset_or_metric_is_located(tmp_path, old, new, where, words):
    with pytest.raises(ManifestError) as exc:
        _load(tmp_path, CLAIMS.replace(old, new))
    problems = [p for p in exc.value.problems if p.field.startswith(where)]
    assert problems, [str(p) for p in exc.value.problems]
    assert words in problems[0].message
    text = (tmp_path / "mini.yaml").read_text().splitlines()
    assert new.split(":")[0].split("[")[0].strip() in text[problems[0].line - 1]  # the line it names


def test_a_claim_needs_a_check_or_a_reason_and_its_kinds_fields(tmp_path):
    with pytest.raises(ManifestError) as exc:
        _load(tmp_path, CLAIMS.replace('    not_checkable: "names no value"\n', ""))
    assert any("exactly one of them" in p.message for p in exc.value.problems)
    with pytest.raises(ManifestError) as exc:
        _load(tmp_path, CLAIMS.replace("relations: {f1: higher}", "relations: {}"))
    assert any("a comparison check needs relations" in p.message for p in exc.value.problems)


def test_duplicate_ids_and_a_ranking_beyond_its_field(tmp_path):
    text = CLAIMS.replace("id: vague", "id: tiny-beats-big") + """\
  - id: top
    where: "Results"
    quote: "Tiny is among the top three."
    check: {kind: ranking, models: [tiny], datasets: [ee], top: 3}
"""
    with pytest.raises(ManifestError) as exc:
        _load(tmp_path, text)
    messages = " ".join(p.message for p in exc.value.problems)
    assert "duplicate claim id 'tiny-beats-big'" in messages
    assert "top 3 is more than the 2 models" in messages
