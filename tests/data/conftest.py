"""Fixtures of the data tests: a real local HTTP server and small manifests pointing at it."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from hubserver import HubServer

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"

HEADER = """\
# a test manifest (comments must survive `bioeval lock`)
schema_version: 1
paper:
  title: "data tests"   # inline comment
models:
  - key: model-a
    paper_name: "Model A"
    repo: org/model-a
    revision: 0123456789abcdef0123456789abcdef01234567
"""

PROTOCOL = """
protocol:
  mode: {value: zero-shot, source: assumed}
  seed: {value: 0, source: assumed}
  prompt:
    inference_template: {value: "{instruction}\\n{inputsentence}\\n", source: assumed}
    max_prompt_tokens: {value: 512, source: assumed}
  decoding:
    max_new_tokens: {value: {EE: 10, RE: 20, NER: 200, TC: 10}, source: assumed}
  scoring:
    scorer: {value: zhan2024-set-f1, source: authors-code}
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_manifest(directory: Path, datasets_yaml: str, models_yaml: str | None = None, name="m.yaml") -> Path:
    header = HEADER if models_yaml is None else HEADER.split("models:")[0] + models_yaml
    text = header + "datasets:\n" + textwrap.indent(textwrap.dedent(datasets_yaml), "  ") + PROTOCOL
    path = directory / name
    path.write_text(text)
    return path


@pytest.fixture
def hub(tmp_path, mirror):
    """Serves /files/<name> from the lab mirror and /bad/<name> from corrupted copies."""
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("EE_phee_test.json", "RE_BioRED_test.json"):
        data = bytearray((mirror / name).read_bytes())
        data[100] ^= 0x01  # one flipped bit
        (bad / name).write_bytes(bytes(data))
    server = HubServer()
    server.roots = {"files": mirror, "bad": bad, "fixtures": FIXTURES}
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("BIOEVAL_BACKOFF", "0.01")
    monkeypatch.setenv("BIOEVAL_RETRIES", "3")


from conftest_paths import MIRROR_DIR  # noqa: E402  (the lab mirror, for module-scoped fixtures)
