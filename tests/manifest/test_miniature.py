"""manifests/zhan2025_miniature.yaml is the paper's protocol at CPU scale: for every cell, the
resolved protocol equals the paper manifest's for that dataset except where the miniature itself
sets a value, and each value it sets is labelled `assumed` with its reason.  Any other difference
(a changed default in deepseek_bionlp.yaml that the miniature would silently not follow, or an
edit to the miniature outside its protocol overrides) fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bioeval.manifest import cells, load_manifest
from bioeval.manifest.protocols import merge_protocol
from bioeval.manifest.resolve import values_only
from bioeval.manifest.schema import Protocol

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"
MINIATURE, PAPER = MANIFESTS / "zhan2025_miniature.yaml", MANIFESTS / "deepseek_bionlp.yaml"


def flat(tree, prefix=()) -> dict[tuple, object]:
    if isinstance(tree, dict):
        out = {}
        for key, value in tree.items():
            out.update(flat(value, prefix + (key,)))
        return out
    return {prefix: tree}


def declared(tree, prefix=()) -> set[tuple]:
    """The protocol paths a manifest file itself sets (a provenance leaf {value, source, ...} is one path)."""
    if isinstance(tree, dict) and "value" in tree:
        return {prefix}
    if isinstance(tree, dict):
        return set().union(*(declared(v, prefix + (k,)) for k, v in tree.items())) if tree else set()
    return {prefix}


def leaves(tree, prefix=()):
    if isinstance(tree, dict) and "value" in tree:
        yield prefix, tree
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from leaves(v, prefix + (k,))


def outside(paths: set[tuple], declared_paths: set[tuple]) -> set[tuple]:
    """The paths not under any declared path (a declared {NER: 96, ...} covers its keys)."""
    return {p for p in paths if not any(p[:len(d)] == d for d in declared_paths)}


def protocol_difference(mini_loaded, paper_loaded) -> dict[str, set[tuple]]:
    """Per miniature cell: the protocol paths whose values differ from the paper's for that dataset
    (a dataset the paper lacks is compared with the paper's default protocol)."""
    paper_datasets = {d.key: d for d in paper_loaded.manifest.datasets}
    out = {}
    for cell in cells(mini_loaded):
        paper_raw = paper_loaded.raw["protocol"]
        if cell.dataset.key in paper_datasets and paper_datasets[cell.dataset.key].protocol:
            paper_raw = merge_protocol(paper_raw, paper_datasets[cell.dataset.key].protocol)
        ours = flat(values_only(cell.protocol))
        theirs = flat(values_only(Protocol.model_validate(paper_raw)))
        out[cell.name] = {path for path in ours.keys() | theirs.keys() if ours.get(path) != theirs.get(path)}
    return out


def allowed_changes(mini_raw: dict, dataset_keys) -> dict[str, set[tuple]]:
    """Per dataset: the paths the miniature's protocol sets, plus those its own dataset entry sets."""
    top = declared(mini_raw.get("protocol") or {})
    per_dataset = {d["key"]: declared(d.get("protocol") or {}) for d in mini_raw["datasets"]}
    return {key: top | per_dataset.get(key, set()) for key in dataset_keys}


# The only protocol values the miniature may change, each one a deviation it declares (the scale a
# CPU forces).  Adding an override to the manifest means adding it here, on purpose, with its
# deviation: a change labelled "CPU scale" does not pass by its label alone.
DECLARED = {
    "*": {("training", "learning_rate"), ("training", "warmup_ratio"), ("training", "max_steps"),
          ("training", "max_seq_length"), ("evaluation", "eval_every"), ("evaluation", "test_subsample"),
          ("prompt", "truncation")},
    "bc5cdr": {("decoding", "max_new_tokens")},
}
DEVIATION_WORDS = {("training", "learning_rate"): "learning rate", ("training", "warmup_ratio"): "warmup",
                   ("training", "max_steps"): "steps", ("training", "max_seq_length"): "64 tokens",
                   ("evaluation", "eval_every"): "checkpoints", ("evaluation", "test_subsample"): "test instances",
                   ("decoding", "max_new_tokens"): "new tokens", ("prompt", "truncation"): "cut-input"}


@pytest.fixture(scope="module")
def loaded():
    return load_manifest(MINIATURE), load_manifest(PAPER), yaml.safe_load(MINIATURE.read_text())


def test_every_cell_differs_from_the_paper_only_where_the_miniature_says(loaded):
    mini, paper, raw = loaded
    allowed = allowed_changes(raw, [d.key for d in mini.manifest.datasets])
    diffs = protocol_difference(mini, paper)
    assert len(diffs) == len(mini.manifest.datasets) >= 4
    for cell in cells(mini):
        undeclared = outside(diffs[cell.name], allowed[cell.dataset.key])
        assert not undeclared, f"{cell.name}: differs from the paper's protocol, undeclared: {sorted(undeclared)}"
    # and what the miniature declares really is a change (no override restating the paper's value)
    changed = set().union(*diffs.values())
    for path in set().union(*allowed.values()):
        assert any(p[:len(path)] == path for p in changed), f"{path} restates the paper's value"


def test_the_paper_protocol_values_that_matter_are_kept(loaded):
    mini, _, _ = loaded
    for cell in cells(mini):
        p = cell.protocol
        assert (p.training.quantization.value, p.training.optimizer.value, p.training.precision.value) == \
            ("nf4", "paged_adamw_8bit", "fp16")
        assert p.training.append_eos.value is False and p.training.max_grad_norm.value == 0.3
        assert p.decoding.per_sentence.value is True and p.decoding.eval_batch_size.value == 1
        assert p.evaluation.select_on.value == "test"
        assert p.evaluation.test_sampling.value == "fresh-per-checkpoint"
        assert p.scoring.scorer.value == "zhan2024-set-f1"


def test_every_change_is_labelled_assumed_with_a_reason(loaded):
    _, _, raw = loaded
    sections = [raw.get("protocol") or {}] + [d.get("protocol") or {} for d in raw["datasets"]]
    for section in sections:
        for path, leaf in leaves(section):
            # the scale a CPU forces, or the skip rule of issue 26 (no cell skips over 5% of its test)
            assert leaf["source"] == "assumed" and ("CPU" in leaf.get("note", "") or "issue 26" in leaf["note"]), path
    # the model, the scale and the TC stand-in (BC5CDR reads its real test split since issue 20)
    whats = " ".join(d["what"] for d in raw["deviations"])
    assert "SmolLM2" in whats and "LoRA steps" in whats and "BioASQ" in whats and "BC5CDR" not in whats


def test_the_miniature_overrides_exactly_the_declared_values(loaded):
    _, _, raw = loaded
    assert declared(raw.get("protocol") or {}) == DECLARED["*"]
    for d in raw["datasets"]:
        assert declared(d.get("protocol") or {}) == DECLARED.get(d["key"], set()), d["key"]
    deviations = " ".join(f"{d['what']} {d.get('why', '')}" for d in raw["deviations"])
    for path, word in DEVIATION_WORDS.items():
        assert word in deviations, f"{path} has no deviation that names it"


def test_a_change_labelled_cpu_scale_is_still_caught(loaded):
    """An override dressed as a CPU-scale change (here the LoRA rank) is not a declared deviation."""
    text = MINIATURE.read_text().replace(
        "  training:\n    learning_rate:",
        "  lora:\n    r: {value: 8, source: assumed, note: \"CPU scale\"}\n  training:\n    learning_rate:", 1)
    assert "r: {value: 8" in text
    raw = yaml.safe_load(text)
    assert declared(raw["protocol"]) != DECLARED["*"]  # what test_the_miniature_overrides_exactly... checks


def test_the_check_fails_on_an_undeclared_change(loaded, tmp_path):
    """A miniature that also changes, say, the LoRA rank without declaring it in its protocol is caught:
    here the change is smuggled in through the base manifest the miniature extends."""
    paper_text = PAPER.read_text().replace("r: {value: 64, source: paper", "r: {value: 16, source: paper")
    (tmp_path / "deepseek_bionlp.yaml").write_text(paper_text)
    (tmp_path / "zhan2025_miniature.yaml").write_text(MINIATURE.read_text())
    (tmp_path / "reference").mkdir()
    changed = load_manifest(tmp_path / "zhan2025_miniature.yaml")
    mini, paper, raw = loaded
    diffs = protocol_difference(changed, paper)
    allowed = allowed_changes(raw, [d.key for d in mini.manifest.datasets])
    assert all(("lora", "r") in outside(diffs[c], allowed[c.split(" x ")[1]]) for c in diffs)
