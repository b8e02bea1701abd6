"""Fixtures of the engine tests: the shipped tiny model and the smoke manifest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "manifests" / "smoke.yaml"
TINY = REPO / "assets" / "tiny-llama"


@pytest.fixture(scope="session")
def tiny():
    """(model, tokenizer) of the shipped tiny Llama, pad = eos as the engine sets it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(TINY)
    tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(TINY)
    model.eval()
    return model, tok


@pytest.fixture(scope="session")
def smoke():
    from bioeval.manifest import load_manifest

    return load_manifest(SMOKE)


def bioeval_cmd(*args: str, workdir: Path, importtime: bool = False, timeout: int = 300, env=None):
    """The real CLI in a subprocess (python -m bioeval), optionally with -X importtime."""
    import os
    cmd = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-m", "bioeval", "--workdir",
                                                                           str(workdir), *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def imported(stderr: str, module: str) -> bool:
    """Whether -X importtime output shows ``module`` being imported."""
    return any(line.rsplit("|", 1)[-1].strip() == module for line in stderr.splitlines()
               if line.startswith("import time:"))
