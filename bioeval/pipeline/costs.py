"""What a manifest's grid costs on GPUs, before anyone rents them (`bioeval plan --costs`).

Per cell: the training tokens (steps x examples per step x the mean token length of the training
split under the protocol's prompt, cut at max_seq_length), the prompts generated from (every
checkpoint's selection pass and the final test) with their prompt tokens, and the new tokens
(an upper bound of max_new_tokens each; the expected count where generation stops after the
answer's line, from the answer lengths seen in the data).  GPU-hours follow from a throughput
model whose every figure names its source:

    training      4 N FLOPs per token (forward 2N, backward through the frozen base 2N)
    prefill       2 N FLOPs per prompt token
    decode        per-sentence: every new token reads all weights (N x bytes per weight) from HBM;
                  batched (the eval batch): one read per batch of prompts, bounded by 2 N FLOPs per token

over the GPU's datasheet peak (bf16 tensor-core FLOP/s, HBM bandwidth) times an efficiency that is
assumed until bench/device_check.py has measured it on that GPU (`--throughput CHECK.json`).  A model
spread over several GPUs runs as the lab's code runs it (transformers' device_map: one GPU works at
a time), so its wall time is one GPU's and its GPU-hours count every GPU it holds.
"""

from __future__ import annotations

import math
from pathlib import Path

from bioeval.errors import UsageError

# vendors' datasheets: dense bf16 tensor-core peak, HBM bandwidth
GPUS = {
    "A100-40GB": {"bf16_tflops": 312.0, "hbm_tb_s": 1.555, "memory_gb": 40,
                  "source": "NVIDIA A100 datasheet (SXM4 40GB): 312 TFLOP/s bf16 dense, 1,555 GB/s"},
    "A100-80GB": {"bf16_tflops": 312.0, "hbm_tb_s": 2.039, "memory_gb": 80,
                  "source": "NVIDIA A100 datasheet (SXM4 80GB): 312 TFLOP/s bf16 dense, 2,039 GB/s"},
    "H100-SXM": {"bf16_tflops": 989.0, "hbm_tb_s": 3.35, "memory_gb": 80,
                 "source": "NVIDIA H100 datasheet (SXM5): 989 TFLOP/s bf16 dense, 3.35 TB/s"},
    "H200": {"bf16_tflops": 989.0, "hbm_tb_s": 4.8, "memory_gb": 141,
             "source": "NVIDIA H200 datasheet (SXM): 989 TFLOP/s bf16 dense, 4.8 TB/s"},
}
# bytes read per weight by a decode step: nf4 packs two weights a byte plus a blockwise scale
BYTES_PER_WEIGHT = {"nf4": 0.53, "none": 2.0}
ASSUMED = {
    "train_mfu": {"nf4": 0.20, "none": 0.35, "source": "assumed: QLoRA dequantises every 4-bit matmul (bitsandbytes); "
                  "LoRA on a bf16 base reaches about a third of peak on A100-class GPUs; to be measured"},
    "decode_bandwidth": {"value": 0.30, "source": "assumed: a share of HBM bandwidth for one-prompt decoding through "
                         "transformers generate() (kernel launches dominate at batch 1); to be measured"},
}


def throughput_model(gpu: str, measured: dict | None = None) -> dict:
    """The figures GPU-hours are computed from, each with its source."""
    if gpu not in GPUS:
        raise UsageError(f"--gpu {gpu!r}: no datasheet figures for it.", f"Known: {', '.join(GPUS)}.")
    spec = GPUS[gpu]
    rows = {"gpu": gpu, "bf16_tflops": {"value": spec["bf16_tflops"], "source": spec["source"]},
            "hbm_tb_s": {"value": spec["hbm_tb_s"], "source": spec["source"]},
            "train_mfu_nf4": {"value": ASSUMED["train_mfu"]["nf4"], "source": ASSUMED["train_mfu"]["source"]},
            "train_mfu_none": {"value": ASSUMED["train_mfu"]["none"], "source": ASSUMED["train_mfu"]["source"]},
            "decode_bandwidth": dict(ASSUMED["decode_bandwidth"])}
    if measured:
        rows.update(measured_efficiency(measured, spec))
    return rows


def measured_efficiency(report: dict, spec: dict) -> dict:
    """Efficiencies from bench/device_check.py's JSON: the 1B model's training MFU per variant and the
    HBM share of its one-prompt decoding, scaled to the datasheet of the GPU being planned for."""
    device = (report.get("throughput") or {}).get("device", "?")
    src = f"measured by bench/device_check.py on {device} (1B Llama from a config)"
    out = {}
    for row in (report.get("throughput") or {}).get("variants", []):
        if row.get("train_mfu"):
            out[f"train_mfu_{row['quantization']}"] = {"value": row["train_mfu"], "source": src}
    for row in (report.get("per_sentence_generation") or {}).get("variants", []):
        if row.get("quantization") == "nf4" and row.get("gen_tokens_per_s"):
            bytes_per_s = row["gen_tokens_per_s"] * row["params"] * BYTES_PER_WEIGHT["nf4"]
            out["decode_bandwidth"] = {"value": round(bytes_per_s / (spec["hbm_tb_s"] * 1e12), 6), "source": src}
    return out


def read_throughput(path: Path | None) -> dict | None:
    if path is None:
        return None
    try:
        from bioeval.jsonfile import load_json

        return load_json(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--throughput {path}: cannot read it ({exc}).",
                         "Give the JSON file bench/device_check.py wrote (scripts/device_check.sh BUNDLE OUT.json).") from None


def new_tokens_per_prompt(p, task: str, mean_answer: float | None) -> tuple[int, float]:
    """(upper bound, expected): max_new_tokens; where generation stops after the answer's line (newline
    stop, or an EOS the model learned), the mean answer length plus the stop token."""
    max_new = p.decoding.max_new_tokens.value.get(task, 0)
    stops = p.decoding.stop_at_newline.value or p.training is None or p.training.append_eos.value
    return max_new, (min(max_new, mean_answer + 1) if stops and mean_answer is not None else max_new)


def generation_passes(p, test_records: int, validation_records: int | None) -> tuple[int, int]:
    """(prompts generated from, of which selection passes) for one cell, as engine/cell.py runs it."""
    cut = min(p.evaluation.test_subsample.value or test_records, test_records)
    if p.mode.value != "finetune":
        return cut, 0
    t = p.training
    checkpoints = math.ceil(t.max_steps.value / p.evaluation.eval_every.value)
    per_pass = cut if p.evaluation.select_on.value == "test" else (validation_records or 0)
    return checkpoints * per_pass + cut, checkpoints * per_pass


class MemoCounter:
    """Token lengths counted once per (dataset, split, template): every model of a grid shares them."""

    def __init__(self, counter):
        self.counter, self.name, self.memo = counter, counter.name, {}

    def lengths(self, key: tuple, make_texts) -> list[int]:
        if key not in self.memo:
            self.memo[key] = self.counter.lengths(make_texts())
        return self.memo[key]


def cell_tokens(cell, splits: dict, counter: MemoCounter) -> dict:
    """Token counts of one cell from its instances (``splits``: split -> instances)."""
    from bioeval.engine.prompts import fill, train_text

    p, task, key = cell.protocol, cell.dataset.task, cell.dataset.key
    out: dict = {"cell": cell.name, "model": cell.model.key, "dataset": key}
    test = splits["test"]
    answers = counter.lengths((key, "answers"), lambda: [i.response for i in test])
    template = p.prompt.inference_template.value
    prompts = counter.lengths((key, "prompts", template), lambda: [fill(template, i) for i in test])
    n_prompts, n_select = generation_passes(p, len(test), len(splits.get("validation") or []) or None)
    max_new, per_answer = new_tokens_per_prompt(p, task, sum(answers) / len(answers) if answers else None)
    out["means"] = {"prompt": sum(prompts) / len(prompts), "answer": sum(answers) / len(answers) if answers else 0.0}
    out.update(prompts=n_prompts, selection_prompts=n_select,
               prompt_tokens=round(n_prompts * min(p.prompt.max_prompt_tokens.value, sum(prompts) / len(prompts))),
               new_tokens_upper=n_prompts * max_new, new_tokens_expected=round(n_prompts * per_answer))
    if p.mode.value == "finetune":
        t = p.training
        texts = counter.lengths((key, "train", p.prompt.train_template.value),
                                lambda: [train_text(p.prompt, i)[1] for i in splits["train"]])
        mean = sum(min(n + int(t.append_eos.value), t.max_seq_length.value) for n in texts) / len(texts)
        examples = t.max_steps.value * t.per_device_batch_size.value * t.gradient_accumulation_steps.value
        out["train_tokens"] = round(examples * mean)
        out["means"]["train"] = mean
    else:
        out["train_tokens"] = 0
    return out


def estimated_tokens(cell, means: dict) -> dict:
    """A cell whose splits cannot be read: its counts from the manifest's record counts and the mean
    token lengths measured on the readable datasets of its task type (labelled estimated)."""
    p, task = cell.protocol, cell.dataset.task
    records = {name: s.records for name, s in cell.dataset.splits.items()}
    test = records.get("test") or 0
    n_prompts, n_select = generation_passes(p, test, records.get("validation"))
    max_new, per_answer = new_tokens_per_prompt(p, task, means["answer"])
    out = {"cell": cell.name, "model": cell.model.key, "dataset": cell.dataset.key, "prompts": n_prompts,
           "selection_prompts": n_select, "prompt_tokens": round(n_prompts * min(p.prompt.max_prompt_tokens.value, means["prompt"])),
           "new_tokens_upper": n_prompts * max_new, "new_tokens_expected": round(n_prompts * per_answer), "train_tokens": 0}
    if p.mode.value == "finetune":
        t = p.training
        out["train_tokens"] = round(t.max_steps.value * t.per_device_batch_size.value * t.gradient_accumulation_steps.value
                                    * min(means.get("train", 0.0), t.max_seq_length.value))
    return out


def task_means(rows: list[dict], cells_by_name: dict) -> dict:
    """Mean token lengths per task type over the measured cells (and over all, for a task with none)."""
    by_task: dict = {}
    for r in rows:
        by_task.setdefault(cells_by_name[r["cell"]].dataset.task, []).append(r["means"])
    pooled = [m for ms in by_task.values() for m in ms]

    def mean_of(ms):
        keys = {k for m in ms for k in m}
        return {k: sum(m.get(k, 0.0) for m in ms) / len(ms) for k in keys}
    return {task: mean_of(ms) for task, ms in by_task.items()} | {None: mean_of(pooled) if pooled else None}


def gpu_hours(tokens: dict, cell, model: dict) -> dict:
    """Seconds -> GPU-hours for one cell under the throughput model, per-sentence and batched."""
    n = (cell.model.params_b or 0) * 1e9
    p = cell.protocol
    quant = p.training.quantization.value if p.training else "none"
    peak = model["bf16_tflops"]["value"] * 1e12
    bw = model["hbm_tb_s"]["value"] * 1e12 * model["decode_bandwidth"]["value"]
    mfu = model[f"train_mfu_{quant}"]["value"]
    train_s = tokens["train_tokens"] * 4 * n / (peak * mfu)
    prefill_s = tokens["prompt_tokens"] * 2 * n / (peak * mfu)
    per_token_read = n * BYTES_PER_WEIGHT[quant] / bw
    batch = max(8, p.decoding.eval_batch_size.value)  # "batched": at least the 8 prompts a call bench measures
    new = tokens["new_tokens_upper"]
    one_at_a_time = new * per_token_read
    batched = max(new / batch * per_token_read, new * 2 * n / (peak * mfu))
    gpus = max(1, cell.model.resources.gpus)
    return {"gpus": gpus, "train_h": round(train_s * gpus / 3600, 3),
            "per_sentence_h": round((train_s + prefill_s + one_at_a_time) * gpus / 3600, 3),
            "batched_h": round((train_s + prefill_s + batched) * gpus / 3600, 3)}


def grid_costs(loaded, cell_list, settings, *, gpu: str = "A100-40GB", throughput: Path | None = None,
               tokenizer: str | None = None) -> dict:
    """Costs of every cell and of the grid; a cell whose splits cannot be read is listed with the reason."""
    import warnings

    from bioeval.data import load_split
    from bioeval.audit.datasets import cached_tokenizer
    from bioeval.audit.checks import TokenCounter
    from bioeval.errors import BioevalError

    model = throughput_model(gpu, read_throughput(throughput))
    counter = MemoCounter(TokenCounter(tokenizer or cached_tokenizer(settings)))
    rows, unknown, cache = [], [], {}
    for cell in cell_list:
        needed = ["test"] + (["train"] if cell.protocol.mode.value == "finetune" else [])
        if cell.protocol.mode.value == "finetune" and cell.protocol.evaluation.select_on.value == "validation":
            needed.append("validation")
        for split in needed:  # each split read once (or failed once), whatever number of models use it
            if (cell.dataset.key, split) not in cache:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # record-count mismatches are the audit's business
                        cache[(cell.dataset.key, split)] = load_split(cell.dataset, split, loaded, settings)
                except BioevalError as exc:
                    cache[(cell.dataset.key, split)] = exc
        failed = [cache[(cell.dataset.key, s)] for s in needed if isinstance(cache[(cell.dataset.key, s)], Exception)]
        if failed:
            unknown.append({"cell": cell.name, "reason": str(failed[0]).split("\n")[0][:200]})
            continue
        splits = {split: cache[(cell.dataset.key, split)] for split in needed}
        tokens = cell_tokens(cell, splits, counter)
        rows.append({**tokens, **gpu_hours(tokens, cell, model)})
    by_name = {c.name: c for c in cell_list}
    means = task_means(rows, by_name)
    for u in unknown:
        cell = by_name[u["cell"]]
        m = means.get(cell.dataset.task) or means[None]
        if m is None:
            continue
        tokens = estimated_tokens(cell, m)
        u["estimated"] = True
        rows.append({**tokens, **gpu_hours(tokens, cell, model),
                     "estimated": f"splits not readable ({u['reason'][:80]}); counts from the manifest's records and "
                                  f"the mean token lengths of the readable {cell.dataset.task} datasets"})
    for r in rows:
        r.pop("means", None)
    total = {k: round(sum(r[k] for r in rows), 3) for k in
             ("train_tokens", "prompt_tokens", "new_tokens_upper", "new_tokens_expected", "train_h",
              "per_sentence_h", "batched_h")}
    return {"gpu": gpu, "throughput": model, "tokenizer": counter.name, "cells": rows, "unknown": unknown,
            "measured_cells": sum(1 for r in rows if "estimated" not in r), "total": total}
