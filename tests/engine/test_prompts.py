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
