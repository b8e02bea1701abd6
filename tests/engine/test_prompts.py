from bioeval.data.instances import Instance
from bioeval.engine.prompts import encode_prompt, fill, inference_prompt, train_text
from bioeval.errors import ModelError
from bioeval.manifest.schema import PromptSpec

SPEC = PromptSpec.model_validate({
    "train_template": "I: {instruction}\nX: {inputsentence}\nR: {response}",
    "inference_template": "I: {instruction}\nX: {inputsentence}\nR: ",
    "max_prompt_tokens": 32,
})
INST = Instance("test-0", 'rule {"O": 0}', "lithium toxicity", "[1, 2]")


def test_fill_keeps_braces_of_the_labs_instructions():
    assert fill(SPEC.inference_template.value, INST) == 'I: rule {"O": 0}\nX: lithium toxicity\nR: '


def test_train_text_splits_prompt_and_response():
    prompt, full = train_text(SPEC, INST)
    assert full == 'I: rule {"O": 0}\nX: lithium toxicity\nR: [1, 2]'
    assert prompt == 'I: rule {"O": 0}\nX: lithium toxicity\nR: '
    assert full.startswith(prompt)


def test_truncation_keeps_the_start_and_is_recorded(tiny):
    _, tok = tiny
    text = "Please do an event extraction task. " * 20
    short = encode_prompt("Please do an event extraction task.", tok, 32)
    long = encode_prompt(text, tok, 32)
    assert not short.truncated and len(short.ids) < 32
    assert long.truncated and len(long.ids) == 32
    assert long.ids == tok(text)["input_ids"][:32]  # the end (and the response marker) is what goes
    assert long.sha256 != short.sha256 and len(long.sha256) == 64


def test_chat_template_requested_but_missing_is_a_clear_error(tiny):
    _, tok = tiny
    spec = SPEC.model_copy(update={"chat_template": SPEC.chat_template.model_copy(update={"value": True})})
    try:
        inference_prompt(spec, INST, tok)
    except ModelError as exc:
        assert "chat_template" in str(exc) and "no chat template" in str(exc)
    else:
        raise AssertionError("expected ModelError")


def test_chat_template_wraps_the_prompt(tiny):
    import copy
    _, tok = tiny
    tok = copy.deepcopy(tok)
    tok.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    spec = SPEC.model_copy(update={"chat_template": SPEC.chat_template.model_copy(update={"value": True}),
                                   "system_prompt": SPEC.system_prompt.model_copy(update={"value": "Be brief."})})
    assert inference_prompt(spec, INST, tok) == ('<system>Be brief.<user>I: rule {"O": 0}\nX: lithium toxicity\nR: '
                                                 "<assistant>")


def _cut_input_spec(budget: int, strategy: str = "cut-input") -> PromptSpec:
    return PromptSpec.model_validate({**SPEC.model_dump(), "max_prompt_tokens": {"value": budget, "source": "assumed"},
                                      "truncation": {"value": strategy, "source": "assumed"}})


def test_cut_input_keeps_the_instruction_and_the_response_marker(tiny):
    """issue 26: a long input is shortened until the whole templated prompt fits; the template's
    start and its response marker ("R: ") stay, the prompt is not skipped, and the cut is recorded."""
    from bioeval.engine.prompts import fit_prompt

    _, tok = tiny
    inst = Instance("test-1", "Tag the chemicals.", "lithium carbonate toxicity in the elderly " * 30, "[1, 2]")
    for budget in (24, 40, 80):
        spec = _cut_input_spec(budget)
        out = fit_prompt(spec, inst, tok)
        text = tok.decode(out.ids)
        assert len(out.ids) <= budget and not out.truncated and out.input_cut
        assert "Tag the chemicals." in text and text.rstrip().endswith("R:"), text
        assert out.sha256 == fit_prompt(_cut_input_spec(10_000), inst, tok).sha256  # the prompt's identity: uncut
    fits = fit_prompt(_cut_input_spec(10_000), inst, tok)
    assert not fits.input_cut and not fits.truncated
    kept = fit_prompt(_cut_input_spec(24, "keep-start"), inst, tok)  # the authors' rule, unchanged
    assert kept.truncated and not kept.input_cut and not tok.decode(kept.ids).rstrip().endswith("R:")


def test_a_template_over_budget_falls_back_to_the_authors_truncation(tiny):
    from bioeval.engine.prompts import fit_prompt

    _, tok = tiny
    inst = Instance("test-2", "a very long instruction " * 20, "short input", "x")
    out = fit_prompt(_cut_input_spec(8), inst, tok)
    assert out.truncated and len(out.ids) == 8  # nothing to cut but the template: skipped, as before


def test_training_texts_keep_their_answer_under_cut_input(tiny):
    from bioeval.engine.train import tokenize_train
    from bioeval.manifest.schema import Protocol
    from tests.engine.test_train_eos import protocol as eos_protocol

    _, tok = tiny
    base = eos_protocol(True)
    inst = [Instance("train-0", "Tag.", "lithium carbonate toxicity " * 40, "[1, 2]")]
    raw = base.model_dump()
    raw["training"]["max_seq_length"]["value"] = 48
    kept = tokenize_train(inst, tok, Protocol.model_validate(raw))[0]
    raw["prompt"]["truncation"] = {"value": "cut-input", "source": "assumed"}
    cut = tokenize_train(inst, tok, Protocol.model_validate(raw))[0]
    assert kept.cut == "end" and cut.cut == "input" and len(cut.ids) <= 48
    answer = tok("[1, 2]", add_special_tokens=False)["input_ids"]
    learned = [t for t, label in zip(cut.ids, cut.labels) if label != -100]
    assert all(t in learned for t in answer) and cut.ids[-1] == tok.eos_token_id  # answer and EOS survive
