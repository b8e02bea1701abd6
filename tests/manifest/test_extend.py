"""New models on a paper's protocol: --add-model and `extends: PAPER_MANIFEST`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.verify.factory import write_manifest

from bioeval.manifest import cells, load_manifest
from bioeval.manifest.extend import add_models

REPO = Path(__file__).resolve().parents[2]
HEX = "0123456789abcdef0123456789abcdef01234567"


def test_add_model_to_the_paper_manifest_gives_new_cells_without_expected_values(bioeval_cli):
    code, out, err = bioeval_cli("plan", REPO / "manifests" / "deepseek_bionlp.yaml", "--add-model",
                                 f"mynew=ORG/NAME@{HEX}", "--json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    new = [r for r in runs if r["model"] == "mynew"]
    assert len(runs) == 156 and len(new) == 12
    assert all(r["expected"] == {} and r["added"] and r["repo"] == "ORG/NAME" for r in new)
    assert all(r["expected"] for r in runs if r["model"] != "mynew")


def test_like_inherits_overrides_and_keeps_the_paper_run_ids():
    path = REPO / "manifests" / "deepseek_bionlp.yaml"
    loaded = load_manifest(path)
    phi = next(m for m in loaded.manifest.models if m.key == "phi-4")
    extended = add_models(loaded, [f"mynew=ORG/NAME@{HEX}"], like="phi-4")
    new = next(m for m in extended.manifest.models if m.key == "mynew")
    assert new.protocol == phi.protocol and new.resources == phi.resources and new.like == "phi-4"
    assert {c.run_id for c in cells(loaded)} <= {c.run_id for c in cells(extended)}  # paper cells unchanged
    assert len(cells(loaded)) == 144 and len(loaded.manifest.models) == 12  # the original is untouched


def test_extends_adds_models_and_datasets_and_replaces_by_key(tmp_path, bioeval_cli):
    base = write_manifest(tmp_path)
    child_dir = tmp_path / "regression"
    child_dir.mkdir()
    (child_dir / "local-model").mkdir()
    child = child_dir / "new.yaml"
    child.write_text(f"""\
extends: ../mini.yaml
models:
  - {{key: mynew, paper_name: My-New, repo: org/new, revision: "{HEX}", like: big}}
  - {{key: local, paper_name: Local, revision: ./local-model}}
datasets:
  - key: extra
    paper_name: ExtraSet
    task: TC
    splits:
      test: {{source: {{local: extra_test.json}}, records: 10}}
deviations:
  - {{what: "A newer tokenizer", why: "the release changed it"}}
""")
    loaded = load_manifest(child)
    m = loaded.manifest
    assert [x.key for x in m.models] == ["tiny", "big", "mynew", "local"]
    assert m.models[2].added and m.models[2].resources.gpus == 4  # inherited from big
    assert [x.key for x in m.datasets][-1] == "extra" and m.datasets[-1].added
    assert m.models[0].revision == "../tiny"  # base paths rebased to the child's folder
    assert m.datasets[0].splits["test"].source.local == "../ee_test.json"
    assert [d.what for d in m.deviations][-1] == "A newer tokenizer" and len(m.deviations) == 2
    all_cells = cells(loaded)
    assert len(all_cells) == 4 * 4
    assert sum(1 for c in all_cells if not c.expected) == 4 * 4 - 2 * 3  # only the paper's cells have values
    # the paper's cells keep their values; a changed file changes the digest
    assert m.expected["tiny"]["ee"]["f1"].value == 0.80
    code, out, err = bioeval_cli("validate", child)
    assert code == 0, err
    # replacing a model by key (e.g. a corrected pin) keeps its published values
    child.write_text(f"extends: ../mini.yaml\nmodels:\n  - {{key: big, paper_name: Big-Model-70B, repo: org/big, "
                     f"revision: \"{HEX}\"}}\n")
    again = load_manifest(child)
    assert [x.key for x in again.manifest.models] == ["tiny", "big"] and again.manifest.models[1].repo == "org/big"
    assert not again.manifest.models[1].added and again.manifest.expected["big"]["ee"]["f1"].value == 0.90


def test_extends_errors_name_the_file(tmp_path, bioeval_cli):
    child = tmp_path / "bad.yaml"
    child.write_text("extends: nowhere.yaml\n")
    code, _, err = bioeval_cli("validate", child)
    assert code == 2 and "extends" in err and "nowhere.yaml" in err and "Traceback" not in err
    child.write_text("extends: bad.yaml\n")  # itself
    code, _, err = bioeval_cli("validate", child)
    assert code == 2 and "deeper than" in err
