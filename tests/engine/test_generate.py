"""Batched generation: input order restored, batches sorted by length, decoding settings."""

import pytest

from bioeval.engine.generate import StopAtNewline, batches_by_length, generate, generation_config
from bioeval.engine.prompts import EncodedPrompt
from bioeval.manifest.schema import DecodingSpec


def spec(**values) -> DecodingSpec:
    return DecodingSpec.model_validate({"max_new_tokens": {"EE": 6, "RE": 6, "NER": 6, "TC": 6}, **values})


def prompts(tok, n=7):
    texts = [("### Input: \n" + " ".join(["the patient was given"] * (k + 1)) + "\n\n### Response: \n")
             for k in range(n)]
    return [EncodedPrompt(tok(t)["input_ids"], False, str(i)) for i, t in enumerate(texts)]


def test_batches_are_length_sorted_and_cover_every_index_once():
    ps = [EncodedPrompt([0] * n, False, "") for n in (3, 9, 1, 9, 5)]
    batches = batches_by_length(ps, 2)
    assert batches == [[1, 3], [4, 0], [2]]
    assert sorted(i for b in batches for i in b) == list(range(5))


def test_generation_returns_input_order(tiny):
    model, tok = tiny
    ps = prompts(tok)
    batched = generate(model, tok, ps, spec(eval_batch_size=3), 6)
    one_by_one = generate(model, tok, ps, spec(per_sentence=True), 6)
    reversed_in = generate(model, tok, ps[::-1], spec(eval_batch_size=3), 6)
    assert [g.completion for g in reversed_in] == [g.completion for g in batched][::-1]
    # left padding must not change greedy answers of this fp32 model: same as one prompt at a time
    assert [g.completion for g in batched] == [g.completion for g in one_by_one]
    assert all(0 < g.new_tokens <= 6 for g in batched)


def test_stop_at_newline(tiny):
    model, tok = tiny
    ps = prompts(tok, 4)
    stopped = generate(model, tok, ps, spec(eval_batch_size=4), 12)
    free = generate(model, tok, ps, spec(eval_batch_size=4, stop_at_newline=False), 12)
    for s, f in zip(stopped, free):
        assert s.completion.count("\n") <= 1 and (not s.completion.count("\n") or s.completion.endswith("\n"))
        assert f.completion.startswith(s.completion.rstrip("\n")) or s.completion == f.completion
    newline = StopAtNewline.newline_ids(tok).tolist()
    assert newline and all("\n" in tok.decode([i]) for i in newline)


def test_greedy_ignores_the_models_sampling_settings(tiny):
    import copy
    model, tok = tiny
    model = copy.deepcopy(model)
    model.generation_config.do_sample = True
    model.generation_config.temperature = 0.6
    gc, record = generation_config(model, tok, spec(), 10)
    assert gc.do_sample is False and record["do_sample"] is False and record["temperature"] is None


def test_faithful_mode_keeps_do_sample_from_generation_config(tiny):
    """The authors called generate(temperature=0.1) without do_sample (PROTOCOL.md 1.1)."""
    import copy
    model, tok = tiny
    model = copy.deepcopy(model)
    model.generation_config.do_sample = True
    model.generation_config.top_p = 0.95
    gc, record = generation_config(model, tok, spec(mode="faithful", temperature=0.1), 10)
    assert gc.do_sample is True and gc.temperature == 0.1 and gc.top_p == 0.95
    assert record == {**record, "mode": "faithful", "do_sample": True, "temperature": 0.1}
    model.generation_config.do_sample = False
    gc, record = generation_config(model, tok, spec(mode="faithful", temperature=0.1), 10)
    assert gc.do_sample is False and record["temperature"] is None  # greedy: the temperature has no effect


def test_sampling_is_seeded(tiny):
    model, tok = tiny
    ps = prompts(tok, 4)
    s = spec(mode="sample", temperature=1.0, eval_batch_size=4)
    a = generate(model, tok, ps, s, 8, seed=1)
    b = generate(model, tok, ps, s, 8, seed=1)
    assert a == b
