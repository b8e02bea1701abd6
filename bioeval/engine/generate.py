"""Batched generation: left padding, a fixed batch size, length-sorted batches restored to input order.

Decoding modes (protocol.decoding.mode):
  greedy    do_sample off, whatever the model's generation_config says
  sample    do_sample on with the protocol's temperature/top_p
  faithful  the authors' call `generate(..., temperature=t)` without do_sample: the model
            repo's generation_config decides whether it samples (PROTOCOL.md 1.1)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from bioeval.engine.prompts import EncodedPrompt
from bioeval.manifest.schema import DecodingSpec


@dataclass(frozen=True)
class Generation:
    completion: str
    new_tokens: int


def generation_config(model, tokenizer, spec: DecodingSpec, max_new_tokens: int):
    """The GenerationConfig a run uses, and a dict of it for the receipt."""
    from transformers import GenerationConfig

    mode = spec.mode.value
    base = getattr(model, "generation_config", None) or GenerationConfig()
    eos = base.eos_token_id if base.eos_token_id is not None else tokenizer.eos_token_id
    if mode == "faithful":
        gc = copy.deepcopy(base)
        if spec.temperature.value is not None:
            gc.temperature = spec.temperature.value
    elif mode == "sample":
        gc = GenerationConfig(do_sample=True, temperature=spec.temperature.value or 1.0,
                              top_p=spec.top_p.value if spec.top_p.value is not None else 1.0, top_k=0)
    else:
        gc = GenerationConfig(do_sample=False)
    gc.max_new_tokens = max_new_tokens
    gc.eos_token_id = eos
    gc.pad_token_id = tokenizer.pad_token_id
    gc.bos_token_id = base.bos_token_id
    record = {"mode": mode, "do_sample": bool(gc.do_sample), "max_new_tokens": max_new_tokens,
              "temperature": gc.temperature if gc.do_sample else None,
              "top_p": gc.top_p if gc.do_sample else None, "top_k": gc.top_k if gc.do_sample else None,
              "stop_at_newline": spec.stop_at_newline.value,
              "batch_size": 1 if spec.per_sentence.value else spec.eval_batch_size.value}
    return gc, record


class StopAtNewline:
    """Marks a row finished once it emits a token whose text holds a newline (the scorer reads line 1)."""

    _cache: dict[int, torch.Tensor] = {}

    def __init__(self, tokenizer, prompt_len: int):
        self.newline = self.newline_ids(tokenizer)
        self.prompt_len = prompt_len

    @classmethod
    def newline_ids(cls, tokenizer) -> torch.Tensor:
        """Ids of every token whose text holds a newline (decoded once per tokenizer: 150k tokens take seconds)."""
        key = id(tokenizer)
        if key not in cls._cache:
            ids = [i for i in range(len(tokenizer)) if "\n" in tokenizer.decode([i])]
            cls._cache[key] = torch.tensor(ids, dtype=torch.long)
        return cls._cache[key]

    def __call__(self, input_ids, scores, **kwargs):
        last = input_ids[:, -1]
        if input_ids.shape[1] <= self.prompt_len:
            return torch.zeros_like(last, dtype=torch.bool)
        return torch.isin(last, self.newline.to(last.device))


def batches_by_length(prompts: list[EncodedPrompt], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (longest first); stable for equal lengths."""
    order = sorted(range(len(prompts)), key=lambda i: (-len(prompts[i].ids), i))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def generate(model, tokenizer, prompts: list[EncodedPrompt], spec: DecodingSpec, max_new_tokens: int,
             seed: int = 0, progress=None) -> list[Generation]:
    """Completions for ``prompts``, returned in input order."""
    from transformers import StoppingCriteriaList

    gc, _ = generation_config(model, tokenizer, spec, max_new_tokens)
    batch_size = 1 if spec.per_sentence.value else spec.eval_batch_size.value
    dev = next(model.parameters()).device
    pad = tokenizer.pad_token_id
    out: list[Generation | None] = [None] * len(prompts)
    if gc.do_sample:
        torch.manual_seed(seed)
    model.eval()
    task = progress.add_task("generate", total=len(prompts)) if progress else None
    with torch.inference_mode():
        for batch in batches_by_length(prompts, batch_size):
            width = max(len(prompts[i].ids) for i in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):  # left padding: the last prompt token sits at the end
                p = prompts[i].ids
                ids[row, width - len(p):] = torch.tensor(p, dtype=torch.long)
                mask[row, width - len(p):] = 1
            stops = StoppingCriteriaList([StopAtNewline(tokenizer, width)]) if spec.stop_at_newline.value else None
            gen = model.generate(input_ids=ids.to(dev), attention_mask=mask.to(dev), generation_config=gc,
                                 stopping_criteria=stops)
            for row, i in enumerate(batch):
                new = gen[row, width:].tolist()
                while new and new[-1] == pad:  # padding after a finished row (pad = eos)
                    new.pop()
                out[i] = Generation(tokenizer.decode(new, skip_special_tokens=True), len(new))
            if progress:
                progress.advance(task, len(batch))
    if progress:
        progress.remove_task(task)
    return out  # type: ignore[return-value]
