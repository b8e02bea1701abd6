"""What truly needs a GPU (a model asking for GPUs this machine lacks) fails at once, with a message
that says what to change.  nf4, paged 8-bit AdamW and fp16 run on CPU: tests/engine/test_paper_protocol_cpu.py."""

import pytest
import torch

pytestmark = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU guards")


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
