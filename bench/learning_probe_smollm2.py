"""Does SmolLM2 learn a single-label dataset of manifests/smollm2_bionlp.yaml, and how fast?

Trains the manifest's LoRA adapter with the kit's own pieces (tokenize_train, batch_indices,
optimizer, scheduler, the shared-prefix loss) on the dataset's training file, and every
`--every` steps scores the first answer token on held-out training-distribution texts (the
training template without the answer; argmax over each label's first token), beside the
majority label's share.  Cheaper than a cell run (no generation), so learning curves of several
settings fit in a CPU session; the numbers it printed for issue 26 are in docs/performance.md.

Run:  PYTHONPATH=. python bench/learning_probe_smollm2.py --dataset ade --lr 1e-2 --steps 60 --batch 16
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MANIFEST = REPO / "manifests" / "smollm2_bionlp.yaml"
ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def with_value(spec, **values):
    """A pydantic spec with some provenance leaves' values replaced."""
    return spec.model_copy(update={k: getattr(spec, k).model_copy(update={"value": v}) for k, v in values.items()})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-mirror", type=Path, default=REPO.parent / "shared" / "data" / "zhan2024")
    ap.add_argument("--dataset", default="ade", help="a dataset key of the manifest with one label per answer")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--held-out", type=int, default=96)
    ap.add_argument("--targets", choices=["manifest", "all-linear"], default="manifest")
    ap.add_argument("--top-layers", type=int, default=0,
                    help="LoRA only in the last N decoder layers (0: every layer); the frozen layers below run "
                         "once per text (engine/frozen_layers.py)")
    ap.add_argument("--pool", type=int, default=0, help="train on the first N training texts only (0: all)")
    args = ap.parse_args(argv)

    import torch

    from bioeval.engine.lora import apply_lora
    from bioeval.engine.models import load as load_model
    from bioeval.engine.prompts import train_text
    from bioeval.engine.splits import load_pinned_split
    from bioeval.engine.train import _loss_of_batch, batch_indices, make_optimizer, make_scheduler, tokenize_train
    from bioeval.manifest import load_manifest
    from bioeval.settings import Settings

    torch.set_num_threads(1)
    torch.manual_seed(42)
    loaded = load_manifest(MANIFEST)
    protocol = loaded.manifest.protocol
    lora = with_value(protocol.lora, top_layers=args.top_layers or None)
    protocol = protocol.model_copy(update={
        "training": with_value(protocol.training, learning_rate=args.lr, max_steps=args.steps, shared_prefix=True),
        "lora": with_value(lora, target_modules=ALL_LINEAR) if args.targets == "all-linear" else lora})
    settings = Settings(data_mirror=args.data_mirror)
    data, _ = load_pinned_split(loaded, loaded.manifest.dataset_by_key(args.dataset), "train", settings)
    data = list(data)
    random.Random(0).shuffle(data)
    held, train = data[:args.held_out], data[args.held_out:]
    if args.pool:
        train = train[:args.pool]

    lm = load_model(loaded.manifest.models[0], protocol, loaded.base_dir, settings.cache_dir)
    model = apply_lora(lm.model, protocol.lora)  # with --top-layers: adapters only there (lora.top_layers)
    tok = lm.tokenizer
    examples = tokenize_train(train, tok, protocol)
    labels = sorted({i.response for i in data})
    first = {label: tok(label)["input_ids"][0] for label in labels}
    if len(set(first.values())) < len(labels):
        print("some labels share their first token: this probe needs one label per answer and distinct first tokens")
    prompts = [tok(train_text(protocol.prompt, i)[0], return_tensors="pt")["input_ids"] for i in held]
    majority = collections.Counter(i.response for i in held).most_common(1)[0]

    def accuracy():
        model.eval()
        picks = collections.Counter()
        right = 0
        with torch.no_grad():
            for ids, inst in zip(prompts, held):
                logits = model(ids).logits[0, -1]
                pick = max(labels, key=lambda label: logits[first[label]].item())
                picks[pick] += 1
                right += pick == inst.response
        model.train()
        return right / len(held), picks.most_common(3)

    print(f"{args.dataset}: {len(train)} training texts, {len(held)} held out, majority "
          f"{majority[0]!r} {majority[1] / len(held):.3f}; lr {args.lr}, batch {args.batch}, targets {args.targets}"
          f"{f', top {args.top_layers} layers' if args.top_layers else ''}")
    optimizer = make_optimizer(model, protocol)
    scheduler = make_scheduler(optimizer, protocol)
    clip = protocol.training.max_grad_norm.value
    trainable = [p for p in model.parameters() if p.requires_grad]
    loss_of = _loss_of_batch(model, examples, protocol, tok.pad_token_id, torch.device("cpu"))  # the engine's
    model.train()
    start, losses = time.time(), []
    for step in range(args.steps):
        idx = batch_indices(len(examples), step, args.batch, protocol.training.shuffle_seed.value)
        loss = loss_of(idx)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        if (step + 1) % args.every == 0:
            acc, picks = accuracy()
            print(f"step {step + 1:4d}  loss {sum(losses[-args.every:]) / args.every:.3f}  held-out accuracy "
                  f"{acc:.3f}  picks {picks}  {time.time() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
