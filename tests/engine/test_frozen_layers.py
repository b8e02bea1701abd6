"""lora.top_layers: the frozen layers run once per text give the plain forward's loss and gradients."""

import pytest

from bioeval.engine.frozen_layers import top_layer_indices
from bioeval.engine.train import Example
from tests.engine.conftest import SMOKE
from tests.engine.test_shared_prefix import check_a_later_default, examples, lora_model


def test_top_layers_name_the_last_layers():
    assert top_layer_indices(30, 4) == [26, 27, 28, 29]
    assert top_layer_indices(30, None) is None
    assert top_layer_indices(4, 4) is None  # every layer: the paper's LoRA


def top_lora_model(model, top: int):
    return lora_model(model, top_layers=top)


def grads(peft, loss):
    peft.zero_grad()
    loss.backward()
    return {n: p.grad.clone() for n, p in peft.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("shared", [True, False], ids=["shared-prefix", "no-shared-prefix"])
def test_cached_frozen_layers_give_the_plain_loss_and_gradients(tiny, shared):
    import torch

    from bioeval.engine.frozen_layers import FrozenLayers
    from bioeval.engine.train import collate

    model, tok = tiny
    n = model.config.num_hidden_layers
    assert n >= 2
    batch = examples(tok, n=6)
    if not shared:  # loss on every token: nothing may be shared
        batch = [Example(e.ids, list(e.ids)) for e in batch]
    peft = top_lora_model(model, top=n - 1)
    trainable = {n.split(".layers.")[1].split(".")[0] for n, p in peft.named_parameters() if p.requires_grad}
    assert trainable == {str(i) for i in range(1, n)}  # layer 0 frozen, below the adapters
    dev = torch.device("cpu")
    frozen = FrozenLayers(peft, batch, tok.pad_token_id, dev)
    assert (frozen.k > 0) == shared and frozen.first == 1
    steps = [[0, 2, 4], [1, 2, 5, 3]]  # the second step reuses text 2's kept states
    for step in steps:
        part = [batch[i] for i in step]
        plain = peft(**collate(part, tok.pad_token_id, dev)).loss
        g_plain = grads(peft, plain)
        cached = frozen.loss(peft, batch, step)
        g_cached = grads(peft, cached)
        assert cached.item() == pytest.approx(plain.item(), rel=1e-5)
        assert any(g.abs().sum() > 0 for g in g_plain.values())
        for name in g_plain:
            assert torch.allclose(g_cached[name], g_plain[name], atol=1e-6, rtol=1e-4), name
    assert sorted(frozen.rows) == [0, 1, 2, 3, 4, 5]
    # the model is whole again: the plain forward still runs every layer
    assert len(peft.get_base_model().get_decoder().layers) == n


def test_adapters_in_every_layer_are_refused(tiny):
    import torch

    from bioeval.engine.frozen_layers import FrozenLayers

    model, tok = tiny
    peft = top_lora_model(model, top=model.config.num_hidden_layers)
    with pytest.raises(ValueError, match="top_layers"):
        FrozenLayers(peft, examples(tok), tok.pad_token_id, torch.device("cpu"))


def with_top_layers(text: str, value, extra: str = "") -> str:
    assert "  lora:\n" in text
    return text.replace("  lora:\n", f"  lora:\n    top_layers: {{value: {value}, source: assumed}}\n", 1).replace(
        "  training:\n", "  training:\n" + extra, 1)


@pytest.mark.parametrize("value,extra,match", [
    (0, "", "top_layers must be at least 1"),
    (1, "    gradient_checkpointing: {value: true, source: assumed}\n", "gradient_checkpointing false"),
])
def test_bad_top_layers_are_manifest_errors(tmp_path, value, extra, match):
    from bioeval.errors import ManifestError
    from bioeval.manifest import load_manifest

    text = SMOKE.read_text()
    assert "gradient_checkpointing" not in text
    bad = tmp_path / "m.yaml"
    bad.write_text(with_top_layers(text, value, extra))
    with pytest.raises(ManifestError, match=match):
        load_manifest(bad)


def test_run_ids_stay_unless_top_layers_are_set(tmp_path):
    check_a_later_default(tmp_path, "lora", "top_layers", with_top_layers, "null", "1", 1)


def test_training_with_top_layers_adapts_only_them_and_resumes(tiny, tmp_path, monkeypatch):
    """engine.train with lora.top_layers: adapters (and their updates) only in the top layers; an
    interrupted run resumes to the same weights as an uninterrupted one."""
    import copy

    import torch
    from safetensors.torch import load_file

    from bioeval.engine.lora import apply_lora
    from bioeval.engine.train import tokenize_train, train
    from bioeval.manifest import load_manifest

    model, tok = tiny
    n = model.config.num_hidden_layers
    base = load_manifest(SMOKE).manifest.protocol
    t, lora = base.training, base.lora

    def set_(spec, **values):
        return spec.model_copy(update={k: getattr(spec, k).model_copy(update={"value": v}) for k, v in values.items()})

    protocol = base.model_copy(update={
        "lora": set_(lora, top_layers=1, dropout=0.0),
        "training": set_(t, max_steps=4, per_device_batch_size=2, gradient_accumulation_steps=1, loss_on="response"),
        "evaluation": set_(base.evaluation, eval_every=2)})
    from bioeval.data.instances import Instance

    inst = [Instance(f"t{i}", "Is the drug named?", f"text {i} with aspirin" if i % 2 else f"text {i}", ["yes", "no"][i % 2])
            for i in range(6)]
    exs = tokenize_train(inst, tok, protocol)

    class Killed(Exception):
        pass

    def run(folder, kill_at=None):
        def evaluate(step):
            if step == kill_at:  # killed while scoring: progress.json still names the step before
                raise Killed
            return {"f1": 0.0}

        torch.manual_seed(0)
        peft = apply_lora(copy.deepcopy(model), protocol.lora)
        train(peft, exs, protocol, folder, evaluate=evaluate, pad_id=tok.pad_token_id, log=lambda *_: None)

    from bioeval.engine.frozen_layers import FrozenLayers

    calls = []
    real = FrozenLayers.loss
    monkeypatch.setattr(FrozenLayers, "loss", lambda self, *a: calls.append(a[2]) or real(self, *a))  # a spy
    whole = tmp_path / "whole"
    run(whole)
    assert len(calls) == 4  # every step took the kept-states path
    weights = load_file(whole / "step-000004" / "adapter.safetensors")
    layers = {k.split(".layers.")[1].split(".")[0] for k in weights}
    assert layers == {str(n - 1)}
    start = get_initial(model, protocol)
    assert any(not torch.equal(weights[k], start[k]) for k in weights if "lora_B" in k)  # it trained
    split = tmp_path / "split"
    with pytest.raises(Killed):
        run(split, kill_at=4)
    run(split)  # resumes from step 2, its frozen layers' outputs computed afresh
    again = load_file(split / "step-000004" / "adapter.safetensors")
    for k in weights:
        assert torch.allclose(again[k], weights[k], atol=1e-6), k


def get_initial(model, protocol):
    import copy

    import torch
    from peft import get_peft_model_state_dict

    from bioeval.engine.lora import apply_lora

    torch.manual_seed(0)
    return get_peft_model_state_dict(apply_lora(copy.deepcopy(model), protocol.lora))
