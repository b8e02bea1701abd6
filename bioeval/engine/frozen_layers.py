"""Training LoRA in the top decoder layers only, with the frozen layers below run once per text.

With `lora.top_layers: N` the adapters sit in the last N decoder layers; the layers below have
no trainable parameter, so their output for a text is the same at every step and every epoch.
This module runs them once per training text (the first time a step draws it) and keeps the
hidden state at the first adapted layer; each step then runs only the top N layers, the final
norm and the output head.  Like `shared_prefix`, the template and instruction that every text
of the dataset shares run once, and logits are computed only where a label is.

The loss and gradients equal the plain forward's up to float rounding
(tests/engine/test_frozen_layers.py); LoRA dropout draws one mask for the shared prefix, as in
shared_prefix.  A CPU measure (issue 26): a step then costs N/L of a full model's forward and
backward, and repeated epochs over the same texts cost nothing below the adapters.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager

import torch

from bioeval.engine.shared_prefix import IGNORE, _parts, prefix_length


def top_layer_indices(num_layers: int, top: int | None) -> list[int] | None:
    """peft's layers_to_transform for `lora.top_layers` (None: every layer, the paper's LoRA)."""
    if top is None or top >= num_layers:
        return None
    return list(range(num_layers - top, num_layers))


@contextmanager
def _only_layers(decoder, start: int, stop: int, final_norm: bool):
    """The decoder's own forward over layers[start:stop] (inputs_embeds = the hidden state
    entering layer `start`); the layers' cache slots renumbered from 0 so a fresh cache serves."""
    layers, norm = decoder.layers, decoder.norm
    kept = list(layers)[start:stop]
    saved = [layer.self_attn.layer_idx for layer in kept]
    decoder.layers = torch.nn.ModuleList(kept)
    if not final_norm:
        decoder.norm = torch.nn.Identity()
    for j, layer in enumerate(kept):
        layer.self_attn.layer_idx = j
    try:
        yield
    finally:
        for layer, idx in zip(kept, saved):
            layer.self_attn.layer_idx = idx
        decoder.layers, decoder.norm = layers, norm


class FrozenLayers:
    """The frozen layers' outputs of a training set, filled as steps draw its texts."""

    def __init__(self, model, examples, pad_id: int, dev):
        parts = _parts(model)
        if parts is None:
            raise ValueError("lora.top_layers needs a causal LM whose logits are a plain output head")
        self.decoder, self.head, self.config = parts
        self.first = self._first_adapted_layer(model)
        self.pad_id, self.dev = pad_id, dev
        self.k = prefix_length(examples)  # every text's shared template + instruction
        self.prefix_ids = examples[0].ids[:self.k]
        self.prefix_hidden = None  # [1, k, d] entering layer `first`
        self.prefix_cache = None  # the frozen layers' key/value cache of the prefix
        self.rows: dict[int, torch.Tensor] = {}  # example index -> [len - k, d]

    def _first_adapted_layer(self, model) -> int:
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        found = sorted({int(n.split(".layers.")[1].split(".")[0]) for n in names if ".layers." in n})
        outside = [n for n in names if ".layers." not in n]
        if not found or outside:
            raise ValueError(f"lora.top_layers: trainable parameters outside the decoder layers ({outside[:3]})")
        if found[0] == 0:
            raise ValueError("lora.top_layers: adapters in the first layer leave no frozen layer to run once")
        return found[0]

    def _bottom(self, ids: torch.Tensor, mask: torch.Tensor | None, cache) -> torch.Tensor:
        with torch.no_grad(), _only_layers(self.decoder, 0, self.first, final_norm=False):
            return self.decoder(input_ids=ids.to(self.dev), attention_mask=mask, past_key_values=cache,
                                use_cache=True).last_hidden_state

    def fill(self, examples, indices: list[int]) -> None:
        """Run the frozen layers over the drawn texts not seen before (one padded batch)."""
        from transformers import DynamicCache

        if self.prefix_cache is None:
            self.prefix_cache = DynamicCache(config=self.config)
            if self.k:
                self.prefix_hidden = self._bottom(torch.tensor([self.prefix_ids]), None, self.prefix_cache)
        todo = sorted({i for i in indices if i not in self.rows})
        if not todo:
            return
        cache = copy.deepcopy(self.prefix_cache)
        if self.k:
            cache.batch_repeat_interleave(len(todo))
        rest = [examples[i].ids[self.k:] for i in todo]
        width = max(len(r) for r in rest)
        ids = torch.full((len(todo), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(todo), self.k + width), dtype=torch.long)
        for row, r in enumerate(rest):  # right padding: no real position attends to a pad
            ids[row, :len(r)] = torch.tensor(r)
            mask[row, :self.k + len(r)] = 1
        out = self._bottom(ids, mask.to(self.dev), cache)
        for row, (i, r) in enumerate(zip(todo, rest)):
            self.rows[i] = out[row, :len(r)].detach().clone()

    def loss(self, model, examples, indices: list[int]) -> torch.Tensor:
        """The mean token loss over examples[indices], the top layers run on the kept states."""
        from transformers import DynamicCache

        self.fill(examples, indices)
        n = len(self.decoder.layers)
        batch = [examples[i] for i in indices]
        with _only_layers(self.decoder, self.first, n, final_norm=True):
            cache = DynamicCache(config=self.config)
            if self.k:  # the shared prefix through the adapted layers: once per step, with gradients
                self.decoder(inputs_embeds=self.prefix_hidden, past_key_values=cache, use_cache=True)
                cache.batch_repeat_interleave(len(batch))
            width = max(len(e.ids) for e in batch) - self.k
            first = self.rows[indices[0]]
            states = torch.zeros((len(batch), width, first.shape[-1]), dtype=first.dtype, device=self.dev)
            labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
            mask = torch.zeros((len(batch), self.k + width), dtype=torch.long)
            for row, (i, e) in enumerate(zip(indices, batch)):
                rest = len(e.ids) - self.k
                states[row, :rest] = self.rows[i]
                labels[row, :rest] = torch.tensor(e.labels[self.k:])
                mask[row, :self.k + rest] = 1
            hidden = self.decoder(inputs_embeds=states, attention_mask=mask.to(self.dev), past_key_values=cache,
                                  use_cache=True).last_hidden_state
        target = labels[:, 1:].to(self.dev)  # position j predicts token j + 1; label k is unlabelled (prefix_length)
        keep = target != IGNORE
        logits = self.head(hidden[:, :-1][keep])
        return torch.nn.functional.cross_entropy(logits.float(), target[keep])
