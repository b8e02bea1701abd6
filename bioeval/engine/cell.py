"""Run one cell (model x dataset) end to end into its run directory, as named steps:

    load_data -> build_model -> [fine_tune_and_select: LoRA, checkpoint + score on the
    selection split every eval_every steps, keep the best] -> predict (test) ->
    write_outputs: predictions.jsonl -> scores.json (built from that file) -> receipt.json
    (hashes of both) -> status done

The cell's lock stops two processes from running it; a finished cell is skipped; an
interrupted one resumes from its last checkpoint (train.py).
"""

from __future__ import annotations

import random
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import torch

from bioeval.data.cache import sha256_file
from bioeval.data.instances import Instance
from bioeval.engine import fingerprint, portable_math
from bioeval.engine import generate as gen
from bioeval.engine.lora import apply_lora, trainable_summary
from bioeval.engine.models import LoadedModel, load as load_model
from bioeval.engine.prompts import fit_prompt
from bioeval.engine.receipt import build_receipt
from bioeval.engine.splits import load_pinned_split
from bioeval.engine.train import load_adapter, step_dir, tokenize_train, train
from bioeval.manifest.load import LoadedManifest
from bioeval.manifest.resolve import Cell
from bioeval.errors import InputRefused, ManifestError, Problem
from bioeval.redact import scrub
from bioeval.runs import RunDir, read_json, write_json, write_jsonl
from bioeval.data import subsample
from bioeval.data.subsample import checkpoint_seed
from bioeval.scoring import Prediction, score, scorer_for
from bioeval.scoring.scores_json import build_scores


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
    foreign = rd.foreign(cell.spec)
    if foreign and (not force or rd.path.is_symlink()):  # never resume, skip or write into another run's folder
        raise InputRefused(f"{foreign}: `run` neither resumes nor skips a folder that is not this cell's own run.",
                           f"Move {rd.path} away" + ("." if rd.path.is_symlink() else
                                                     ", or pass --force to replace it with a fresh run."))
    with rd:
        if force and rd.path.exists():
            for p in (rd.scores, rd.predictions, rd.receipt, rd.status_file) + ((rd.spec,) if foreign else ()):
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
    from bioeval.console import ScrubbingConsole as Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True), transient=True)


@dataclass
class CellRun:
    """What the steps of one cell share: its inputs, its run directory, its log and timings."""

    loaded: LoadedManifest
    cell: Cell
    settings: object
    rd: RunDir
    log: Callable[[str], None]
    progress: object = None
    timings: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # receipt sections (decoding, trained, selection)
    fingerprint: dict | None = None  # engine/fingerprint.py, taken at cell start
    portable_calls: dict = field(default_factory=dict)  # portable_math.calls at cell start

    @property
    def protocol(self):
        return self.cell.protocol

    def timed(self, name: str, start: float) -> None:
        self.timings[name] = time.perf_counter() - start


@dataclass
class CellData:
    splits: dict[str, list[Instance]]
    pins: dict[str, dict]  # split -> {"file", "sha256", "origin", "records"} (hash of the bytes used)
    test: list[Instance]
    subsample_seed: int


@dataclass
class CellModel:
    weights: LoadedModel  # as loaded (its info goes to the receipt)
    model: object
    tokenizer: object
    scorer: object
    max_new: int
    selected_step: int | None = None
    selected_records: list[dict] | None = None  # the selected checkpoint's own test pass (select_on test)


def _run(loaded: LoadedManifest, cell: Cell, settings, rd: RunDir, log, show_progress: bool) -> dict:
    """The cell's steps, in order (each one a function below, torchtune-recipe style)."""
    run = CellRun(loaded, cell, settings, rd, log)
    t0 = time.perf_counter()
    log(f"cell {cell.name} ({cell.run_id}) starts")
    if not torch.cuda.is_available():
        torch.set_num_threads(cpu_threads())
    run.fingerprint = fingerprint.probe()  # before anything else ran: the numerics this cell gets
    run.portable_calls = dict(portable_math.calls)
    seed_everything(cell.protocol.seed.value)
    data = load_data(run)
    cm = build_model(run)
    with _progress(show_progress) as progress:
        run.progress = progress
        if cell.protocol.mode.value == "finetune":
            fine_tune_and_select(run, data, cm)
        predictions = predict(run, cm, data.test, cm.selected_records)
    run.timed("total", t0)
    return write_outputs(run, data, cm, predictions)


def load_data(run: CellRun) -> CellData:
    """The splits the protocol needs (fetched and hash-checked) and the (seeded) test subsample."""
    t = time.perf_counter()
    p = run.protocol
    needed = ["test"] + (["train"] if p.mode.value == "finetune" else [])
    if p.mode.value == "finetune" and p.evaluation.select_on.value == "validation":
        needed.append("validation")
    splits, pins = {}, {}
    for split in needed:
        splits[split], pins[split] = load_pinned_split(run.loaded, run.cell.dataset, split, run.settings)
    seed = p.test_subsample_seed
    test, test_idx = subsample(splits["test"], p.evaluation.test_subsample.value, seed)
    if len(test) < len(splits["test"]):  # the authors sampled 1,000 without a seed; ours is seeded and saved
        write_json(run.rd.test_subsample, {"seed": seed, "n": len(test_idx), "indices": test_idx})
    run.timed("data", t)
    return CellData(splits, pins, test, seed)


def build_model(run: CellRun) -> CellModel:
    """The base model and tokenizer, the scorer, and the decoding settings for the receipt."""
    t = time.perf_counter()
    p, task = run.protocol, run.cell.dataset.task
    lm = load_model(run.cell.model, p, run.loaded.base_dir, run.settings.cache_dir)
    max_new = p.decoding.max_new_tokens.value.get(task)
    if max_new is None:
        raise ManifestError([Problem(str(run.loaded.path), None, None, "protocol.decoding.max_new_tokens",
                                     f"no entry for task type {task}.")])
    _, run.extra["decoding"] = gen.generation_config(lm.model, lm.tokenizer, p.decoding, max_new)
    run.extra["test_sampling"] = {"scheme": p.evaluation.test_sampling.value}
    run.timed("model_load", t)
    return CellModel(lm, lm.model, lm.tokenizer, scorer_for(p, run.cell.dataset), max_new)


def _encode(run: CellRun, cm: CellModel, instances: list[Instance]):
    p = run.protocol
    return [fit_prompt(p.prompt, i, cm.tokenizer) for i in instances]


def _generate(run: CellRun, cm: CellModel, instances: list[Instance], encoded) -> list[dict]:
    """One record per instance, as predictions.jsonl holds it (the full completion)."""
    outs = gen.generate(cm.model, cm.tokenizer, encoded, run.protocol.decoding, cm.max_new,
                        seed=run.protocol.seed.value, progress=run.progress)
    return [{"id": i.id, "prompt_sha256": e.sha256, "completion": o.completion, "reference": i.response,
             "prompt_truncated": e.truncated, **({"input_cut": True} if e.input_cut else {})}
            for i, o, e in zip(instances, outs, encoded)]


def fine_tune_and_select(run: CellRun, data: CellData, cm: CellModel) -> None:
    """LoRA training; every eval_every steps a checkpoint is scored on the selection split and the
    best one is loaded back into the model."""
    p = run.protocol
    _attach_lora(run, cm)
    examples = _training_examples(run, data, cm)
    selection = _Selection(run, data, cm)
    t = time.perf_counter()
    state = train(cm.model, examples, p, run.rd.checkpoints, selection.evaluate, cm.tokenizer.pad_token_id,
                  select_metric=p.evaluation.select_metric.value, progress=run.progress, log=run.log)
    run.timed("train_and_select", t)
    cm.selected_step = state["best_step"]
    load_adapter(cm.model, step_dir(run.rd.checkpoints, cm.selected_step))
    # Selected on test, the best checkpoint's pass already generated the reported test set with
    # these very weights: generating it again would only double the cost (a resumed run that
    # evaluated that step in an earlier process generates it again, with the same result).
    cm.selected_records = selection.passes.get(cm.selected_step)
    if selection.fresh:  # the reported test set is the selected checkpoint's own sample
        _use_selected_sample(run, data, selection, cm.selected_step, state["history"])
    run.extra["training_execution"] = state["execution"]
    run.extra["selection"] = {"split": selection.select_on, "metric": p.evaluation.select_metric.value,
                              "history": state["history"], "selected_step": cm.selected_step}
    run.log(f"selected checkpoint step {cm.selected_step} on {selection.select_on}")


def _attach_lora(run: CellRun, cm: CellModel) -> None:
    """The LoRA adapter on the base model, and what it trains for the receipt."""
    p = run.protocol
    seed_everything(p.seed.value)  # the adapter's initial weights depend on this seed only
    cm.model = apply_lora(cm.model, p.lora, quantized=p.training.quantization.value == "nf4",
                          gradient_checkpointing=p.training.gradient_checkpointing.value)
    run.extra["trained"] = {**trainable_summary(cm.model), "base_frozen": True,
                            "target_modules": sorted(cm.model.peft_config["default"].target_modules)}
    run.log(f"LoRA: {run.extra['trained']}")


def _training_examples(run: CellRun, data: CellData, cm: CellModel) -> list:
    """The tokenized training texts; the receipt counts how many had to be cut, and where."""
    p = run.protocol
    texts, _ = subsample(data.splits["train"], p.training.train_subsample.value, p.training.shuffle_seed.value)
    examples = tokenize_train(texts, cm.tokenizer, p)
    run.extra["training_texts"] = {"texts": len(examples), "of": len(data.splits["train"]),
                                   "max_seq_length": p.training.max_seq_length.value,
                                   "end_cut": sum(e.cut == "end" for e in examples),
                                   "input_cut": sum(e.cut == "input" for e in examples)}
    return examples


class _Selection:
    """Scores checkpoints on the selection split while training runs (train() calls `evaluate`)."""

    def __init__(self, run: CellRun, data: CellData, cm: CellModel):
        p = run.protocol
        self.run, self.data, self.cm = run, data, cm
        self.select_on = p.evaluation.select_on.value
        self.instances = data.splits["validation"] if self.select_on == "validation" else data.test
        self.encoded = _encode(run, cm, self.instances)  # once, for every checkpoint's pass
        # the lab: a new random test sample for every checkpoint, the best of them reported
        self.fresh = self.select_on == "test" and p.evaluation.test_sampling.value == "fresh-per-checkpoint"
        self.passes: dict[int, list[dict]] = {}  # step -> its test-pass records, reused as the reported predictions

    def sample_of(self, step: int) -> tuple[list, list[int]]:
        """The fresh test sample of the checkpoint at `step` (its seed derives from the step)."""
        return subsample(self.data.splits["test"], self.run.protocol.evaluation.test_subsample.value,
                         checkpoint_seed(self.data.subsample_seed, step))

    def evaluate(self, step: int) -> dict:  # the same scorer and answer as the final scores (no file needed)
        started = time.perf_counter()
        try:
            return self._score(step)
        finally:  # the receipt splits train_and_select into training and these selection passes
            timings = self.run.timings
            timings["selection_evaluation"] = timings.get("selection_evaluation", 0.0) + time.perf_counter() - started

    def _score(self, step: int) -> dict:
        run, cm = self.run, self.cm
        if self.fresh:
            chosen, _ = self.sample_of(step)
            records = _generate(run, cm, chosen, _encode(run, cm, chosen))
        else:
            records = _generate(run, cm, self.instances, self.encoded)
        if self.select_on == "test":
            self.passes[step] = records
        return score(cm.scorer, [Prediction(r["id"], r["completion"], r["reference"], r["prompt_truncated"])
                                 for r in records]).metrics()


def _use_selected_sample(run: CellRun, data: CellData, selection: _Selection, step: int, history: list) -> None:
    """Fresh samples per checkpoint: the selected one's sample becomes the test set, saved with
    its seed, and the receipt lists every checkpoint's sample."""
    data.test, test_idx = selection.sample_of(step)
    write_json(run.rd.test_subsample, {
        "seed": checkpoint_seed(data.subsample_seed, step), "n": len(test_idx), "indices": test_idx,
        "scheme": "fresh-per-checkpoint", "step": step})
    run.extra["test_sampling"] = {"scheme": "fresh-per-checkpoint", "samples": {  # resumed runs too
        h["step"]: selection.sample_of(h["step"])[1] for h in history}}


def predict(run: CellRun, cm: CellModel, test: list[Instance], reuse: list[dict] | None = None) -> list[dict]:
    """The reported test predictions: generated now, or the selected checkpoint's own test pass."""
    t = time.perf_counter()
    records = reuse if reuse is not None else _generate(run, cm, test, _encode(run, cm, test))
    run.timed("test_generation", t)
    if reuse is not None:
        run.extra["test_predictions"] = {"from_selection_pass": cm.selected_step}
    prompt = run.protocol.prompt
    run.extra["prompts"] = {  # the receipt says how many test prompts had to be cut, and how
        "test_instances": len(records), "truncation": prompt.truncation.value,
        "max_prompt_tokens": prompt.max_prompt_tokens.value,
        "truncated": sum(r["prompt_truncated"] for r in records),  # lost the marker: skipped by the scorer
        "input_cut": sum(bool(r.get("input_cut")) for r in records)}  # shortened input, template intact
    return records


def write_outputs(run: CellRun, data: CellData, cm: CellModel, predictions: list[dict]) -> dict:
    """predictions.jsonl, then scores.json built from that file's bytes (the one builder verify
    re-runs), then receipt.json with the hashes of both."""
    p, rd = run.protocol, run.rd
    write_jsonl(rd.predictions, predictions)
    selected = cm.selected_step
    inputs = {split: {"file": pin["file"], "sha256": pin["sha256"]} for split, pin in data.pins.items()}
    scores = build_scores(run.cell.run_id, run.cell.spec, rd.predictions, scorer=cm.scorer,
                          selected_checkpoint=selected,
                          select_on=p.evaluation.select_on.value if selected is not None else None, inputs=inputs)
    write_json(rd.scores, scores)
    seeds = {"seed": p.seed.value, "shuffle_seed": p.training.shuffle_seed.value if p.training else None,
             "subsample_seed": data.subsample_seed}
    receipt = build_receipt(manifest_path=run.loaded.path, manifest_sha256=run.loaded.sha256, cell=run.cell,
                            data_pins=data.pins, model_info=cm.weights.info, seeds=seeds,
                            timings={k: round(v, 3) for k, v in run.timings.items()}, extra=run.extra)
    receipt["numerics"]["fingerprint"] = run.fingerprint
    if portable_math.installed():  # which portable kernels this cell ran, and how often (docs/engine.md)
        receipt["numerics"]["portable_calls"] = {k: n - run.portable_calls.get(k, 0) for k, n in
                                                 sorted(portable_math.calls.items()) if n > run.portable_calls.get(k, 0)}
    receipt["outputs"] = {"predictions_sha256": scores["predictions_sha256"], "scores_sha256": sha256_file(rd.scores)}
    write_json(rd.receipt, receipt)
    run.log(f"done: {scores['metrics']} (n={scores['n']}, skipped {scores['skipped']}) in {run.timings['total']:.1f}s")
    return scores
