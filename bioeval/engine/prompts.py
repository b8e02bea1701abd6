"""Prompt texts from the protocol's templates, and truncation to the protocol's token budget.

Templates use the lab's field names ({instruction}, {inputsentence}, {response}); they are
filled with str.replace, not str.format, because the lab's instructions contain braces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from bioeval.data.instances import Instance
from bioeval.manifest.schema import PromptSpec


def fill(template: str, inst: Instance, response: str = "") -> str:
    return (template.replace("{instruction}", inst.instruction)
            .replace("{inputsentence}", inst.input)
            .replace("{response}", response))


def train_text(spec: PromptSpec, inst: Instance) -> tuple[str, str]:
    """(prompt part, full training text); the prompt part is what `loss_on: response` masks."""
    template = spec.train_template.value
    if not inst.input and spec.train_template_no_input is not None:
        template = spec.train_template_no_input.value
    full = fill(template, inst, inst.response)
    cut = template.find("{response}")
    prompt = fill(template[:cut], inst) if cut >= 0 else full
    return prompt, full


def inference_prompt(spec: PromptSpec, inst: Instance, tokenizer=None) -> str:
    """The text given to the model at test time; wrapped in the chat template when the protocol asks."""
    text = fill(spec.inference_template.value, inst)
    if not spec.chat_template.value:
        return text
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        from bioeval.errors import ModelError
        raise ModelError("the protocol sets prompt.chat_template: true but the model's tokenizer has no chat template.",
                         "Use an instruct model, or set prompt.chat_template: false.")
    messages = []
    if spec.system_prompt.value:
        messages.append({"role": "system", "content": spec.system_prompt.value})
    messages.append({"role": "user", "content": text})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@dataclass(frozen=True)
class EncodedPrompt:
    ids: list[int]
    truncated: bool  # the prompt lost its end (and the response marker): the scorer skips it
    sha256: str  # of the prompt text before truncation
    input_cut: bool = False  # cut-input: the input text was shortened, the template kept


def _ids(text: str, tokenizer) -> list[int]:
    # chat-templated prompts already hold their special tokens
    return tokenizer(text, add_special_tokens=not text.startswith(tokenizer.bos_token or "\0"))["input_ids"]


def encode_prompt(text: str, tokenizer, max_tokens: int) -> EncodedPrompt:
    """Tokenize and keep the first ``max_tokens`` tokens, as the authors' `truncation=True,
    max_length=...` did: a long prompt loses its end (and with it the response marker)."""
    ids = _ids(text, tokenizer)
    truncated = len(ids) > max_tokens
    return EncodedPrompt(ids[:max_tokens], truncated, sha256_text(text))


def fit_prompt(spec: PromptSpec, inst: Instance, tokenizer) -> EncodedPrompt:
    """The test prompt within ``max_prompt_tokens`` by the protocol's ``prompt.truncation``:
    keep-start (the authors') or cut-input, which shortens the input text until the whole
    templated prompt fits, so the instruction and the response marker are never cut."""
    text = inference_prompt(spec, inst, tokenizer)
    budget = spec.max_prompt_tokens.value
    if spec.truncation.value == "keep-start":
        return encode_prompt(text, tokenizer, budget)
    ids = _ids(text, tokenizer)
    if len(ids) <= budget:
        return EncodedPrompt(ids, False, sha256_text(text))
    fitted = cut_input(inst, tokenizer, lambda i: len(_ids(inference_prompt(spec, i, tokenizer), tokenizer)), budget)
    if fitted is None:  # the template alone is over budget: nothing to cut but the template
        return encode_prompt(text, tokenizer, budget)
    return EncodedPrompt(_ids(inference_prompt(spec, fitted, tokenizer), tokenizer), False, sha256_text(text), True)


def cut_input(inst: Instance, tokenizer, length, budget: int) -> Instance | None:
    """The instance with the shortest cut of its input (at a token boundary, from the end) for
    which ``length(instance) <= budget``; None when even an empty input does not fit."""
    tokens = tokenizer(inst.input, add_special_tokens=False)["input_ids"]
    keep = len(tokens)
    while keep > 0:
        over = length(replace(inst, input=tokenizer.decode(tokens[:keep]))) - budget
        if over <= 0:
            return replace(inst, input=tokenizer.decode(tokens[:keep]))
        keep -= over  # retokenising at the cut can merge or split a token: converge from above
    empty = replace(inst, input="")
    return empty if length(empty) <= budget else None


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
