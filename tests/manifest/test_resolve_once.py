"""Loading a manifest builds each cell's protocol once: `cells` uses the protocols load merged and
validated to check them, and builds one again only for entries load never saw (--add-model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioeval.manifest import cells, load_manifest
from bioeval.manifest import protocols as protocols_module
from bioeval.manifest.extend import load_with_additions

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests"


def counted(monkeypatch) -> list:
    calls = []
    original = protocols_module.Protocol.model_validate

    def validate(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(protocols_module.Protocol, "model_validate", validate)
    return calls


@pytest.mark.parametrize("name", ["deepseek_bionlp.yaml", "smoke.yaml"])
def test_cells_reuse_the_protocols_load_built(name, monkeypatch):
    loaded = load_manifest(MANIFESTS / name)
    calls = counted(monkeypatch)
    resolved = cells(loaded)
    assert resolved and calls == []
    for c in resolved:  # the same protocol a fresh merge gives
        assert c.protocol == protocols_module.protocol_for(loaded.manifest, loaded.raw["protocol"], c.model,
                                                            c.dataset)


def test_an_added_model_gets_its_protocol_built():
    folder = MANIFESTS.parent / "assets" / "tiny-llama"
    loaded = load_with_additions(MANIFESTS / "smoke.yaml", [f"extra={folder}"], like="tiny-llama")
    kept = {key: protocol for key, (_, _, protocol) in loaded.protocols.items()}
    resolved = cells(loaded)
    added = [c for c in resolved if c.model.key == "extra"]
    assert added and ("extra", added[0].dataset.key) not in kept  # load never saw it
    for c in resolved:
        assert c.protocol == protocols_module.protocol_for(loaded.manifest, loaded.raw["protocol"], c.model,
                                                            c.dataset)
        if c.model.key != "extra":
            assert c.protocol is kept[(c.model.key, c.dataset.key)]
