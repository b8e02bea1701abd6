"""One path from answer to score: the full completion is what every scorer sees, scores.json is
built by one function, re-scoring reproduces it exactly, and bad records are located errors."""

from __future__ import annotations

import json
import math
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bioeval.errors import UsageError
from bioeval.scoring import SCORERS, Prediction, get_scorer, score
from bioeval.scoring.files import count_table, instance_counts_of, read_predictions, score_file
from bioeval.scoring.scores_json import build_scores, disagreement

POS, NEG = "the tweet is self-reporting", "the tweet is not self-reporting"
LABELS = ["O", "B-Chemical", "B-Disease", "I-Disease", "I-Chemical"]
OPTIONS = {"positive_phrases": [POS], "negative_phrases": [NEG], "labels": LABELS}


def spec_for(name: str) -> dict:
    return {"model": {"key": "m"}, "dataset": {"key": "d", "task": "X", "labels": LABELS},
            "protocol": {"scoring": {"scorer": name, "positive_phrases": [POS], "negative_phrases": [NEG],
                                     "bootstrap_resamples": 300, "ci_level": 0.9, "bootstrap_seed": 7}}}


def records_for(name: str, n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        if name == "ner-entity-f1":
            gold = [rng.choice([0, 0, 0, 1, 2, 3, 4]) for _ in range(rng.randint(1, 12))]
            pred = gold if rng.random() < 0.5 else [rng.choice([0, 1, 2, 3, 4]) for _ in gold[:rng.randint(1, 12)]]
            reference, completion = str(gold), rng.choice([str(pred), str(pred).replace(" ", ""), "junk", ""])
            completion += rng.choice(["", "\nmore text", "\n[0, 1]"])
        elif name == "binary-prf":
            reference = rng.choice(["1", "0", POS])
            completion = rng.choice([POS, NEG, "Let me think.\n" + POS, "no idea", NEG.upper() + "!"])
        else:
            reference = ", ".join(rng.sample("ABCD", rng.randint(1, 2)))
            completion = rng.choice(["A", "A, B", "C, D", "", reference]) + rng.choice(["", "\nA, B, C, D"])
        out.append({"id": f"r{i}", "completion": completion, "reference": reference,
                    "prompt_truncated": rng.random() < 0.05})
    return out


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_rescoring_reproduces_scores_json_for_every_scorer(tmp_path, name):
    records = records_for(name, 400, random.Random(name))
    path = write(tmp_path / "predictions.jsonl", records)
    scores = build_scores("run1", spec_for(name), path)
    saved = json.loads(json.dumps(scores))  # what lands on disk
    again = build_scores("run1", spec_for(name), path)
    assert saved == again and disagreement(saved, again) is None
    # the engine's in-memory path (scorer.counts over the full completion) gives the same numbers
    scorer = get_scorer(name, **OPTIONS)
    direct = score(scorer, [Prediction(r["id"], r["completion"], r["reference"], r["prompt_truncated"])
                            for r in records])
    assert direct.metrics() == scores["metrics"] and (direct.n, direct.skipped, direct.invalid) == (
        scores["n"], scores["skipped"], scores["invalid"])
    assert scores["ci"]["resamples"] == 300 and scores["ci"]["level"] == 0.9 and scores["ci"]["seed"] == 7


def test_zero_shot_example_scores_the_same_both_ways(tmp_path):
    """The issue's finding: the full completion scored F1 1.0 in scores.json and 0.0 when re-scored."""
    completion = "Let me think.\nthe tweet is self-reporting"
    scorer = get_scorer("binary-prf", **OPTIONS)
    engine = score(scorer, [Prediction("1", completion, "1")])
    # a run directory of the old layout holds both fields: the completion wins
    path = write(tmp_path / "p.jsonl", [{"id": "1", "completion": completion, "prediction": "Let me think.",
                                        "reference": "1"}])
    rescored = score_file(scorer, path)
    assert engine.f1 == rescored.f1 == 1.0
    assert build_scores("r", spec_for("binary-prf"), path)["metrics"]["f1"] == 1.0


def test_set_f1_cuts_the_first_line_itself(tmp_path):
    path = write(tmp_path / "p.jsonl", [{"id": "1", "completion": "A, B\nC", "reference": "A, B"}])
    assert score_file(get_scorer("zhan2024-set-f1"), path).f1 == 1.0


def test_counts_table_matches_the_per_instance_counts(tmp_path):
    for name in SCORERS:
        records = records_for(name, 300, random.Random(1))
        table = read_predictions(write(tmp_path / f"{name}.jsonl", records))
        scorer = get_scorer(name, **OPTIONS)
        got = instance_counts_of(count_table(scorer, table))
        want = [(r["id"], scorer.counts(Prediction(r["id"], r["completion"], r["reference"])))
                for r in records if not r["prompt_truncated"]]
        assert got.ids == [i for i, _ in want]
        assert [tuple(c) for c in got.rows] == [tuple(c) for _, c in want]


LABEL_MAPS = [LABELS, ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "I-Y", "E-Y", "S-Y"],
              ["O"] + [f"{p}-T{i}" for i in range(6) for p in "BI"]]  # BIO, BIOES, 13 labels (two-digit ids)


def tag_text(ids, rng):
    style = rng.random()
    if style < 0.7:
        return str(ids)
    if style < 0.8:
        return "[" + ",".join(map(str, ids)) + "]"
    return rng.choice(["", "junk", "[0, x]", "[-1]", "[ 1 ,2 ]", "[00, 1]", "[0, 1]\n[2]", "[٣]", " [1, 2] ", "[10000000000000000000000000]", "[1, 12]",
                       "[007, 1]", "[0001]", "[120, 3]", "[1,  2]", "[1, 2] trailing", "[1]\r"])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), which=st.integers(0, len(LABEL_MAPS) - 1))
def test_ner_batch_equals_per_instance(seed, which):
    from bioeval.scoring.ner_f1 import NerEntityF1

    rng = random.Random(seed)
    labels = LABEL_MAPS[which]
    scorer = NerEntityF1(labels=labels)
    answers, refs = [], []
    for _ in range(rng.randint(1, 40)):
        gold = [rng.randrange(len(labels)) for _ in range(rng.randint(0, 9))]
        pred = gold if rng.random() < 0.3 else [rng.randrange(len(labels) + 1) for _ in range(len(gold) + rng.choice([0, 0, 1]))]
        refs.append(str(gold))
        answers.append(tag_text(pred, rng) + rng.choice(["", "\n[0]"]))
    batch = scorer.counts_many(answers, refs).tolist()
    one = [list(scorer.counts(Prediction("x", a, r))) for a, r in zip(answers, refs)]
    assert batch == [[c, p, g, int(i)] for c, p, g, i in one]


BAD = [
    ({"id": "1", "prediction": None, "reference": "A"}, "field 'completion' is null"),
    ({"id": "1", "prediction": 3, "reference": "A"}, "field 'completion' is a JSON int"),
    ({"id": "1", "prediction": ["A"], "reference": "A"}, "field 'completion' is a JSON list"),
    ({"id": "1", "completion": "A", "reference": None}, "field 'reference' is null"),
    ({"id": "1", "completion": "A", "reference": 1.5}, "field 'reference' is a JSON float"),
    ({"id": None, "completion": "A", "reference": "A"}, "field 'id' is null"),
    ({"id": "1", "completion": "A", "reference": "A", "prompt_truncated": "false"},
     "'prompt_truncated' is a JSON string (\"false\"); it must be true or false"),
    ({"id": "1", "completion": "A", "reference": "A", "prompt_truncated": 0}, "'prompt_truncated' is a JSON int"),
    ({"id": "1", "reference": "A"}, "missing field 'prediction' or 'completion'"),
    ({"id": "1", "prediction": "A"}, "missing field 'reference'"),
]


@pytest.mark.parametrize("record, message", BAD)
def test_bad_records_are_located_usage_errors(tmp_path, record, message):
    good = {"id": "0", "completion": "A", "reference": "A"}
    path = write(tmp_path / "p.jsonl", [good, record])
    with pytest.raises(UsageError) as err:
        read_predictions(path)
    assert f"{path}:2: " in str(err.value) and message in str(err.value)


def test_nan_and_duplicates_and_blank_lines(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "0", "completion": "A", "reference": "A"}\n\n{"id": "1", "completion": NaN, "reference": "A"}\n')
    with pytest.raises(UsageError, match=r"p.jsonl:3: record '1': field 'completion' is NaN"):
        read_predictions(path)
    path.write_text('{"id": "0", "completion": "A", "reference": "A"}\n{"id": "1", "completion": "A", "reference": "A"}\n'
                    '{"id": "0", "completion": "B", "reference": "A"}\n')
    with pytest.raises(UsageError, match=r"p.jsonl:3: duplicate id '0' \(first on line 1\)"):
        read_predictions(path)
    path.write_text('{"id": 1, "completion": "A", "reference": "A"}\n{"id": "1", "completion": "A", "reference": "A"}\n')
    with pytest.raises(UsageError, match="duplicate id '1'"):  # 1 and "1" are the same instance
        read_predictions(path)


def test_a_bad_reference_is_located(tmp_path):
    path = write(tmp_path / "p.jsonl", [{"id": "a", "completion": "[0]", "reference": "[0]"},
                                        {"id": "b", "completion": "[0]", "reference": "[9]"}])
    with pytest.raises(UsageError, match=r"p.jsonl:2: (record|instance) 'b': reference"):
        score_file(get_scorer("ner-entity-f1", labels=LABELS), path)


def test_score_cli_bad_inputs_exit_2_without_traceback(cli, tmp_path):
    for record, message in BAD[:3] + BAD[6:7]:
        path = write(tmp_path / "p.jsonl", [record])
        r = cli("score", "--scorer", "zhan2024-set-f1", str(path))
        assert r.returncode == 2 and f"{path}:1:" in r.stderr and "Traceback" not in r.stderr, r.stderr


# --- fuzzing: whatever a predictions file holds, reading and scoring it works or is a located UsageError

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10**20), st.floats(allow_nan=True, allow_infinity=True),
              st.text(max_size=12), st.sampled_from(["[0, 1]", "[1, 2, 0]", "[0,1]", POS, NEG, "A, B", ""])),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=4), children, max_size=3)),
    max_leaves=6)
records = st.lists(st.one_of(
    st.fixed_dictionaries({"id": st.one_of(st.text(max_size=3), st.integers(0, 5), json_values),
                           "completion": json_values, "reference": json_values},
                          optional={"prompt_truncated": json_values, "prediction": json_values}),
    json_values), max_size=6)
line_noise = st.lists(st.sampled_from(["", "  ", "{", "}", "\x00", "[1,", "\ufeff", "\r"]), max_size=2)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=records, noise=line_noise, name=st.sampled_from(sorted(SCORERS)))
def test_fuzz_predictions_files(tmp_path, rows, noise, name):
    lines = [json.dumps(r) for r in rows] + noise
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scorer = get_scorer(name, **OPTIONS)
    try:
        result = score_file(scorer, path, resamples=20)
    except UsageError as exc:
        assert str(path) in str(exc) and exc.exit_code == 2
        return
    assert 0 <= result.f1 <= 1 and not math.isnan(result.f1)
