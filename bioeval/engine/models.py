"""Load a model and its tokenizer as the protocol says: path or pinned snapshot, dtype, 4-bit, attention, pad."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from bioeval.engine.prompts import sha256_text
from bioeval.errors import EnvironmentProblem, ModelError
from bioeval.manifest.schema import Model, Protocol

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
    from bioeval.engine.model_fetch import fetch_model, local_folder, model_kind

    if model_kind(model) == "local":
        path = local_folder(model, base_dir)
        if not (path / "config.json").is_file():
            raise ModelError(f"model {model.key}: local revision {model.revision} resolves to {path}, "
                             "which holds no config.json.",
                             "Check the path (it is relative to the manifest file) or rebuild the model.")
        return path
    return fetch_model(model, cache_dir=cache_dir, base_dir=base_dir)  # a GGUF is converted, a Hub snapshot fetched


def attention_for(architecture: str) -> str:
    return "eager" if architecture in EAGER_ARCHITECTURES else "sdpa"


def quantization_config(kind: str):
    """The authors' QLoRA setup (PROTOCOL.md 1.1): nf4, double quantization, bf16 compute.  bitsandbytes
    (>= 0.49) runs it on CPU too, so the paper's path is tested here before it meets a GPU."""
    if kind == "none":
        return None
    require_bitsandbytes("4-bit nf4 quantization (training.quantization: nf4)")
    from transformers import BitsAndBytesConfig
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def require_bitsandbytes(what: str) -> None:
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise EnvironmentProblem(f"{what} needs the bitsandbytes package, which is not installed.",
                                 "Install bioeval's locked environment (make install), or pip install "
                                 "bitsandbytes==0.50.2.") from None


def bitsandbytes_record() -> dict | None:
    """Which bitsandbytes ran and on which backend (its native library: CPU, CUDA x.y or ROCm)."""
    import sys
    bnb = sys.modules.get("bitsandbytes")
    if bnb is None:
        return None
    lib = getattr(getattr(bnb, "cextension", None), "lib", None)
    path = getattr(getattr(lib, "_lib", None), "_name", None)
    return {"version": bnb.__version__, "library": Path(path).name if path else None,
            "backend": "cuda" if torch.cuda.is_available() else "cpu"}


def one_4bit_path(model) -> None:
    """bitsandbytes repacks 4-bit weights for its AVX512-BF16 CPU kernel the first time a layer runs in
    eval mode, and keeps them so: training after an evaluation then goes through a kernel without a
    backward (no gradients reach the adapters; measured with bitsandbytes 0.50.2).  One dequantising
    path on every CPU keeps training correct after each evaluation and the same on AVX2 and AVX-512."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def quantized_layers(model) -> dict:
    """How many linear layers are stored 4-bit, and of which class (so a receipt shows what really ran)."""
    kinds: dict[str, int] = {}
    for module in model.modules():
        name = type(module).__module__ + "." + type(module).__qualname__
        if "bitsandbytes" in name:
            kinds[name] = kinds.get(name, 0) + 1
    return kinds


def quiet_libraries() -> None:
    """Our progress bars and logs only: no per-shard bars, no deprecation chatter from the libraries."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # bitsandbytes on CPU logs that an optional kernel package is missing and falls back (it works)
    import logging
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    # on CPU bitsandbytes keeps a paged optimizer's state in plain memory; the receipt records it
    warnings.filterwarnings("ignore", message="Paged optimizers are not supported on CPU")


def load(model: Model, protocol: Protocol, base_dir: Path, cache_dir: Path | None = None) -> LoadedModel:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_libraries()

    path = model_path(model, base_dir, cache_dir)
    training = protocol.training
    precision = training.precision.value if training else "bf16"
    quant = training.quantization.value if training else "none"
    dev = device()
    # CPU keeps fp32 master weights and computes fp16/bf16 under autocast (engine/train.py)
    dtype = torch.float32 if dev.type == "cpu" else DTYPES[precision]
    attention = attention_for(model.architecture)
    kwargs = {"dtype": dtype, "attn_implementation": attention}
    qconfig = quantization_config(quant)
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
        kwargs["device_map"] = {"": 0 if dev.type == "cuda" else "cpu"}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        lm = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise ModelError(f"model {model.key}: cannot load from {path}: {exc}",
                         "Run `bioeval fetch MANIFEST` again; the snapshot may be incomplete.") from None
    if qconfig is None:
        lm.to(dev)
    else:
        one_4bit_path(lm)
    # the authors set pad = eos (PROTOCOL.md 1.1)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    template = getattr(tokenizer, "chat_template", None) if protocol.prompt.chat_template.value else None
    info = {
        "path": str(path), "dtype": str(dtype).removeprefix("torch."), "attention": attention,
        "quantization": quant, "device": str(dev), "architecture": type(lm).__name__,
        "quantization_detail": _quantization_detail(qconfig, lm),
        "parameters": sum(p.numel() for p in lm.parameters()),
        "pad_token": tokenizer.pad_token, "eos_token": tokenizer.eos_token,
        "chat_template_sha256": sha256_text(template) if isinstance(template, str) else None,
    }
    if model.gguf is not None:
        from bioeval.engine.gguf import conversion_record
        info["gguf"] = conversion_record(path)
    return LoadedModel(lm, tokenizer, path, info)


def _quantization_detail(qconfig, lm) -> dict | None:
    if qconfig is None:
        return None
    return {"quant_type": qconfig.bnb_4bit_quant_type, "double_quant": qconfig.bnb_4bit_use_double_quant,
            "compute_dtype": str(qconfig.bnb_4bit_compute_dtype).removeprefix("torch."),
            "layers": quantized_layers(lm), "bitsandbytes": bitsandbytes_record()}
