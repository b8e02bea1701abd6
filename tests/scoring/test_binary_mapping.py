"""Guo & Sarker answer mapping (assumed rule): reasoning stripped, the final answer statement
decides, both or neither is invalid; on R1-style outputs that quote both options first."""

import pytest

from bioeval.scoring import get_scorer, score
from bioeval.scoring.base import Prediction
from bioeval.scoring.binary import _pattern, map_answer, normalize, strip_reasoning

POS = (normalize("the tweet is self-reporting breast cancer"),)
NEG = (normalize("the tweet is not self-reporting breast cancer"),)


def mapped(text):
    m = map_answer(text, POS, NEG)
    return m.label, m.reason


@pytest.mark.parametrize("text, expected", [
    # R1: both options quoted inside the reasoning, then the answer
    ("<think>\nThe options are 'the tweet is self-reporting breast cancer' and 'the tweet is not self-reporting "
     "breast cancer'. She mentions chemo.\n</think>\n\n**Answer:** The tweet is self-reporting breast cancer.",
     (True, "positive")),
    # R1: both options quoted outside any think block, answer in a later statement
    ('I must choose between "the tweet is self-reporting breast cancer" and "the tweet is not self-reporting breast '
     'cancer".\nThe user only shares an article.\nFinal answer: the tweet is not self-reporting breast cancer.',
     (False, "negative")),
    # the R1 chat template opens <think> in the prompt: only the text after </think> counts
    ("so the tweet is not self-reporting breast cancer? No, wait.\n</think>\nThe tweet is self-reporting breast cancer.",
     (True, "positive")),
    # generation cut off while reasoning: no answer statement at all
    ("<think>\nHmm, the tweet is self-reporting breast cancer, maybe", (None, "neither")),
    # the final statement states both sides
    ("Answer: either the tweet is self-reporting breast cancer or the tweet is not self-reporting breast cancer.",
     (None, "both")),
    ("I cannot tell.", (None, "neither")),
    # a phrase wrapped over a line break and with extra spaces is still one statement
    ("The  tweet is\nnot self-reporting   breast cancer", (False, "negative")),
])
def test_map_answer(text, expected):
    assert mapped(text) == expected


def test_strip_reasoning():
    assert strip_reasoning("<think>a</think>b<THINK>c</THINK>d") == "\nb\nd"
    assert strip_reasoning("prompt-opened reasoning</think>answer") == "answer"
    assert strip_reasoning("answer <think>cut off") == "answer "


def test_invalid_outputs_are_counted_and_never_positive():
    s = get_scorer("binary-prf", positive_phrases=list(POS), negative_phrases=list(NEG))
    preds = [
        Prediction("a", "<think>the tweet is not self-reporting breast cancer</think>The tweet is self-reporting breast "
                        "cancer.", "1"),  # TP (the think block's negative phrase is ignored)
        Prediction("b", "Either the tweet is self-reporting breast cancer or the tweet is not self-reporting breast "
                        "cancer.", "1"),  # both: invalid, a miss
        Prediction("c", "<think>the tweet is self-reporting breast cancer", "0"),  # unterminated: invalid, TN
        Prediction("d", "The tweet is self-reporting breast cancer.", "0"),  # FP
    ]
    r = score(s, preds)
    assert (r.correct, r.predicted, r.gold, r.invalid) == (1, 2, 2, 2)


def test_overlapping_phrases_match_the_longest():
    pos = (normalize("the tweet is self-reporting potential COVID-19 cases"),)
    neg = (normalize("the tweet is not self-reporting potential"),
           normalize("the tweet is not self-reporting potential COVID-19 cases"))
    text = "The tweet is not self-reporting potential COVID-19 cases."
    assert _pattern(neg).search(text.lower()).group() == neg[1]  # the whole phrase, not its prefix
    assert map_answer(text, pos, neg).label is False
    assert map_answer("**The tweet is self-reporting potential COVID-19 cases**", pos, neg).label is True
