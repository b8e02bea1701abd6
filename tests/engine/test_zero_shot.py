"""Zero-shot cells (Guo & Sarker): no training, the chat template, answers mapped by phrases."""

import json
import shutil

import pytest

from tests.engine.conftest import SMOKE, TINY

TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}<|assistant|>"


def zero_shot_manifest(tmp_path):
    model = tmp_path / "tiny-chat"
    shutil.copytree(TINY, model)
    config = json.loads((model / "tokenizer_config.json").read_text())
    (model / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": TEMPLATE}))
    text = SMOKE.read_text()
    text = text.replace("./../assets/tiny-llama", "./tiny-chat").replace("../assets/", str(SMOKE.parents[1] / "assets") + "/")
    head, _, _ = text.partition("\nprotocol:")
    protocol = """
protocol:
  mode: {value: zero-shot, source: paper}
  seed: {value: 0, source: assumed}
  prompt:
    inference_template: {value: "Is this sentence ADE-related? {inputsentence}", source: assumed}
    chat_template: {value: true, source: paper}
    system_prompt: {value: "Answer with related or not-related.", source: assumed}
    max_prompt_tokens: {value: 64, source: assumed}
  decoding:
    max_new_tokens: {value: {EE: 8, RE: 8, NER: 8, TC: 8}, source: assumed}
  scoring:
    scorer: {value: binary-prf, source: paper}
    positive_phrases: {value: ["related"], source: assumed}
    negative_phrases: {value: ["not-related"], source: assumed}
    bootstrap_resamples: {value: 200, source: assumed}
"""
    path = tmp_path / "zero.yaml"
    path.write_text(head + protocol)
    return path


@pytest.mark.slow
def test_zero_shot_cell_runs_without_training(tmp_path):
    from bioeval.engine.cell import run_cell
    from bioeval.engine.prompts import sha256_text
    from bioeval.manifest import cells, load_manifest
    from bioeval.runs import RunDir, read_json, read_jsonl
    from bioeval.settings import Settings

    loaded = load_manifest(zero_shot_manifest(tmp_path))
    cell = cells(loaded, "dataset=smoke-tc")[0]
    # the manifest reads the repository's assets by absolute path: a manifest this test wrote, trusted
    settings = Settings(workdir=tmp_path / "runs", cache_dir=tmp_path / "cache", allow_outside_paths=True)
    scores = run_cell(loaded, cell, settings, show_progress=False)
    rd = RunDir(settings.workdir, cell.run_id)
    assert not (rd.checkpoints).exists()  # nothing trained
    preds = read_jsonl(rd.predictions)
    test = json.loads((SMOKE.parents[1] / "assets" / "smoke-data" / "smoke_TC_test.json").read_text())
    first = ("<|system|>Answer with related or not-related.\n<|user|>Is this sentence ADE-related? "
             f"{test[0]['inputsentence']}\n<|assistant|>")
    assert preds[0]["prompt_sha256"] == sha256_text(first)  # the chat-templated prompt was used
    assert len(preds) == 96 and scores["scorer"] == "binary-prf" and scores["n"] == 96
    # the untrained random model states neither phrase: every answer invalid, counted, none skipped
    invalid = sum(1 for p in preds if "related" not in p["completion"].lower())
    assert scores["invalid"] == invalid and scores["skipped"] == 0
    assert all("prediction" not in p for p in preds)  # the full completion only: scorers cut their answer
    # the chain: scores.json is what its predictions give, and both hashes are in the receipt
    from bioeval.scoring.scores_json import build_scores
    from bioeval.data.cache import sha256_file
    from bioeval.verify.results import load_result

    assert build_scores(cell.run_id, read_json(rd.spec), rd.predictions) == {**scores, "inputs": {}}
    receipt = read_json(rd.receipt)
    assert receipt["outputs"] == {"predictions_sha256": sha256_file(rd.predictions),
                                  "scores_sha256": sha256_file(rd.scores)}
    assert scores["predictions_sha256"] == sha256_file(rd.predictions)
    assert scores["inputs"]["test"]["sha256"] == receipt["data"]["test"]["sha256"]
    assert load_result(rd.path, "run-id").invalid is None
    receipt = read_json(rd.receipt)
    assert receipt["model_pin"]["chat_template_sha256"] == sha256_text(TEMPLATE)
    assert "trained" not in receipt and scores["selected_checkpoint"] is None


@pytest.mark.slow
def test_test_subsample_is_seeded_and_saved(tmp_path):
    from bioeval.data import subsample
    from bioeval.engine.cell import run_cell
    from bioeval.manifest import cells, load_manifest
    from bioeval.runs import RunDir, read_json, read_jsonl
    from bioeval.settings import Settings

    path = zero_shot_manifest(tmp_path)
    path.write_text(path.read_text().replace("  decoding:\n", "  evaluation:\n    test_subsample: {value: 40, source: authors-code}\n"
                                             "    subsample_seed: {value: 7, source: assumed}\n  decoding:\n"))
    loaded = load_manifest(path)
    cell = cells(loaded, "dataset=smoke-tc")[0]
    # the manifest reads the repository's assets by absolute path: a manifest this test wrote, trusted
    settings = Settings(workdir=tmp_path / "runs", cache_dir=tmp_path / "cache", allow_outside_paths=True)
    scores = run_cell(loaded, cell, settings, show_progress=False)
    rd = RunDir(settings.workdir, cell.run_id)
    saved = read_json(rd.path / "test_subsample.json")
    _, expected = subsample(list(range(96)), 40, 7)
    assert saved == {"seed": 7, "n": 40, "indices": expected}
    assert [p["id"] for p in read_jsonl(rd.predictions)] == [f"test-{i}" for i in expected]
    assert scores["n"] == 40
