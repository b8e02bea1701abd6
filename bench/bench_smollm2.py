"""CPU figures of the real model (SmolLM2-135M-Instruct from its pinned GGUF) on the lab's real prompts.

    load      GGUF -> fp32 conversion (--gguf: into a fresh cache, 50-120 s) and the cached folder
    train     the engine's LoRA step (manifest protocol: r 64 on q/v, fp32, AdamW) on real GIT
              training texts: tokens/s and s/step
    generate  real GIT test prompts, one at a time (the paper's per-sentence mode) vs one batch
              of 8 (the manifest's CPU setting): s/instance and new tokens/s

Run:  PYTHONPATH=. python bench/bench_smollm2.py --data-mirror ../shared/data/zhan2024 [--gguf]
Figures go into docs/performance.md with the machine and its load at the time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MANIFEST = REPO / "manifests" / "smollm2_bionlp.yaml"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-mirror", type=Path, default=REPO.parent / "shared" / "data" / "zhan2024")
    ap.add_argument("--gguf", action="store_true", help="also time the GGUF conversion into a fresh cache")
    ap.add_argument("--steps", type=int, default=3, help="training steps timed (after one warm-up step)")
    ap.add_argument("--n", type=int, default=8, help="test prompts generated")
    ap.add_argument("--dataset", default="git")
    args = ap.parse_args(argv)

    import torch

    from bioeval.engine import generate as gen
    from bioeval.engine.cell import cpu_threads
    from bioeval.engine.gguf import locate, materialise
    from bioeval.engine.lora import apply_lora
    from bioeval.engine.models import load
    from bioeval.engine.prompts import encode_prompt, inference_prompt
    from bioeval.engine.splits import load_pinned_split
    from bioeval.engine.train import collate, make_optimizer, tokenize_train
    from bioeval.manifest import cells, load_manifest
    from bioeval.settings import Settings

    torch.set_num_threads(cpu_threads())
    loaded = load_manifest(MANIFEST)
    cell = cells(loaded, f"model=smollm2-135m-instruct,dataset={args.dataset}")[0]
    p = cell.protocol
    settings = Settings(data_mirror=args.data_mirror)
    out: dict = {"threads": torch.get_num_threads(), "cpu_count": os.cpu_count(), "load_avg_start": os.getloadavg()[0]}

    if args.gguf:
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            path, origin = locate(cell.model.gguf, loaded.base_dir, Path(cache))
            materialise(path, cell.model.gguf.sha256, Path(cache), origin)
            out["gguf_convert_s"] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    lm = load(cell.model, p, loaded.base_dir, settings.cache_dir)
    out["cached_load_s"] = round(time.perf_counter() - t0, 2)
    model, tok = lm.model, lm.tokenizer

    # generation first, on the base model (zero LoRA state to carry)
    test, _ = load_pinned_split(loaded, cell.dataset, "test", settings)
    encoded = [encode_prompt(inference_prompt(p.prompt, i, tok), tok, p.prompt.max_prompt_tokens.value)
               for i in test[:args.n]]
    max_new = p.decoding.max_new_tokens.value[cell.dataset.task]
    out["prompt_tokens_mean"] = round(sum(len(e.ids) for e in encoded) / len(encoded), 1)
    for label, per_sentence in (("per_sentence", True), ("batched", False)):
        spec = p.decoding.model_copy(update={
            "per_sentence": p.decoding.per_sentence.model_copy(update={"value": per_sentence}),
            "eval_batch_size": p.decoding.eval_batch_size.model_copy(update={"value": args.n})})
        t0 = time.perf_counter()
        outs = gen.generate(model, tok, encoded, spec, max_new)
        s = time.perf_counter() - t0
        new = sum(o.new_tokens for o in outs)
        out[f"gen_{label}"] = {"s_per_instance": round(s / len(encoded), 2), "new_tokens_per_s": round(new / s, 1),
                               "prompt_and_new_tokens_per_s": round((new + sum(len(e.ids) for e in encoded)) / s, 1),
                               "batch": 1 if per_sentence else args.n}

    model = apply_lora(model, p.lora)
    train, _ = load_pinned_split(loaded, cell.dataset, "train", settings)
    bs = p.training.per_device_batch_size.value
    examples = tokenize_train(train[:bs * (args.steps + 1)], tok, p)
    opt = make_optimizer(model, p)
    model.train()
    times, tokens = [], 0
    for step in range(args.steps + 1):
        batch = collate(examples[step * bs:(step + 1) * bs], tok.pad_token_id, torch.device("cpu"))
        t0 = time.perf_counter()
        model(**batch).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step:  # the first step pays for allocation
            times.append(time.perf_counter() - t0)
            tokens += int(batch["attention_mask"].sum())
    out["train"] = {"batch": bs, "tokens_per_step_mean": round(tokens / args.steps, 1),
                    "s_per_step": round(sum(times) / len(times), 2), "tokens_per_s": round(tokens / sum(times), 1)}
    out["load_avg_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
