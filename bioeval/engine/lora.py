"""LoRA from the manifest through peft; `peft-default` means peft's own per-architecture targets."""

from __future__ import annotations

from bioeval.errors import ModelError
from bioeval.manifest.schema import LoraSpec


def peft_default_targets(model_type: str) -> list[str]:
    """What peft picks when LoraConfig has no target_modules (what the authors' code relied on)."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as MAPPING

    targets = MAPPING.get(model_type)
    if targets is None:
        raise ModelError(
            f"lora.target_modules is peft-default, but peft has no default target modules for "
            f"architecture {model_type!r} (e.g. Phi-3/Phi-4 fuse q/k/v into qkv_proj).",
            "List the modules explicitly in the manifest, e.g. lora.target_modules: "
            "{value: [qkv_proj, o_proj], source: assumed, note: why}.")
    return list(targets) if not isinstance(targets, str) else [targets]


def target_modules(spec: LoraSpec, model_type: str) -> list[str]:
    value = spec.target_modules.value
    return peft_default_targets(model_type) if value == "peft-default" else list(value)


def lora_config(spec: LoraSpec, model_type: str, num_layers: int | None = None):
    """peft's LoraConfig; with `top_layers` set, adapters only in the last `top_layers` of the
    model's `num_layers` decoder layers (peft's layers_to_transform)."""
    from peft import LoraConfig, TaskType

    from bioeval.engine.frozen_layers import top_layer_indices

    layers = None
    if spec.top_layers.value is not None:
        if num_layers is None:
            raise ValueError("lora.top_layers needs the model's number of decoder layers")
        layers = top_layer_indices(num_layers, spec.top_layers.value)
    return LoraConfig(r=spec.r.value, lora_alpha=spec.alpha.value, lora_dropout=spec.dropout.value,
                      bias=spec.bias.value, target_modules=target_modules(spec, model_type),
                      layers_to_transform=layers, task_type=TaskType.CAUSAL_LM)


def apply_lora(model, spec: LoraSpec, *, quantized: bool = False, gradient_checkpointing: bool = False):
    """Wrap ``model`` with fresh LoRA adapters; the base stays frozen (peft freezes it).

    A 4-bit base goes through peft's prepare_model_for_kbit_training (as QLoRA recipes do);
    gradient checkpointing needs the inputs to require grads when the base is frozen.
    """
    import warnings

    from peft import get_peft_model, prepare_model_for_kbit_training

    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    elif gradient_checkpointing:
        # transformers 5 renamed it; 4.x only has the old name
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        enable()
        model.enable_input_require_grads()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        return get_peft_model(model, lora_config(spec, model.config.model_type, model.config.num_hidden_layers))


def trainable_summary(model) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    names = sorted({n.split(".")[-2] for n, p in model.named_parameters() if p.requires_grad})
    return {"trainable_parameters": trainable, "total_parameters": total, "trainable_kinds": names}
