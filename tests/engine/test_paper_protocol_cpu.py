"""The paper's protocol (Zhan et al.: QLoRA nf4 + paged 8-bit AdamW + fp16 with a grad scaler, no
EOS, per-sentence decoding, a fresh test cut per checkpoint, selection on test) runs on CPU through
bitsandbytes, end to end through manifests/zhan2025_miniature.yaml on the shipped tiny model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from bioeval.errors import EnvironmentProblem
from tests.engine.conftest import REPO, TINY, bioeval_cmd

MINIATURE = REPO / "manifests" / "zhan2025_miniature.yaml"
MIRROR = REPO.parent / "shared" / "data" / "zhan2024"
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason="the lab's data (../shared/data/zhan2024) is absent")
TINY_CELL = ["--add-model", f"tiny={TINY}", "--only", "model=tiny,dataset=phee"]


def test_nf4_is_the_authors_qlora_config_without_a_gpu():
    from bioeval.engine.models import quantization_config

    q = quantization_config("nf4")
    assert (q.load_in_4bit, q.bnb_4bit_quant_type, q.bnb_4bit_use_double_quant) == (True, "nf4", True)
    assert q.bnb_4bit_compute_dtype == torch.bfloat16
    assert quantization_config("none") is None


def test_paged_adamw_8bit_on_cpu_steps_the_adapter(smoke, tiny):
    """bitsandbytes' PagedAdamW8bit moves LoRA weights on CPU under fp16 autocast and a grad scaler."""
    import copy

    from bioeval.engine.lora import apply_lora
    from bioeval.engine.train import make_optimizer, make_scaler

    training = smoke.manifest.protocol.training
    protocol = smoke.manifest.protocol.model_copy(update={"training": training.model_copy(update={
        "optimizer": training.optimizer.model_copy(update={"value": "paged_adamw_8bit"}),
        "precision": training.precision.model_copy(update={"value": "fp16"})})})
    torch.manual_seed(0)
    model = apply_lora(copy.deepcopy(tiny[0]), protocol.lora)
    opt = make_optimizer(model, protocol)
    assert type(opt).__name__ == "PagedAdamW8bit"
    scaler = make_scaler(protocol, torch.device("cpu"))
    assert scaler.is_enabled()
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    ids = torch.arange(2, 18).reshape(2, 8)
    for _ in range(5):  # a step whose fp16 gradients overflow is skipped and the scale halved, as on a GPU
        with torch.autocast("cpu", dtype=torch.float16):
            loss = model(input_ids=ids, labels=ids).loss
        assert loss.dtype == torch.float32  # the loss is computed in fp32 from fp16 logits
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
    moved = [n for n, p in model.named_parameters() if p.requires_grad and not torch.equal(p, before[n])]
    assert moved, f"no adapter weight changed in 5 steps (scale now {scaler.get_scale()})"


def test_missing_bitsandbytes_is_named(monkeypatch):
    from bioeval.engine.models import quantization_config

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import fails as if not installed
    with pytest.raises(EnvironmentProblem, match="needs the bitsandbytes package") as err:
        quantization_config("nf4")
    assert "bitsandbytes==0.50.2" in str(err.value)


def test_training_after_evaluation_keeps_gradients(tiny):
    """bitsandbytes repacks 4-bit weights for its AVX512-BF16 CPU kernel in eval mode; the engine keeps
    one differentiable path so an evaluation between training steps never cuts the gradients."""
    from transformers import AutoModelForCausalLM

    from bioeval.engine.lora import apply_lora
    from bioeval.engine.models import one_4bit_path, quantization_config
    from bioeval.manifest import load_manifest

    lm = AutoModelForCausalLM.from_pretrained(TINY, quantization_config=quantization_config("nf4"),
                                              device_map={"": "cpu"}, dtype=torch.float32)
    one_4bit_path(lm)
    model = apply_lora(lm, load_manifest(REPO / "manifests" / "smoke.yaml").manifest.protocol.lora, quantized=True)
    ids = torch.arange(2, 18).reshape(2, 8)
    model.eval()
    with torch.no_grad():
        model(input_ids=ids)
    model.train()
    model(input_ids=ids, labels=ids).loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if p.requires_grad and "lora_B" in n]  # A starts at 0 grad
    assert grads and all(g is not None and torch.count_nonzero(g) > 0 for g in grads)


def _receipt(run_dir):
    return json.loads((run_dir / "receipt.json").read_text())


@needs_mirror
@pytest.mark.slow
def test_miniature_paper_protocol_on_tiny_model_resumes_after_sigkill(tmp_path):
    """The miniature's engine path on the tiny model: kill -9 after the first checkpoint, rerun, and the
    predictions equal an uninterrupted run's; the receipt says what really ran."""
    from bioeval.manifest import cells
    from bioeval.manifest.extend import load_with_additions

    cell = cells(load_with_additions(MINIATURE, [f"tiny={TINY}"]), "model=tiny,dataset=phee")[0]
    assert cell.protocol.training.quantization.value == "nf4"
    killed = tmp_path / "killed"
    run_dir = killed / cell.run_id
    progress = run_dir / "checkpoints" / "progress.json"
    cmd = [sys.executable, "-m", "bioeval", "--workdir", str(killed), "--data-mirror", str(MIRROR), "run",
           str(MINIATURE), *TINY_CELL, "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and not progress.exists() and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = json.loads(progress.read_text())["last_step"]
    assert first in (1, 2)
    assert not (run_dir / "scores.json").exists(), "the run finished before it was killed"

    mirror = ["--data-mirror", str(MIRROR)]
    res = bioeval_cmd(*mirror, "run", str(MINIATURE), *TINY_CELL, "--no-progress", workdir=killed, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"resumed from checkpoint step {first} of 2" in (run_dir / "log.txt").read_text()
    history = json.loads(progress.read_text())["history"]
    assert [h["step"] for h in history] == [1, 2]
    res = bioeval_cmd(*mirror, "run", str(MINIATURE), *TINY_CELL, "--no-progress", workdir=tmp_path / "clean",
                      timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    clean = tmp_path / "clean" / cell.run_id
    assert (run_dir / "predictions.jsonl").read_bytes() == (clean / "predictions.jsonl").read_bytes()

    receipt = _receipt(run_dir)
    q = receipt["model_pin"]["quantization_detail"]
    assert (q["quant_type"], q["double_quant"], q["compute_dtype"]) == ("nf4", True, "bfloat16")
    assert q["layers"]["bitsandbytes.nn.modules.Linear4bit"] > 0
    assert q["bitsandbytes"]["backend"] == "cpu" and q["bitsandbytes"]["version"]
    ex = receipt["training_execution"]
    assert ex["optimizer"] == "bitsandbytes.optim.adamw.PagedAdamW8bit" and ex["device"] == "cpu"
    assert ex["optimizer_state_paged"] is False  # paging needs CUDA: a CPU run never passes for a GPU run
    assert ex["autocast_dtype"] == "float16" and ex["grad_scaler"]["enabled"]
    # the paper's protocol as it ran: no EOS, one prompt at a time, a fresh cut per checkpoint, on test
    spec = json.loads((run_dir / "spec.json").read_text())["protocol"]
    assert spec["training"]["append_eos"] is False
    assert spec["decoding"]["per_sentence"] is True and spec["decoding"]["eval_batch_size"] == 1
    assert receipt["selection"]["split"] == "test"
    samples = receipt["test_sampling"]["samples"]
    assert receipt["test_sampling"]["scheme"] == "fresh-per-checkpoint" and len(samples) == 2
    assert samples["1"] != samples["2"]
    chosen = json.loads((run_dir / "test_subsample.json").read_text())
    assert chosen["scheme"] == "fresh-per-checkpoint" and chosen["indices"] == samples[str(chosen["step"])]
