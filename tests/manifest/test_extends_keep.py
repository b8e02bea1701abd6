"""`keep:` in an extends manifest: the base's grid cut to the named models and datasets."""

from __future__ import annotations

from pathlib import Path

from bioeval.manifest import cells, load_manifest

PAPER = Path(__file__).resolve().parents[2] / "manifests" / "deepseek_bionlp.yaml"


def test_keep_drops_the_other_entries_with_their_expected_values_and_scoped_tolerances(tmp_path):
    child = tmp_path / "cut.yaml"
    child.write_text(f"extends: {PAPER}\nkeep: {{models: [phi-4, r1-distill-qwen-7b], datasets: [genia2011, ddi]}}\n")
    loaded = load_manifest(child)
    m = loaded.manifest
    assert [x.key for x in m.models] == ["phi-4", "r1-distill-qwen-7b"]
    assert [x.key for x in m.datasets] == ["genia2011", "ddi"]
    assert set(m.expected) == {"phi-4", "r1-distill-qwen-7b"}
    assert all(set(per) <= {"genia2011", "ddi"} for per in m.expected.values())
    for spread in m.tolerance.seed_spread:
        assert spread.model in (None, "phi-4", "r1-distill-qwen-7b") and spread.dataset in (None, "genia2011", "ddi")
    paper = {c.name: c.run_id for c in cells(load_manifest(PAPER))}
    kept = cells(loaded)
    assert len(kept) == 4 and all(paper[c.name] == c.run_id for c in kept)  # same cells, same run ids


def test_an_unknown_key_in_keep_is_located(tmp_path, bioeval_cli):
    child = tmp_path / "cut.yaml"
    child.write_text(f"extends: {PAPER}\nkeep: {{datasets: [phe]}}\n")
    code, _, err = bioeval_cli("validate", child)
    assert code == 2
    assert f"{child}:2:" in err and "keep.datasets[0]" in err and "known: phee" in err
