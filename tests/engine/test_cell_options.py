"""Protocol options of a fine-tune cell, on a short run of the smoke TC cell (in process)."""

import pytest

from tests.engine.conftest import SMOKE


def short_manifest(tmp_path, **replacements):
    text = SMOKE.read_text().replace("./../assets/", str(SMOKE.parents[1] / "assets") + "/")
    text = text.replace("../assets/", str(SMOKE.parents[1] / "assets") + "/")
    text = text.replace("max_steps: {value: 200,", "max_steps: {value: 20,").replace("eval_every: {value: 50,",
                                                                                    "eval_every: {value: 10,")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "short.yaml"
    path.write_text(text)
    return path


def run_tc(path, tmp_path):
    from bioeval.engine.cell import run_cell
    from bioeval.manifest import cells, load_manifest
    from bioeval.runs import RunDir, read_json, read_jsonl
    from bioeval.settings import Settings

    loaded = load_manifest(path)
    cell = cells(loaded, "dataset=smoke-tc")[0]
    # the manifest reads the repository's assets by absolute path: a manifest this test wrote, trusted
    settings = Settings(workdir=tmp_path / "runs", cache_dir=tmp_path / "cache", allow_outside_paths=True)
    scores = run_cell(loaded, cell, settings, show_progress=False)
    rd = RunDir(settings.workdir, cell.run_id)
    return scores, read_json(rd.receipt), read_jsonl(rd.predictions)


@pytest.mark.slow
def test_select_on_test_is_reported_as_such(tmp_path):
    path = short_manifest(tmp_path, **{"select_on: {value: validation, source: paper}":
                                       "select_on: {value: test, source: assumed}"})
    scores, receipt, _ = run_tc(path, tmp_path)
    assert scores["select_on"] == "test" and receipt["selection"]["split"] == "test"
    assert [h["step"] for h in receipt["selection"]["history"]] == [10, 20]
    assert scores["selected_checkpoint"] in (10, 20)
    # selecting on test: the selected checkpoint's selection score IS the reported test score
    best = next(h for h in receipt["selection"]["history"] if h["step"] == scores["selected_checkpoint"])
    assert best["metrics"]["f1"] == pytest.approx(scores["metrics"]["f1"])


@pytest.mark.slow
def test_truncated_prompts_are_recorded_and_skipped(tmp_path):
    path = short_manifest(tmp_path, **{"max_prompt_tokens: {value: 256,": "max_prompt_tokens: {value: 16,"})
    scores, _, preds = run_tc(path, tmp_path)
    assert preds and all(p["prompt_truncated"] for p in preds)  # every TC prompt is longer than 16 tokens
    assert scores["skipped"] == len(preds) and scores["n"] == 0  # the authors' scorer skips them, gold included


@pytest.mark.slow
def test_fresh_test_sample_per_checkpoint(tmp_path):
    from bioeval.data.subsample import checkpoint_seed, subsample
    from bioeval.runs import read_json

    path = short_manifest(tmp_path, **{"select_on: {value: validation, source: paper}":
                                       "select_on: {value: test, source: assumed}\n"
                                       "    test_subsample: {value: 40, source: assumed}\n"
                                       "    subsample_seed: {value: 7, source: assumed}\n"
                                       "    test_sampling: {value: fresh-per-checkpoint, source: assumed}"})
    scores, receipt, preds = run_tc(path, tmp_path)
    samples = receipt["test_sampling"]["samples"]
    assert receipt["test_sampling"]["scheme"] == "fresh-per-checkpoint" and sorted(samples) == ["10", "20"]
    assert samples["10"] != samples["20"]  # a new sample for every checkpoint, as the lab's code draws
    assert samples["10"] == subsample(list(range(96)), 40, checkpoint_seed(7, 10))[1]
    # the reported test set is the selected checkpoint's own sample, and its score is that checkpoint's
    selected = scores["selected_checkpoint"]
    assert [p["id"] for p in preds] == [f"test-{i}" for i in samples[str(selected)]]
    best = next(h for h in receipt["selection"]["history"] if h["step"] == selected)
    assert best["metrics"]["f1"] == pytest.approx(scores["metrics"]["f1"])
    runs = tmp_path / "runs"
    (sub,) = list(runs.rglob("test_subsample.json"))
    assert read_json(sub)["step"] == selected and read_json(sub)["scheme"] == "fresh-per-checkpoint"


@pytest.mark.slow
def test_selected_on_test_the_selection_pass_is_the_reported_test_set(tmp_path):
    """The best checkpoint's own test pass is reported, not generated twice; generating it again
    from that checkpoint (a run resumed after training) gives the same predictions, byte for byte."""
    from bioeval.manifest import cells, load_manifest
    from bioeval.runs import RunDir

    path = short_manifest(tmp_path, **{"select_on: {value: validation, source: paper}":
                                       "select_on: {value: test, source: assumed}"})
    scores, receipt, _ = run_tc(path, tmp_path)
    assert receipt["test_predictions"] == {"from_selection_pass": scores["selected_checkpoint"]}
    assert receipt["timings_s"]["test_generation"] < 1.0  # nothing generated after training
    rd = RunDir(tmp_path / "runs", cells(load_manifest(path), "dataset=smoke-tc")[0].run_id)
    first = rd.predictions.read_bytes()
    for p in (rd.predictions, rd.scores, rd.receipt):  # as if killed after the last checkpoint
        p.unlink()
    rd.set_status("failed", error="interrupted")
    again, receipt2, _ = run_tc(path, tmp_path)
    assert "test_predictions" not in receipt2  # resumed: the passes were in the earlier process
    assert rd.predictions.read_bytes() == first and again["metrics"] == scores["metrics"]



@pytest.mark.slow
def test_top_layers_and_a_training_subsample_reach_the_cell(tmp_path):
    """lora.top_layers and training.train_subsample through a real cell: the receipt counts the
    texts drawn of the split, and the adapter sits in the top layer only."""
    import json

    from tests.engine.conftest import TINY

    path = short_manifest(tmp_path, **{
        "    target_modules:": "    top_layers: {value: 1, source: assumed}\n    target_modules:",
        "    shuffle_seed: {value: 42, source: authors-code}":
            "    shuffle_seed: {value: 42, source: authors-code}\n    train_subsample: {value: 40, source: assumed}"})
    scores, receipt, _ = run_tc(path, tmp_path)
    assert receipt["training_texts"]["texts"] == 40 and receipt["training_texts"]["of"] == 480
    config = json.loads((TINY / "config.json").read_text())
    assert config["num_hidden_layers"] > 1
    d, ff, r = config["hidden_size"], config["intermediate_size"], 16  # the smoke's lora.r
    kv = config["num_key_value_heads"] * config["head_dim"]
    one_layer = r * ((d + d) + (d + kv) * 2 + (d + d) + (d + ff) * 2 + (ff + d))  # q, k, v, o, gate, up, down
    assert receipt["trained"]["trainable_parameters"] == one_layer
    assert scores["n"] > 0
