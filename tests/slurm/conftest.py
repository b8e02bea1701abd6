"""Fixtures for the Slurm tests: a small manifest, and a real single-node cluster."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bioeval.settings import Settings

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "scripts" / "slurm_cluster.sh"
CELL_TASK = Path(__file__).resolve().parent / "cell_task.py"
# the per-task command of the tests: a real process doing what a cell run does to its run dir
CELL_COMMAND = f'"$PYTHON" {CELL_TASK} "$WORKDIR" "$RUN_ID" "$MODEL" "$DATASET"'

# a valid protocol (copied from the smoke manifest; these tests never train)
PROTOCOL = r"""protocol:
  mode: {value: finetune, source: assumed}
  seed: {value: 0, source: assumed}
  prompt:
    train_template: {value: "### Instruction:\n{instruction}\n\n### Input: \n{inputsentence}\n\n### Response: \n{response}", source: assumed, note: "short form of the authors' Alpaca prompt"}
    inference_template: {value: "### Instruction:\n{instruction}\n\n### Input: \n{inputsentence}\n\n### Response: \n", source: assumed}
    response_marker: {value: "\n\n### Response: \n", source: authors-code}
    max_prompt_tokens: {value: 256, source: assumed}
  lora:
    r: {value: 8, source: assumed}
    alpha: {value: 16, source: assumed}
    dropout: {value: 0.0, source: assumed}
    target_modules: {value: peft-default, source: authors-code, note: "peft's per-architecture default (q_proj, v_proj for llama)"}
  training:
    optimizer: {value: adamw_torch, source: assumed}
    learning_rate: {value: 3.0e-3, source: assumed}
    max_steps: {value: 60, source: assumed}
    per_device_batch_size: {value: 8, source: assumed}
    max_seq_length: {value: 256, source: assumed}
    precision: {value: fp32, source: assumed, note: "CPU"}
  evaluation:
    eval_every: {value: 20, source: assumed}
  decoding:
    max_new_tokens: {value: {EE: 10, RE: 20, NER: 64, TC: 10}, source: assumed}
  scoring:
    scorer: {value: zhan2024-set-f1, source: authors-code}
"""


def manifest_text(models: list[tuple[str, str]], datasets: int) -> str:
    """models: (key, resources as a YAML flow mapping); datasets: how many (EE task, tiny files)."""
    lines = ["schema_version: 1", "paper: {title: slurm test grid}", "models:"]
    for key, resources in models:
        lines += [f"  - key: {key}", f"    paper_name: {key}", "    revision: ./model",
                  f"    resources: {resources}"]
    lines.append("datasets:")
    for i in range(datasets):
        lines += [f"  - key: d{i}", f"    paper_name: D{i}", "    task: EE", "    splits:",
                  "      test: {source: {local: data/test.json}}"]
    return "\n".join(lines) + "\n" + PROTOCOL


@pytest.fixture
def make_manifest(tmp_path):
    def make(models=(("m1", "{gpus: 0, memory_gb: 1, time: '00:05:00'}"),), datasets=2, name="grid.yaml"):
        (tmp_path / "data").mkdir(exist_ok=True)
        (tmp_path / "data" / "test.json").write_text("[]")
        (tmp_path / "model").mkdir(exist_ok=True)  # a local model folder, as fetch checks it
        (tmp_path / "model" / "config.json").write_text("{}")
        path = tmp_path / name
        path.write_text(manifest_text(list(models), datasets))
        return path
    return make


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(workdir=tmp_path / "runs")


def _reachable(env) -> bool:
    try:
        return subprocess.run(["scontrol", "ping"], env=env, capture_output=True, text=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A reachable Slurm controller: the one SLURM_CONF names, or a private one started here
    with scripts/slurm_cluster.sh (and stopped at the end)."""
    if os.environ.get("SLURM_CONF") and _reachable(os.environ):
        yield os.environ["SLURM_CONF"]
        return
    if shutil.which("slurmd") is None and not Path("/usr/sbin/slurmd").exists() and os.geteuid() != 0:
        pytest.skip("Slurm is not installed and we are not root to install it")
    folder = Path(f"/tmp/bioeval-slurm-test-{os.getpid()}")  # short: munge's socket path has a length limit
    subprocess.run(["bash", str(CLUSTER_SCRIPT), "start", str(folder)], check=True, timeout=600)
    conf = str(folder / "slurm.conf")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = conf
    try:
        yield conf
    finally:
        subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(folder)], timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old


def wait_for(predicate, timeout=60.0, step=0.5, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


PYTHON = sys.executable
