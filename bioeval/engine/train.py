"""One readable LoRA training loop with checkpoints every `eval_every` steps and resume.

A "step" is one optimizer step (per-device batch x gradient accumulation examples), as in
HF Trainer's max_steps.  The data order is a pure function of (shuffle_seed, epoch), so a
resumed run sees the same batches it would have seen without the interruption.

Checkpoint layout (``checkpoints/``):
    step-000020/adapter.safetensors   LoRA weights
    step-000020/state.pt              optimizer, scheduler, RNG states, step
    progress.json                     {"last_step", "best_step", "history": [{step, metrics}]}
A checkpoint folder is written under a temp name and renamed, then progress.json is
rewritten atomically once its evaluation is scored: a kill -9 at any moment leaves the last
fully evaluated checkpoint to resume from.
"""

from __future__ import annotations

import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from bioeval.data.instances import Instance
from bioeval.engine import shared_prefix
from bioeval.engine.frozen_layers import FrozenLayers, top_layer_indices
from bioeval.engine.prompts import cut_input, train_text
from bioeval.manifest.schema import Protocol
from bioeval.runs.atomic import read_json, write_json

IGNORE = shared_prefix.IGNORE  # labels the loss skips (torch's ignore_index)


@dataclass
class Example:
    ids: list[int]
    labels: list[int]
    cut: str | None = None  # "end": over max_seq_length, its end (the answer) lost; "input": input shortened


def tokenize_train(instances: list[Instance], tokenizer, protocol: Protocol) -> list[Example]:
    """Training text (+ EOS when ``training.append_eos``), cut to max_seq_length; loss on all of it
    (the authors' SFT) or the response only.  Without EOS (the lab's code) the model never sees
    where an answer ends, so it keeps generating to max_new_tokens (docs/engine.md)."""
    spec = protocol.prompt
    max_len = protocol.training.max_seq_length.value
    response_only = protocol.training.loss_on.value == "response"
    eos = [tokenizer.eos_token_id] if protocol.training.append_eos.value else []
    out = []
    for inst in instances:
        prompt, full = train_text(spec, inst)
        ids = tokenizer(full)["input_ids"] + eos
        cut = None
        if len(ids) > max_len and spec.truncation.value == "cut-input":  # keep the answer: shorten the input
            fitted = cut_input(inst, tokenizer, lambda i: len(tokenizer(train_text(spec, i)[1])["input_ids"]) + len(eos),
                               max_len)
            if fitted is not None:
                prompt, full = train_text(spec, fitted)
                ids, cut = tokenizer(full)["input_ids"] + eos, "input"
        if len(ids) > max_len:
            ids, cut = ids[:max_len], "end"
        labels = list(ids)
        if response_only:
            n = len(tokenizer(prompt)["input_ids"])
            labels[:n] = [IGNORE] * min(n, len(labels))
        out.append(Example(ids, labels, cut))
    return out


def batch_indices(n: int, step: int, per_step: int, seed: int) -> list[int]:
    """The example indices of optimizer step ``step`` (0-based): a seeded permutation per epoch."""
    out = []
    for k in range(step * per_step, (step + 1) * per_step):
        epoch, pos = divmod(k, n)
        out.append(_permutation(n, seed + epoch)[pos])
    return out


_PERMS: dict[tuple[int, int], list[int]] = {}


def _permutation(n: int, seed: int) -> list[int]:
    if (n, seed) not in _PERMS:
        order = list(range(n))
        random.Random(seed).shuffle(order)
        _PERMS[(n, seed)] = order
    return _PERMS[(n, seed)]


def collate(examples: list[Example], pad_id: int, device) -> dict:
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):  # right padding for training; pads never count in the loss
        ids[row, :len(e.ids)] = torch.tensor(e.ids)
        labels[row, :len(e.labels)] = torch.tensor(e.labels)
        mask[row, :len(e.ids)] = 1
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def make_optimizer(model, protocol: Protocol):
    t = protocol.training
    params = [p for p in model.parameters() if p.requires_grad]
    if t.optimizer.value == "paged_adamw_8bit":
        # the authors' optim='paged_adamw_8bit'; bitsandbytes pages its state on CUDA and keeps it
        # in ordinary memory on CPU, with the same 8-bit blockwise update
        from bioeval.engine.models import require_bitsandbytes
        require_bitsandbytes("training.optimizer paged_adamw_8bit")
        import bitsandbytes as bnb
        return bnb.optim.PagedAdamW8bit(params, lr=t.learning_rate.value, weight_decay=0.0)
    # HF Trainer's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0
    return torch.optim.AdamW(params, lr=t.learning_rate.value, weight_decay=0.0)


def make_scaler(protocol: Protocol, dev):
    """fp16 needs loss scaling (its range underflows small gradients); fp32 and bf16 do not.
    Branch-free, as nanoGPT: a disabled scaler passes everything through."""
    return torch.amp.GradScaler(dev.type, enabled=protocol.training.precision.value == "fp16")


def execution_record(optimizer, scaler, precision: str, dev) -> dict:
    """What the training loop really used, for the receipt: a CPU run of the paper's protocol
    must never pass for a GPU run."""
    cls = type(optimizer)
    paged = getattr(optimizer, "is_paged", False)
    return {"device": dev.type, "optimizer": f"{cls.__module__}.{cls.__qualname__}",
            # bitsandbytes pages optimizer state through CUDA unified memory only; on CPU it is plain memory
            "optimizer_state_paged": bool(paged) and dev.type == "cuda",
            "autocast_dtype": None if precision == "fp32" else ("bfloat16" if precision == "bf16" else "float16"),
            "grad_scaler": {"enabled": scaler.is_enabled(),
                            "final_scale": scaler.get_scale() if scaler.is_enabled() else None}}


def make_scheduler(optimizer, protocol: Protocol):
    from transformers import get_scheduler

    t = protocol.training
    warmup = math.ceil(t.warmup_ratio.value * t.max_steps.value)
    return get_scheduler(t.lr_scheduler.value, optimizer, num_warmup_steps=warmup,
                         num_training_steps=t.max_steps.value)


def rng_state() -> dict:
    state = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def step_dir(checkpoints: Path, step: int) -> Path:
    return checkpoints / f"step-{step:06d}"


def save_checkpoint(checkpoints: Path, step: int, model, optimizer, scheduler, scaler=None) -> Path:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    final = step_dir(checkpoints, step)
    tmp = checkpoints / f".tmp-{final.name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, tmp / "adapter.safetensors")
    torch.save({"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict() if scaler is not None else {}, "rng": rng_state()}, tmp / "state.pt")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def load_adapter(model, checkpoint: Path) -> None:
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    set_peft_model_state_dict(model, load_file(checkpoint / "adapter.safetensors"))


def read_progress(checkpoints: Path) -> dict:
    try:
        return read_json(checkpoints / "progress.json")
    except FileNotFoundError:
        return {"last_step": 0, "best_step": None, "history": []}


Evaluate = Callable[[int], dict]  # step -> metrics on the selection split


def train(model, examples: list[Example], protocol: Protocol, checkpoints: Path, evaluate: Evaluate,
          pad_id: int, select_metric: str = "f1", progress=None, log=print) -> dict:
    """Train to max_steps, evaluating and checkpointing every eval_every steps; returns progress.json
    plus `execution` (optimizer class, autocast dtype, grad scaler) for the receipt."""
    t = protocol.training
    max_steps, every = t.max_steps.value, protocol.evaluation.eval_every.value
    bs, accum = t.per_device_batch_size.value, t.gradient_accumulation_steps.value
    dev = next(model.parameters()).device
    optimizer = make_optimizer(model, protocol)
    scheduler = make_scheduler(optimizer, protocol)
    scaler = make_scaler(protocol, dev)
    state = read_progress(checkpoints)
    start = state["last_step"]
    if start:
        saved = torch.load(step_dir(checkpoints, start) / "state.pt", weights_only=False)
        load_adapter(model, step_dir(checkpoints, start))
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        set_rng_state(saved["rng"])
        if saved.get("scaler"):  # an fp16 run resumes with the loss scale it had reached
            scaler.load_state_dict(saved["scaler"])
        log(f"resumed from checkpoint step {start} of {max_steps}")
    autocast = _autocast(t.precision.value, dev)
    loss_of = _loss_of_batch(model, examples, protocol, pad_id, dev)
    task = progress.add_task("train", total=max_steps, completed=start) if progress else None
    model.train()
    for step in range(start, max_steps):
        optimizer.zero_grad(set_to_none=True)
        idx = batch_indices(len(examples), step, bs * accum, t.shuffle_seed.value)
        loss_sum = 0.0
        for micro in range(accum):
            with autocast:
                loss = loss_of(idx[micro * bs:(micro + 1) * bs]) / accum
            scaler.scale(loss).backward()
            loss_sum += loss.item()
        scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], t.max_grad_norm.value)
        scaler.step(optimizer)  # skipped (and the scale lowered) when fp16 gradients overflowed
        scaler.update()
        scheduler.step()
        done = step + 1
        if progress:
            progress.update(task, completed=done, description=f"train loss {loss_sum:.3f}")
        if done % every == 0 or done == max_steps:
            ckpt = save_checkpoint(checkpoints, done, model, optimizer, scheduler, scaler)
            metrics = evaluate(done)
            model.train()
            state["history"].append({"step": done, "loss": loss_sum, "metrics": metrics})
            best = state["best_step"]
            best_value = next((h["metrics"][select_metric] for h in state["history"] if h["step"] == best), None)
            if best is None or metrics[select_metric] > best_value:  # ties keep the earlier checkpoint
                state["best_step"] = done
            state["last_step"] = done
            write_json(checkpoints / "progress.json", state)
            _prune(checkpoints, keep={done, state["best_step"]})
            log(f"step {done}: loss {loss_sum:.4f}, selection {select_metric} {metrics[select_metric]:.4f}"
                f" (best step {state['best_step']}) -> {ckpt.name}")
    if progress:
        progress.remove_task(task)
    return {**state, "execution": execution_record(optimizer, scaler, t.precision.value, dev)}


def _loss_of_batch(model, examples: list[Example], protocol: Protocol, pad_id: int, dev) -> Callable:
    """indices -> the loss of those examples: on the frozen layers' kept outputs where
    `lora.top_layers` is below the model's depth, else the (shared-prefix or plain) forward."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if top_layer_indices(base.config.num_hidden_layers, protocol.lora.top_layers.value) is not None:
        frozen = FrozenLayers(model, examples, pad_id, dev)
        return lambda part: frozen.loss(model, examples, part)
    shared = protocol.training.shared_prefix.value
    return lambda part: _loss(model, [examples[i] for i in part], pad_id, dev, shared)


def _loss(model, batch: list[Example], pad_id: int, dev, shared: bool):
    """The batch's loss: its common prefix run once when the protocol asks (and the texts share one)."""
    if shared:
        value = shared_prefix.loss(model, batch, pad_id, dev)
        if value is not None:
            return value
    return model(**collate(batch, pad_id, dev)).loss


def _prune(checkpoints: Path, keep: set[int]) -> None:
    """Keep the newest (to resume) and the best (to test) checkpoints; drop the rest's weights."""
    for d in checkpoints.glob("step-*"):
        if int(d.name.split("-")[1]) not in keep:
            shutil.rmtree(d, ignore_errors=True)


def _autocast(precision: str, dev):
    if precision == "fp32":
        return torch.autocast(dev.type, enabled=False)
    return torch.autocast(dev.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
