"""Run one cell (model x dataset) end to end into its run directory.

    load data -> load model -> [LoRA: train, checkpoint + score on the selection split every
    eval_every steps, keep the best] -> generate on test -> predictions.jsonl -> scores.json
    -> receipt.json -> status done

The cell's lock stops two processes from running it; a finished cell is skipped; an
interrupted one resumes from its last checkpoint (train.py).
"""

from __future__ import annotations

import random
import shutil
import time
from contextlib import nullcontext

import torch

from bioeval.data.instances import Instance
from bioeval.engine import generate as gen
from bioeval.engine.lora import apply_lora, trainable_summary
from bioeval.engine.models import load as load_model
from bioeval.engine.prompts import encode_prompt, inference_prompt
from bioeval.engine.receipt import build_receipt
from bioeval.engine.splits import load_split
from bioeval.engine.train import load_adapter, step_dir, tokenize_train, train
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.resolve import Cell
from bioeval.redact import scrub
from bioeval.runs import RunDir, read_json, write_json, write_jsonl
from bioeval.data import subsample
from bioeval.data.subsample import checkpoint_seed
from bioeval.scoring import Prediction, score, scorer_for
from bioeval.scoring.files import score_with_ci


def cpu_threads() -> int:
    """Torch threads on CPU: 1 unless BIOEVAL_CPU_THREADS says otherwise.  Small models gain little
    from more, a busy machine loses a lot (spinning threads), and a fixed count keeps CPU results
    identical across machines."""
    import os
    return max(1, int(os.environ.get("BIOEVAL_CPU_THREADS", "1")))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:
        pass




def run_cell(loaded: LoadedManifest, cell: Cell, settings, *, force: bool = False, show_progress: bool = True) -> dict:
    rd = RunDir(settings.workdir, cell.run_id)
    with rd:
        if force and rd.path.exists():
            for p in (rd.scores, rd.predictions, rd.receipt, rd.status_file):
                p.unlink(missing_ok=True)
            shutil.rmtree(rd.checkpoints, ignore_errors=True)
        if rd.is_done():
            return read_json(rd.scores)
        rd.create({**cell.spec, "run_id": cell.run_id, "name": cell.name})
        rd.set_status("running")
        log_file = open(rd.log, "a", encoding="utf-8")

        def log(msg: str) -> None:
            log_file.write(scrub(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {msg}\n"))
            log_file.flush()

        try:
            result = _run(loaded, cell, settings, rd, log, show_progress)
        except BaseException as exc:
            log(f"failed: {type(exc).__name__}: {exc}")
            rd.set_status("failed", error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            log_file.close()
        rd.set_status("done")
        return result


def _progress(show: bool):
    if not show:
        return nullcontext(None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


def _run(loaded: LoadedManifest, cell: Cell, settings, rd: RunDir, log, show_progress: bool) -> dict:
    p = cell.protocol
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    log(f"cell {cell.name} ({cell.run_id}) starts")
    seed = p.seed.value
    if not torch.cuda.is_available():
        torch.set_num_threads(cpu_threads())
    seed_everything(seed)

    task_type = cell.dataset.task
    select_on = p.evaluation.select_on.value
    splits_needed = ["test"] + (["train"] if p.mode.value == "finetune" else [])
    if p.mode.value == "finetune" and select_on == "validation":
        splits_needed.append("validation")
    data, pins = {}, {}
    for split in splits_needed:
        data[split], pins[split] = load_split(loaded, cell.dataset, split, settings)
    sub_seed = p.evaluation.subsample_seed.value if p.evaluation.subsample_seed.value is not None else seed
    test, test_idx = subsample(data["test"], p.evaluation.test_subsample.value, sub_seed)
    if len(test) < len(data["test"]):  # the authors sampled 1,000 without a seed; ours is seeded and saved
        write_json(rd.path / "test_subsample.json", {"seed": sub_seed, "n": len(test_idx), "indices": test_idx})
    timings["data"] = time.perf_counter() - t0

    lm = load_model(cell.model, p, loaded.base_dir, settings.cache_dir)
    model, tokenizer = lm.model, lm.tokenizer
    timings["model_load"] = time.perf_counter() - t0 - timings["data"]
    max_prompt = p.prompt.max_prompt_tokens.value
    max_new = p.decoding.max_new_tokens.value.get(task_type)
    if max_new is None:
        from bioeval.errors import ManifestError, Problem
        raise ManifestError([Problem(str(loaded.path), None, None, "protocol.decoding.max_new_tokens",
                                     f"no entry for task type {task_type}.")])
    scorer = scorer_for(p, cell.dataset)
    _, decoding_record = gen.generation_config(model, tokenizer, p.decoding, max_new)

    def encode(instances: list[Instance]):
        return [encode_prompt(inference_prompt(p.prompt, i, tokenizer), tokenizer, max_prompt) for i in instances]

    def predict(instances, encoded, progress):
        outs = gen.generate(model, tokenizer, encoded, p.decoding, max_new, seed=seed, progress=progress)
        return [Prediction(i.id, o.completion, i.response, e.truncated) for i, o, e in zip(instances, outs, encoded)], outs

    extra: dict = {"decoding": decoding_record, "test_sampling": {"scheme": p.evaluation.test_sampling.value}}
    selected = None
    with _progress(show_progress) as progress:
        if p.mode.value == "finetune":
            seed_everything(seed)  # the adapter's initial weights depend on this seed only
            model = apply_lora(model, p.lora, quantized=p.training.quantization.value == "nf4",
                               gradient_checkpointing=p.training.gradient_checkpointing.value)
            extra["trained"] = {**trainable_summary(model), "base_frozen": True,
                                "target_modules": sorted(model.peft_config["default"].target_modules)}
            log(f"LoRA: {extra['trained']}")
            examples = tokenize_train(data["train"], tokenizer, p)
            sel_instances = data["validation"] if select_on == "validation" else test
            sel_encoded = encode(sel_instances)
            # the lab: a new random test sample for every checkpoint, the best of them reported
            fresh = select_on == "test" and p.evaluation.test_sampling.value == "fresh-per-checkpoint"

            def sample_of(step: int) -> tuple[list, list[int]]:
                return subsample(data["test"], p.evaluation.test_subsample.value, checkpoint_seed(sub_seed, step))

            def evaluate(step: int) -> dict:
                if fresh:
                    chosen, _ = sample_of(step)
                    preds, _ = predict(chosen, encode(chosen), progress)
                else:
                    preds, _ = predict(sel_instances, sel_encoded, progress)
                return score(scorer, preds).metrics()

            t_train = time.perf_counter()
            state = train(model, examples, p, rd.checkpoints, evaluate, tokenizer.pad_token_id,
                          select_metric=p.evaluation.select_metric.value, progress=progress, log=log)
            timings["train_and_select"] = time.perf_counter() - t_train
            selected = state["best_step"]
            load_adapter(model, step_dir(rd.checkpoints, selected))
            if fresh:  # the reported test set is the selected checkpoint's own sample
                test, test_idx = sample_of(selected)
                write_json(rd.path / "test_subsample.json", {"seed": checkpoint_seed(sub_seed, selected),
                                                             "n": len(test_idx), "indices": test_idx,
                                                             "scheme": "fresh-per-checkpoint", "step": selected})
                extra["test_sampling"] = {"scheme": "fresh-per-checkpoint", "samples": {  # resumed runs too
                    h["step"]: sample_of(h["step"])[1] for h in state["history"]}}
            extra["selection"] = {"split": select_on, "metric": p.evaluation.select_metric.value,
                                  "history": state["history"], "selected_step": selected}
            log(f"selected checkpoint step {selected} on {select_on}")
        t_test = time.perf_counter()
        test_encoded = encode(test)
        preds, outs = predict(test, test_encoded, progress)
        timings["test_generation"] = time.perf_counter() - t_test

    write_jsonl(rd.predictions, [
        {"id": pr.id, "prompt_sha256": e.sha256, "completion": o.completion,
         "prediction": o.completion.split("\n", 1)[0].strip(), "reference": pr.reference,
         "prompt_truncated": e.truncated}
        for pr, o, e in zip(preds, outs, test_encoded)])
    sc = p.scoring
    result = score_with_ci(scorer, preds, resamples=sc.bootstrap_resamples.value, level=sc.ci_level.value,
                           seed=sc.bootstrap_seed.value)
    scores = {"run_id": cell.run_id, "model": cell.model.key, "dataset": cell.dataset.key, "task": task_type,
              "scorer": p.scoring.scorer.value, "metrics": result.metrics(), "n": result.n,
              "skipped": result.skipped, "invalid": result.invalid, "ci": result.ci,
              "selected_checkpoint": selected, "select_on": select_on if selected is not None else None}
    if p.scoring.also.value:  # further scorers beside the protocol's own (e.g. entity-level F1 for NER)
        from bioeval.scoring.also import also_for_cell
        scores["also"] = also_for_cell(p, cell.dataset, preds)
    write_json(rd.scores, scores)
    timings["total"] = time.perf_counter() - t0
    receipt = build_receipt(manifest_path=loaded.path, manifest_sha256=loaded.sha256, cell=cell, data_pins=pins,
                            model_info=lm.info, seeds={"seed": seed, "shuffle_seed": p.training.shuffle_seed.value
                                                       if p.training else None, "subsample_seed": sub_seed},
                            timings={k: round(v, 3) for k, v in timings.items()}, extra=extra)
    write_json(rd.receipt, receipt)
    log(f"done: {scores['metrics']} (n={result.n}, skipped {result.skipped}) in {timings['total']:.1f}s")
    return scores
