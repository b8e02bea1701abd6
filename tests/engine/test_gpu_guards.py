"""GPU-only paths fail on CPU at once, with a message that says what to change."""

import pytest
import torch

from bioeval.errors import EnvironmentProblem

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU guards")


def test_nf4_needs_cuda():
    from bioeval.engine.models import quantization_config

    with pytest.raises(EnvironmentProblem, match=r"4-bit nf4 quantization .* needs a CUDA GPU") as err:
        quantization_config("nf4")
    assert "quantization: none" in str(err.value)
    assert quantization_config("none") is None


def test_paged_adamw_needs_cuda(smoke, tiny):
    from bioeval.engine.train import make_optimizer

    model, _ = tiny
    training = smoke.manifest.protocol.training
    protocol = smoke.manifest.protocol.model_copy(update={"training": training.model_copy(update={
        "optimizer": training.optimizer.model_copy(update={"value": "paged_adamw_8bit"})})})
    with pytest.raises(EnvironmentProblem, match="paged_adamw_8bit needs a CUDA GPU") as err:
        make_optimizer(model, protocol)
    assert "adamw_torch" in str(err.value)


def test_gpu_manifest_stops_reproduce_at_once(tmp_path):
    """A manifest whose model needs a GPU: exit 3 before any work, pointing to plan/audit/verify."""
    from tests.engine.conftest import SMOKE, bioeval_cmd

    text = SMOKE.read_text().replace("resources: {gpus: 0,", "resources: {gpus: 1,")
    text = text.replace("../assets/", str(SMOKE.parent.parent / "assets") + "/")
    gpu = tmp_path / "gpu.yaml"
    gpu.write_text(text)
    res = bioeval_cmd("reproduce", str(gpu), workdir=tmp_path / "runs")
    assert res.returncode == 3, res.stderr
    for word in ("needs 1 GPU", "bioeval plan", "bioeval audit", "bioeval verify"):
        assert word in res.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
