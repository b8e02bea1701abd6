"""training.shared_prefix: the batch's common prefix run once gives the plain forward's loss and gradients."""

import copy

import pytest

from bioeval.data.instances import Instance
from bioeval.engine.shared_prefix import IGNORE, MIN_PREFIX, prefix_length
from bioeval.engine.train import Example
from tests.engine.conftest import SMOKE


def ex(ids, first_label):
    return Example(list(ids), [IGNORE] * first_label + list(ids[first_label:]))


def test_prefix_is_the_common_start_of_every_text():
    a = ex([1, 2, 3, 4, 5, 6, 7], 6)
    b = ex([1, 2, 3, 9, 5, 6, 7], 6)
    assert prefix_length([a, b]) == 3
    assert prefix_length([a]) == 5  # alone: everything before the first label's predecessor


def test_prefix_stops_before_the_first_labelled_tokens_predecessor():
    # the token before a label predicts it, so its logits (hence its hidden state) must be in the suffix
    a = ex([1, 2, 3, 4, 5, 6], 3)
    b = ex([1, 2, 3, 4, 5, 6, 8], 5)
    assert prefix_length([a, b]) == 2
    assert prefix_length([ex([1, 2, 3], 0)]) == 0  # loss on the whole text: nothing to share


def test_prefix_never_exceeds_the_shortest_text():
    assert prefix_length([ex([1, 2, 3, 4, 5, 6, 7, 8], 8), ex([1, 2, 3], 3)]) == 2


def examples(tok, n=4):
    """Training examples of the smoke protocol (loss on the response) sharing a long instruction."""
    from bioeval.engine.train import tokenize_train
    from bioeval.manifest import load_manifest

    base = load_manifest(SMOKE).manifest.protocol
    training = base.training.model_copy(update={"loss_on": base.training.loss_on.model_copy(
        update={"value": "response"})})
    protocol = base.model_copy(update={"training": training})
    words = ["aspirin", "the patient developed a severe rash", "no effect", "headache and nausea after the dose"]
    inst = [Instance(f"train-{i}", "Decide whether the sentence reports an adverse drug event.",
                     f"sentence {i}: {words[i % len(words)]}", ["related", "not-related"][i % 2]) for i in range(n)]
    return tokenize_train(inst, tok, protocol)


def lora_model(model, top_layers=None):
    """The smoke's LoRA (in the top `top_layers` only, when given) on a copy of `model`, eval mode,
    with trained-looking adapters."""
    import torch

    from bioeval.engine.lora import apply_lora
    from bioeval.manifest import load_manifest

    spec = load_manifest(SMOKE).manifest.protocol.lora
    spec = spec.model_copy(update={"top_layers": spec.top_layers.model_copy(update={"value": top_layers})})
    peft = apply_lora(copy.deepcopy(model), spec)
    torch.manual_seed(0)
    for name, p in peft.named_parameters():  # a trained-looking adapter: B = 0 would hide the prefix's gradients
        if "lora_B" in name:
            p.data.normal_(0, 0.05)
    peft.eval()  # no dropout: both paths see the same network
    return peft


def test_shared_prefix_loss_and_gradients_equal_the_plain_forward(tiny):
    import torch

    from bioeval.engine import shared_prefix
    from bioeval.engine.train import collate

    model, tok = tiny
    batch = examples(tok)
    assert prefix_length(batch) >= MIN_PREFIX
    peft = lora_model(model)
    dev = torch.device("cpu")

    def grads(loss):
        peft.zero_grad()
        loss.backward()
        return {n: p.grad.clone() for n, p in peft.named_parameters() if p.requires_grad}

    plain = peft(**collate(batch, tok.pad_token_id, dev)).loss
    g_plain = grads(plain)
    shared = shared_prefix.loss(peft, batch, tok.pad_token_id, dev)
    assert shared is not None
    g_shared = grads(shared)
    assert shared.item() == pytest.approx(plain.item(), rel=1e-5)
    lora_a = [n for n in g_plain if "lora_A" in n]
    assert lora_a and any(g_plain[n].abs().sum() > 0 for n in lora_a)
    for n in g_plain:
        assert torch.allclose(g_shared[n], g_plain[n], atol=1e-6, rtol=1e-4), n


def test_too_short_a_prefix_falls_back_to_the_plain_forward(tiny):
    import torch

    from bioeval.engine import shared_prefix
    from bioeval.engine.train import _loss, collate

    model, tok = tiny
    peft = lora_model(model)
    dev = torch.device("cpu")
    ids = tok("the patient developed a rash after the first dose")["input_ids"]
    assert len(ids) > 2
    batch = [Example(ids, list(ids)), Example(ids[::-1], list(ids[::-1]))]  # labels from the first token
    assert shared_prefix.loss(peft, batch, tok.pad_token_id, dev) is None
    assert _loss(peft, batch, tok.pad_token_id, dev, True).item() == pytest.approx(
        peft(**collate(batch, tok.pad_token_id, dev)).loss.item())


def test_shared_prefix_excludes_gradient_checkpointing(tmp_path):
    from bioeval.errors import ManifestError
    from bioeval.manifest import load_manifest

    text = SMOKE.read_text()
    assert "  training:\n" in text
    text = text.replace("  training:\n", "  training:\n    shared_prefix: {value: true, source: assumed}\n"
                        "    gradient_checkpointing: {value: true, source: assumed}\n", 1)
    bad = tmp_path / "m.yaml"
    bad.write_text(text)
    with pytest.raises(ManifestError, match="shared_prefix"):
        load_manifest(bad)


def check_a_later_default(tmp_path, section: str, name: str, written, as_before: str, other: str, value):
    """A field added after run ids were recorded: left out, or written at its as-before value, the
    run ids are what they were; at `other` they all change and the run spec holds `value`.
    `written(text, v)` is the smoke manifest's text with the field written as `v`."""
    from bioeval.manifest import cells, load_manifest

    def ids(text):
        path = tmp_path / "m.yaml"
        path.write_text(text)
        loaded = load_manifest(path)
        return [c.run_id for c in cells(loaded)], cells(loaded)[0].spec["protocol"][section]

    text = SMOKE.read_text()
    before, spec = ids(text)
    assert name not in spec
    same, _ = ids(written(text, as_before))
    changed, spec = ids(written(text, other))
    assert same == before and spec[name] == value
    assert not set(changed) & set(before)


def test_run_ids_stay_unless_the_prefix_is_shared(tmp_path):
    check_a_later_default(tmp_path, "training", "shared_prefix", lambda text, v: text.replace(
        "  training:\n", f"  training:\n    shared_prefix: {{value: {v}, source: assumed}}\n", 1), "false", "true", True)
