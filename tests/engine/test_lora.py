import pytest

from bioeval.engine.lora import apply_lora, peft_default_targets, target_modules, trainable_summary
from bioeval.errors import ModelError
from bioeval.manifest.schema import LoraSpec


def lora(targets) -> LoraSpec:
    return LoraSpec.model_validate({"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": targets})


def test_peft_default_is_peft_own_mapping():
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as M

    assert target_modules(lora("peft-default"), "llama") == ["q_proj", "v_proj"] == M["llama"]
    assert target_modules(lora("peft-default"), "qwen2") == ["q_proj", "v_proj"]


def test_phi3_has_no_peft_default_and_says_what_to_do():
    with pytest.raises(ModelError) as err:
        peft_default_targets("phi3")
    msg = str(err.value)
    assert "'phi3'" in msg and "qkv_proj" in msg and "lora.target_modules" in msg


def test_explicit_targets_pass_through():
    assert target_modules(lora(["qkv_proj", "o_proj"]), "phi3") == ["qkv_proj", "o_proj"]


def test_only_adapters_train(tiny):
    import copy
    model, _ = tiny
    peft_model = apply_lora(copy.deepcopy(model), lora(["q_proj", "v_proj"]))
    summary = trainable_summary(peft_model)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    # r=4 on q and v (64 -> 64) of 2 layers: 2 layers * 2 modules * (4*64 + 64*4)
    assert summary["trainable_parameters"] == 2 * 2 * (4 * 64 + 64 * 4)


def test_gradient_checkpointing_trains_the_adapters(tiny):
    import copy

    import torch
    model, tok = tiny
    peft_model = apply_lora(copy.deepcopy(model), lora(["q_proj", "v_proj"]), gradient_checkpointing=True)
    peft_model.train()
    ids = torch.tensor([tok("the patient was given aspirin")["input_ids"]])
    peft_model(input_ids=ids, labels=ids).loss.backward()
    # lora_B starts at zero, so only its gradients are non-zero after one backward pass
    grads = [p.grad for n, p in peft_model.named_parameters() if "lora_B" in n]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)
    base = peft_model.base_model.model
    assert getattr(base, "is_activation_checkpointing", None) or base.is_gradient_checkpointing
