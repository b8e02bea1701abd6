"""GPU check: the engine's LoRA training and generation on a random-initialised ~1B Llama.

No download: the model is built from a config (weights random, which changes nothing about
speed).  It runs the engine's own pieces (apply_lora, make_optimizer, collate, the training
step of engine/train.py, engine/generate.py) and prints tokens/s and MFU against the device's
bf16 peak, for each variant the machine supports:

    bf16             LoRA on a bf16 base, AdamW (fp32 on CPU)
    nf4+paged8bit    the paper's path: 4-bit nf4 base (QLoRA), paged 8-bit AdamW, fp16 autocast with a
                     grad scaler (bitsandbytes; on CPU too, through its CPU backend)

One command on a GPU host, under 8 minutes (default sizes):
    python bench/gpu_check.py            # ~1.1B params, 20 training steps, 64 generated tokens
In CI, on CPU, with a tiny config (tests/engine/test_gpu_check.py):
    python bench/gpu_check.py --tiny --json

MFU = achieved FLOP/s / peak FLOP/s.  Training FLOPs per token = 4 x N (forward 2N + backward
through the frozen base 2N; LoRA's own weights add <1%), generation 2 x N per new token (decode
is memory-bound, so its MFU is low by nature).  N = base parameters.  The peak is looked up from
the device name (dense bf16 tensor-core TFLOP/s) or given with --peak-tflops.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# dense bf16 tensor-core peak (TFLOP/s) by a substring of torch.cuda.get_device_name()
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "GH200": 989.0, "A100": 312.0, "L40S": 362.0, "L40": 181.0,
                    "A10G": 70.0, "A10": 125.0, "L4": 121.0, "RTX 4090": 165.0, "A6000": 155.0, "V100": 125.0}

SIZES = {
    # ~1.1B parameters: TinyLlama-1.1B's shape
    "1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
               num_key_value_heads=4, vocab_size=32000),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=512),
}


def peak_tflops(device_name: str | None, given: float | None) -> float | None:
    if given:
        return given
    if not device_name:
        return None
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device_name), None)


def protocol(optimizer: str, quantization: str, precision: str, steps: int, batch: int, seq: int):
    """A Protocol with the Zhan et al. LoRA settings (r 64, alpha 32, dropout 0.1, q/v)."""
    from bioeval.manifest.schema import Protocol

    return Protocol.model_validate({
        "mode": "finetune", "seed": 0,
        "prompt": {"train_template": "{instruction}{inputsentence}{response}", "inference_template": "{inputsentence}",
                   "max_prompt_tokens": seq},
        "lora": {"r": 64, "alpha": 32, "dropout": 0.1, "target_modules": "peft-default"},
        "training": {"optimizer": optimizer, "learning_rate": 2e-5, "max_steps": steps, "per_device_batch_size": batch,
                     "max_seq_length": seq, "precision": precision, "quantization": quantization},
        "evaluation": {"eval_every": steps},
        "decoding": {"max_new_tokens": {"EE": 8, "RE": 8, "NER": 8, "TC": 8}, "mode": "greedy"},
        "scoring": {"scorer": "zhan2024-set-f1"},
    })


def build_model(size: str, dtype, quantization: str, device):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from bioeval.engine.models import quantization_config

    config = LlamaConfig(**SIZES[size], max_position_embeddings=4096, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(dtype)
    n_params = sum(p.numel() for p in model.parameters())
    if quantization == "nf4":  # quantise through a saved folder, the way the engine loads a real model
        import tempfile
        folder = Path(tempfile.mkdtemp(prefix="gpu_check_"))
        model.save_pretrained(folder)
        from bioeval.engine.models import one_4bit_path
        model = LlamaForCausalLM.from_pretrained(folder, quantization_config=quantization_config("nf4"),
                                                 device_map={"": 0 if device.type == "cuda" else "cpu"}, dtype=dtype)
        one_4bit_path(model)
    else:
        model.to(device)
    return model, n_params


def run_variant(name: str, size: str, optimizer: str, quantization: str, steps: int, batch: int, seq: int,
                gen_batch: int, new_tokens: int, device, peak: float | None, precision: str | None = None) -> dict:
    import torch

    from bioeval.engine.generate import generate
    from bioeval.engine.lora import apply_lora
    from bioeval.engine.prompts import EncodedPrompt
    from bioeval.engine.train import Example, collate, make_optimizer, make_scaler, make_scheduler, _autocast

    precision = precision or ("bf16" if device.type == "cuda" else "fp32")
    dtype = torch.bfloat16 if precision == "bf16" and device.type == "cuda" else torch.float32
    p = protocol(optimizer, quantization, precision, steps, batch, seq)
    model, n_params = build_model(size, dtype, quantization, device)
    model = apply_lora(model, p.lora, quantized=quantization == "nf4")
    opt, sched = make_optimizer(model, p), None
    sched = make_scheduler(opt, p)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    examples = [Example(ids, list(ids)) for ids in torch.randint(3, vocab, (steps * batch, seq), generator=g).tolist()]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    model.train()
    autocast = _autocast(precision, device)
    scaler = make_scaler(p, device)  # enabled for fp16 only, as in engine/train.py
    times = []
    for step in range(steps):
        batch_data = collate(examples[step * batch:(step + 1) * batch], 0, device)
        sync()
        t0 = time.perf_counter()
        with autocast:
            loss = model(**batch_data).loss
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_([q for q in model.parameters() if q.requires_grad], 0.3)
        scaler.step(opt)
        scaler.update()
        sched.step()
        opt.zero_grad(set_to_none=True)
        sync()
        times.append(time.perf_counter() - t0)
    measured = times[1:] or times  # the first step pays for kernel selection and allocation
    train_tps = batch * seq * len(measured) / sum(measured)

    prompts = [EncodedPrompt(ids, False, "") for ids in torch.randint(3, vocab, (gen_batch, seq // 2), generator=g).tolist()]
    spec = p.decoding.model_copy(update={"eval_batch_size": p.decoding.eval_batch_size.model_copy(update={"value": gen_batch}),
                                         "stop_at_newline": p.decoding.stop_at_newline.model_copy(update={"value": False})})

    class Tok:  # generate() needs only pad/eos ids and decode
        pad_token_id = 0
        eos_token_id = None

        @staticmethod
        def decode(ids, skip_special_tokens=True):
            return " ".join(map(str, ids))

    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    sync()
    t0 = time.perf_counter()
    outs = generate(model, Tok, prompts, spec, new_tokens)
    sync()
    gen_s = time.perf_counter() - t0
    gen_tokens = sum(o.new_tokens for o in outs)
    gen_tps = gen_tokens / gen_s
    row = {"variant": name, "params": n_params, "precision": precision, "quantization": quantization,
           "optimizer": optimizer, "train_tokens_per_s": round(train_tps, 1), "train_step_s": round(sum(measured) / len(measured), 3),
           "gen_tokens_per_s": round(gen_tps, 1), "gen_batch": gen_batch, "gen_new_tokens": new_tokens,
           "train_mfu": None, "gen_mfu": None}
    if peak:
        row["train_mfu"] = round(4 * n_params * train_tps / (peak * 1e12), 4)
        row["gen_mfu"] = round(2 * n_params * gen_tps / (peak * 1e12), 4)
    if device.type == "cuda":
        row["max_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        torch.cuda.reset_peak_memory_stats()
    del model, opt
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="a tiny config (CI on CPU)")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default 20, tiny 3)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=None, help="training sequence length (default 512, tiny 32)")
    ap.add_argument("--gen-batch", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=None, help="generated tokens (default 64, tiny 8)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's bf16 peak, if not in the table")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args(argv)

    import torch

    from bioeval.engine.models import quiet_libraries

    quiet_libraries()
    size = "tiny" if args.tiny else "1b"
    steps = args.steps or (3 if args.tiny else 20)
    seq = args.seq or (32 if args.tiny else 512)
    new_tokens = args.new_tokens or (8 if args.tiny else 64)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":  # as the engine: one thread unless BIOEVAL_CPU_THREADS says otherwise
        from bioeval.engine.cell import cpu_threads
        torch.set_num_threads(cpu_threads())
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else None
    peak = peak_tflops(name, args.peak_tflops)
    variants = [("bf16" if device.type == "cuda" else "fp32-cpu", "adamw_torch", "none", None)]
    skipped = []
    try:
        import bitsandbytes  # noqa: F401
        has_bnb = True
    except ImportError:
        has_bnb = False
    if has_bnb:  # the paper's path, on CUDA or through bitsandbytes' CPU backend
        variants.append(("nf4+paged8bit+fp16", "paged_adamw_8bit", "nf4", "fp16"))
    else:
        skipped.append("nf4+paged8bit+fp16: bitsandbytes not installed")
    t0 = time.perf_counter()
    rows = [run_variant(v, size, opt, q, steps, args.batch, seq, args.gen_batch, new_tokens, device, peak, prec)
            for v, opt, q, prec in variants]
    result = {"device": name or "cpu", "peak_bf16_tflops": peak, "size": size, "steps": steps, "batch": args.batch,
              "seq": seq, "variants": rows, "skipped": skipped, "wall_s": round(time.perf_counter() - t0, 1),
              "torch": torch.__version__}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"device {result['device']}, bf16 peak {peak or 'unknown'} TFLOP/s, {size} model, "
          f"{steps} steps of {args.batch} x {seq} tokens")
    print(f"{'variant':16} {'params':>14} {'train tok/s':>12} {'train MFU':>10} {'gen tok/s':>10} {'gen MFU':>8}")
    for r in rows:
        mfu = lambda x: "-" if x is None else f"{100 * x:.1f}%"  # noqa: E731
        print(f"{r['variant']:16} {r['params']:>14,} {r['train_tokens_per_s']:>12,.0f} {mfu(r['train_mfu']):>10} "
              f"{r['gen_tokens_per_s']:>10,.0f} {mfu(r['gen_mfu']):>8}")
    for s in skipped:
        print(f"skipped {s}")
    print(f"wall {result['wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
