"""The training loss of a batch whose texts share their first tokens, with that prefix run once.

Every training text of a dataset starts with the same template and instruction (the lab's
ADE texts: ~86 of ~113 tokens; GIT: ~226 of ~264), and with `loss_on: response` no loss falls
on them.  Running the common prefix once (batch 1), repeating its key/value cache over the
batch and running only the rest of each text gives the same loss and gradients as the plain
forward (up to float rounding; LoRA dropout draws one mask for the shared prefix), at a
fraction of the cost; logits are computed only where a label is, not over the 49k-token
vocabulary at every prompt position.  Opt-in (`training.shared_prefix`), because its rounding
differs from the plain forward's and the reference values of a manifest were measured with one.
"""

from __future__ import annotations

import torch

IGNORE = -100
MIN_PREFIX = 8  # below this the plain forward is as cheap


def prefix_length(examples) -> int:
    """Tokens every text of the batch shares and no label needs: each label is predicted from the
    position before it, so the prefix ends before the first labelled token's predecessor."""
    first = examples[0].ids
    n = min(len(e.ids) for e in examples)
    for e in examples[1:]:
        k = 0
        while k < n and e.ids[k] == first[k]:
            k += 1
        n = k
    for e in examples:
        labelled = next((i for i, label in enumerate(e.labels) if label != IGNORE), len(e.labels))
        n = min(n, labelled - 1)
    return max(n, 0)


def _parts(model):
    """The decoder and output head of a (peft-wrapped) causal LM; None where logits are more than a
    plain head (softcapping, a logit scale), which the shared path would get wrong."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = base.config
    if getattr(config, "final_logit_softcapping", None) or getattr(config, "logit_scale", None) not in (None, 1, 1.0):
        return None
    return base.get_decoder(), base.get_output_embeddings(), config


def loss(model, examples, pad_id: int, dev) -> torch.Tensor | None:
    """The mean token loss of `examples` as the model's own forward computes it, or None when the
    texts share too little (the caller then runs the plain forward)."""
    k = prefix_length(examples)
    parts = _parts(model)
    if k < MIN_PREFIX or parts is None:
        return None
    from transformers import DynamicCache

    decoder, head, config = parts
    cache = DynamicCache(config=config)
    decoder(input_ids=torch.tensor([examples[0].ids[:k]], device=dev), past_key_values=cache, use_cache=True)
    cache.batch_repeat_interleave(len(examples))
    width = max(len(e.ids) for e in examples) - k
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), k + width), dtype=torch.long)
    for row, e in enumerate(examples):  # right padding, as the plain collate; pads never count
        rest = len(e.ids) - k
        ids[row, :rest] = torch.tensor(e.ids[k:])
        labels[row, :rest] = torch.tensor(e.labels[k:])
        mask[row, :k + rest] = 1
    hidden = decoder(input_ids=ids.to(dev), attention_mask=mask.to(dev), past_key_values=cache,
                     use_cache=True).last_hidden_state
    target = labels[:, 1:].to(dev)  # position j predicts token j + 1; label k is unlabelled (prefix_length)
    keep = target != IGNORE
    logits = head(hidden[:, :-1][keep])
    return torch.nn.functional.cross_entropy(logits.float(), target[keep])
