"""Load a model and its tokenizer as the protocol says: path or pinned snapshot, dtype, 4-bit, attention, pad."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from bioeval.engine.prompts import sha256_text
from bioeval.errors import EnvironmentProblem, ModelError
from bioeval.manifest.schema import Model, Protocol, is_local_path

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Gemma-2 trains with eager attention (its soft-capping is not in sdpa); everything else uses sdpa
EAGER_ARCHITECTURES = {"Gemma2ForCausalLM"}


@dataclass
class LoadedModel:
    model: object
    tokenizer: object
    path: Path
    info: dict = field(default_factory=dict)  # what the receipt records


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_path(model: Model, base_dir: Path, cache_dir: Path | None = None) -> Path:
    """A local model is a folder relative to the manifest; a Hub model the pinned snapshot (fetched if needed);
    a GGUF model the folder it was converted into once (engine/gguf.py)."""
    if model.gguf is not None:
        from bioeval.engine.gguf import model_folder
        from bioeval.settings import default_cache_dir
        return model_folder(model, base_dir, Path(cache_dir) if cache_dir else default_cache_dir())
    if is_local_path(model.revision):
        path = (base_dir / model.revision).expanduser().resolve()
        if not (path / "config.json").is_file():
            raise ModelError(f"model {model.key}: local revision {model.revision} resolves to {path}, "
                             "which holds no config.json.",
                             "Check the path (it is relative to the manifest file) or rebuild the model.")
        return path
    from bioeval.engine.model_fetch import fetch_model
    return fetch_model(model, cache_dir=cache_dir)


def attention_for(architecture: str) -> str:
    return "eager" if architecture in EAGER_ARCHITECTURES else "sdpa"


def quantization_config(kind: str):
    if kind == "none":
        return None
    if not torch.cuda.is_available():
        raise EnvironmentProblem("4-bit nf4 quantization (training.quantization: nf4) needs a CUDA GPU; "
                                 "this machine has none.",
                                 "Run on a GPU machine, or set training.quantization: none for a CPU check.")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise EnvironmentProblem("4-bit nf4 quantization needs the bitsandbytes package, which is not installed.",
                                 "pip install 'bioeval[gpu]'.") from None
    from transformers import BitsAndBytesConfig
    # as the authors' QLoRA setup (PROTOCOL.md 1.1): nf4, double quantization, bf16 compute
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def quiet_libraries() -> None:
    """Our progress bars and logs only: no per-shard bars, no deprecation chatter from the libraries."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def load(model: Model, protocol: Protocol, base_dir: Path, cache_dir: Path | None = None) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_libraries()

    path = model_path(model, base_dir, cache_dir)
    training = protocol.training
    precision = training.precision.value if training else "bf16"
    quant = training.quantization.value if training else "none"
    dev = device()
    if dev.type == "cpu" and precision == "fp16":
        raise EnvironmentProblem("training.precision fp16 needs a CUDA GPU; this machine has none.",
                                 "Use precision fp32 (or bf16) for a CPU run.")
    dtype = torch.float32 if dev.type == "cpu" else DTYPES[precision]
    attention = attention_for(model.architecture)
    kwargs = {"dtype": dtype, "attn_implementation": attention}
    qconfig = quantization_config(quant)
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
        kwargs["device_map"] = {"": 0}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        lm = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise ModelError(f"model {model.key}: cannot load from {path}: {exc}",
                         "Run `bioeval fetch MANIFEST` again; the snapshot may be incomplete.") from None
    if qconfig is None:
        lm.to(dev)
    # the authors set pad = eos (PROTOCOL.md 1.1)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    template = getattr(tokenizer, "chat_template", None) if protocol.prompt.chat_template.value else None
    info = {
        "path": str(path), "dtype": str(dtype).removeprefix("torch."), "attention": attention,
        "quantization": quant, "device": str(dev), "architecture": type(lm).__name__,
        "parameters": sum(p.numel() for p in lm.parameters()),
        "pad_token": tokenizer.pad_token, "eos_token": tokenizer.eos_token,
        "chat_template_sha256": sha256_text(template) if isinstance(template, str) else None,
    }
    if model.gguf is not None:
        from bioeval.engine.gguf import conversion_record
        info["gguf"] = conversion_record(path)
    return LoadedModel(lm, tokenizer, path, info)
