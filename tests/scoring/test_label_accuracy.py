"""label-accuracy (the canonical score of label tasks) and scores.json's "also" block."""

import pytest

from bioeval.scoring import Prediction, get_scorer, score
import json

from bioeval.scoring.also import also_from_spec
from bioeval.scoring.files import read_predictions
from bioeval.scoring.scores_json import build_scores


def acc(pred: str, gold: str, truncated: bool = False):
    return get_scorer("label-accuracy").counts(Prediction("i", pred, gold, truncated))


def test_exact_label_is_correct_after_light_normalisation():
    assert acc("CAUSES", "CAUSES").correct == 1
    assert acc(" causes.\nmore text", "CAUSES").correct == 1  # first line, case, final stop
    assert acc("'yes'", "yes").correct == 1


def test_a_different_or_partial_answer_is_wrong():
    assert acc("CAUSES, TREATS", "CAUSES").correct == 0  # set-F1 would give partial credit
    assert acc("TREATS", "CAUSES").correct == 0
    assert acc("", "CAUSES") == (0, 1, 1, False)


def test_label_sets_compare_as_sets():
    assert acc("Binding, Gene_expression", "Gene_expression, Binding").correct == 1


def test_truncated_prompts_are_skipped():
    assert acc("CAUSES", "CAUSES", truncated=True) is None


def test_accuracy_is_p_r_and_f1():
    preds = [Prediction(str(i), p, g) for i, (p, g) in enumerate([("a", "a"), ("b", "a"), ("a, b", "a"), ("c", "c")])]
    s = score(get_scorer("label-accuracy"), preds)
    assert s.precision == s.recall == s.f1 == 0.5


def test_also_block_scores_with_every_named_scorer(tmp_path):
    records = [{"id": "1", "completion": "[0, 1, 0]", "reference": "[0, 1, 0]", "prompt_truncated": False},
               {"id": "2", "completion": "[0, 0, 0]", "reference": "[0, 2, 0]", "prompt_truncated": False},
               {"id": "3", "completion": "[0]", "reference": "[0]", "prompt_truncated": True}]
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    labels = ["O", "B-Chemical", "B-Disease", "I-Disease", "I-Chemical"]
    spec = {"dataset": {"labels": labels, "task": "NER"},
            "protocol": {"scoring": {"scorer": "zhan2024-set-f1", "also": ["ner-entity-f1", "label-accuracy"],
                                     "bootstrap_resamples": 20}}}
    block = also_from_spec(spec, read_predictions(path), resamples=20)
    assert block["ner-entity-f1"]["metrics"]["precision"] == 1.0 and block["ner-entity-f1"]["metrics"]["recall"] == 0.5
    assert block["label-accuracy"]["metrics"]["f1"] == 0.5
    assert block["ner-entity-f1"]["skipped"] == 1 and block["ner-entity-f1"]["n"] == 2
    assert set(block["ner-entity-f1"]["ci"]) >= {"f1", "level"}
    scores = build_scores("r1", spec, path)  # scores.json carries the block, built by the one builder
    assert scores["also"] == block and scores["scorer"] == "zhan2024-set-f1"


def test_an_unknown_also_scorer_is_a_manifest_error():
    from bioeval.manifest.schema import ScoringSpec

    with pytest.raises(ValueError, match="unknown scorer 'entity-f1'"):
        ScoringSpec(scorer="zhan2024-set-f1", also=["entity-f1"])
