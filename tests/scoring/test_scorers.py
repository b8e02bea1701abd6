"""Scorers against hand-computed cases (PROTOCOL.md 1.1 for set-F1) and seqeval (NER)."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bioeval.errors import UsageError
from bioeval.scoring import Counts, Prediction, get_scorer, score, scorer_for


def P(pred, ref, truncated=False, id="x"):
    return Prediction(id, pred, ref, truncated)


# --------------------------------------------------------------------------- zhan2024-set-f1

def test_set_f1_hand_computed():
    s = get_scorer("zhan2024-set-f1")
    assert s.counts(P("A, C\nsecond line, B", "A, B")) == Counts(1, 2, 2)  # first line only
    assert s.counts(P("  A, B  ", "A, B")) == Counts(2, 2, 2)  # stripped
    assert s.counts(P("", "")) == Counts(1, 1, 1)  # empty gold is the set {""}; empty answer matches it
    assert s.counts(P("Binding", "")) == Counts(0, 1, 1)
    assert s.counts(P("A, A, B", "A, B")) == Counts(2, 2, 2)  # duplicates collapse in a set
    assert s.counts(P("A,B", "A, B")) == Counts(0, 1, 2)  # split on ", " exactly, as the authors
    assert s.counts(P("A", "A", truncated=True)) is None  # skipped entirely


def test_set_f1_micro_sums_and_skips():
    s = get_scorer("zhan2024-set-f1")
    preds = [P("A, C", "A, B"), P("", ""), P("A, A, B", "A, B"), P("X, Y, Z", "X, Y, Z", truncated=True)]
    r = score(s, preds)
    # c = 1 + 1 + 2, p = 2 + 1 + 2, g = 2 + 1 + 2; the truncated instance's gold is not counted
    assert (r.correct, r.predicted, r.gold, r.n, r.skipped) == (4, 5, 5, 3, 1)
    assert r.precision == pytest.approx(0.8) and r.recall == pytest.approx(0.8) and r.f1 == pytest.approx(0.8)


def test_set_f1_multilabel_unequal_p_r():
    r = score(get_scorer("zhan2024-set-f1"), [P("A, B, C", "A"), P("B", "B, D")])
    # c = 1 + 1 = 2, p = 3 + 1 = 4, g = 1 + 2 = 3
    assert r.precision == pytest.approx(0.5) and r.recall == pytest.approx(2 / 3)
    assert r.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_all_zero_when_nothing_correct():
    r = score(get_scorer("zhan2024-set-f1"), [P("A", "B"), P("C", "D, E")])
    assert (r.precision, r.recall, r.f1) == (0.0, 0.0, 0.0)
    r = score(get_scorer("zhan2024-set-f1"), [P("A", "A", truncated=True)])  # nothing scored at all
    assert (r.f1, r.n, r.skipped) == (0.0, 0, 1)


# --------------------------------------------------------------------------- ner-entity-f1

BC5CDR = ["O", "B-Chemical", "B-Disease", "I-Disease", "I-Chemical"]


def test_ner_hand_computed():
    s = get_scorer("ner-entity-f1", labels=BC5CDR)
    gold = "[1, 4, 0, 2, 3]"  # Chemical(0,1), Disease(3,4)
    assert s.counts(P("[1, 4, 0, 2, 3]", gold)) == Counts(2, 2, 2)
    assert s.counts(P("[1, 0, 0, 2, 3]\nmore text", gold)) == Counts(1, 2, 2)  # Chemical(0,0) is a different span
    assert s.counts(P("[4, 4, 0, 0, 0]", gold)) == Counts(1, 1, 2)  # I- opens a chunk (seqeval default mode)
    assert s.counts(P("[0, 0, 0, 0, 0]", gold)) == Counts(0, 0, 2)
    assert s.counts(P("[1, 4]", gold)) == Counts(0, 0, 2, True)  # wrong length: invalid, all gold missed
    assert s.counts(P("Chemical: aspirin", gold)) == Counts(0, 0, 2, True)  # unparsable
    assert s.counts(P("[1, 4, 0, 2, 9]", gold)) == Counts(0, 0, 2, True)  # id outside the label map
    assert s.counts(P("[1, 4, 0, 2, 3]", gold, truncated=True)) is None


def test_ner_invalid_counted_in_score():
    s = get_scorer("ner-entity-f1", labels=["O", "B", "I"])
    r = score(s, [P("[1, 2, 0]", "[1, 2, 0]"), P("oops", "[0, 1, 0]")])
    assert (r.correct, r.predicted, r.gold, r.invalid) == (1, 1, 2, 1)
    assert r.recall == pytest.approx(0.5) and r.precision == 1.0


def test_ner_needs_labels_and_valid_reference():
    with pytest.raises(UsageError, match="label map"):
        get_scorer("ner-entity-f1")
    with pytest.raises(UsageError, match="not a list of tag ids"):
        get_scorer("ner-entity-f1", labels=["O", "B", "I"]).counts(P("[0]", "zero"))


LABEL_SETS = [BC5CDR, ["O", "B", "I"], ["B-X", "O", "I-X", "E-X", "S-X", "B-Y", "I-Y"], ["B-X", "I-X"],
              [f"{p}-T{i}" for i in range(6) for p in "BI"]]  # 12 labels: no single-digit fast path


@st.composite
def tagged_corpus(draw):
    labels = draw(st.sampled_from(LABEL_SETS))
    ids = st.integers(0, len(labels) - 1)
    sentences = []
    for _ in range(draw(st.integers(1, 6))):
        gold = draw(st.lists(ids, min_size=1, max_size=12))
        if draw(st.booleans()) and draw(st.booleans()):  # a quarter: an invalid (wrong-length) prediction
            pred = draw(st.lists(ids, max_size=12).filter(lambda p: len(p) != len(gold)))
        else:
            pred = draw(st.lists(ids, min_size=len(gold), max_size=len(gold)))
        sentences.append((gold, pred))
    return labels, sentences


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tagged_corpus())
def test_ner_agrees_with_seqeval(corpus):
    from seqeval.metrics import f1_score, precision_score, recall_score

    labels, sentences = corpus
    ours = score(get_scorer("ner-entity-f1", labels=labels),
                 [P(str(p), str(g), id=str(i)) for i, (g, p) in enumerate(sentences)])
    y_true = [[labels[i] for i in g] for g, _ in sentences]
    # an invalid prediction predicts nothing: for seqeval that is an all-O sequence
    y_pred = [[labels[i] for i in p] if len(p) == len(g) else ["O"] * len(g) for g, p in sentences]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = (precision_score(y_true, y_pred), recall_score(y_true, y_pred), f1_score(y_true, y_pred))
    assert (ours.precision, ours.recall, ours.f1) == pytest.approx(expected, abs=1e-12)


# --------------------------------------------------------------------------- binary-prf

POS = "the tweet is self-reporting breast cancer"
NEG = "the tweet is not self-reporting breast cancer"


def test_binary_hand_computed():
    s = get_scorer("binary-prf", positive_phrases=[POS], negative_phrases=[NEG])
    preds = [
        P("The tweet is NOT self-reporting breast cancer, because ...", "1"),  # negative phrase first: FN
        P('"The tweet is self-reporting breast cancer." The user says ...', "1"),  # TP
        P("the tweet is self-reporting breast cancer", "0"),  # FP
        P("I cannot tell.", "1"),  # invalid: counted, scored as a negative prediction -> FN
        P("the  tweet is\nnot self-reporting   breast cancer", "negative"),  # TN (whitespace collapsed)
        P("the tweet is self-reporting breast cancer", "1", truncated=True),  # skipped
    ]
    r = score(s, preds)
    assert (r.correct, r.predicted, r.gold, r.invalid, r.n, r.skipped) == (1, 2, 3, 1, 5, 1)
    assert r.precision == pytest.approx(0.5) and r.recall == pytest.approx(1 / 3) and r.f1 == pytest.approx(0.4)


def test_binary_reference_as_phrase_and_errors():
    s = get_scorer("binary-prf", positive_phrases=[POS], negative_phrases=[NEG])
    assert s.counts(P(POS, POS)) == Counts(1, 1, 1)
    assert s.counts(P(POS, NEG)) == Counts(0, 1, 0)
    with pytest.raises(UsageError, match="neither a label"):
        s.counts(P(POS, "maybe"))
    with pytest.raises(UsageError, match="answer phrases"):
        get_scorer("binary-prf")


def test_unknown_scorer_suggests():
    with pytest.raises(UsageError, match="ner-entity-f1"):
        get_scorer("ner-entity-f")


def test_scorer_for_builds_options(tmp_path):
    from tests.verify.factory import cell_of, write_manifest

    manifest = write_manifest(tmp_path)
    ner = cell_of(manifest, "tiny", "ner")
    s = scorer_for(ner.protocol, ner.dataset)
    assert s.name == "ner-entity-f1" and s.labels == ("O", "B-Chemical", "I-Chemical")
    tc = cell_of(manifest, "big", "tc")
    s = scorer_for(tc.protocol, tc.dataset)
    assert s.name == "binary-prf" and s.label("The tweet is not self-reporting X") is False
    assert scorer_for(cell_of(manifest, "tiny", "ee").protocol, cell_of(manifest, "tiny", "ee").dataset).name \
        == "zhan2024-set-f1"
