"""Prompt texts from the protocol's templates, and truncation to the protocol's token budget.

Templates use the lab's field names ({instruction}, {inputsentence}, {response}); they are
filled with str.replace, not str.format, because the lab's instructions contain braces.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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
    truncated: bool
    sha256: str  # of the prompt text before truncation


def encode_prompt(text: str, tokenizer, max_tokens: int) -> EncodedPrompt:
    """Tokenize and keep the first ``max_tokens`` tokens, as the authors' `truncation=True,
    max_length=...` did: a long prompt loses its end (and with it the response marker)."""
    # chat-templated prompts already hold their special tokens
    ids = tokenizer(text, add_special_tokens=not text.startswith(tokenizer.bos_token or "\0"))["input_ids"]
    truncated = len(ids) > max_tokens
    return EncodedPrompt(ids[:max_tokens], truncated, sha256_text(text))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
