"""Is a dataset's label in SmolLM2's frozen features at all?  A linear probe, no fine-tuning.

For texts of a single-label dataset of manifests/smollm2_bionlp.yaml (the training template
without its answer, as `learning_probe_smollm2.py` uses), the untouched model's last hidden
state at the answer position and its mean over the text after the shared template become a
feature vector; a multinomial logistic regression (L-BFGS to convergence, standardised
features) fitted on the first `--train` texts is scored on the next `--held-out`.  Where this
probe stays at the majority answer, a short LoRA run has little to find in the model; where it
clears it, the information is there and the question is how fast training reaches it (issue 26;
the numbers are in docs/performance.md).

Run:  PYTHONPATH=. python bench/feature_probe_smollm2.py --dataset git --train 400 --held-out 200
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MANIFEST = REPO / "manifests" / "smollm2_bionlp.yaml"


def shared_length(token_lists: list[list[int]]) -> int:
    """Tokens every prompt starts with, less one (each prompt keeps at least one token of its own)."""
    k = 0
    while all(len(p) > k + 1 and p[k] == token_lists[0][k] for p in token_lists):
        k += 1
    return k


def features(model, prompts: list[list[int]]):
    """[last hidden state at the answer position, mean over the text's own tokens] per prompt; the
    shared template runs once into a KV cache that each prompt continues from."""
    import torch
    from transformers import DynamicCache

    k = shared_length(prompts)
    out = []
    with torch.no_grad():
        cache = DynamicCache(config=model.config)
        model.model(input_ids=torch.tensor([prompts[0][:k]]), past_key_values=cache, use_cache=True)
        for ids in prompts:
            hidden = model.model(input_ids=torch.tensor([ids[k:]]), past_key_values=copy.deepcopy(cache),
                                 use_cache=True).last_hidden_state[0]
            out.append(torch.cat([hidden[-1], hidden.mean(0)]))
    return torch.stack(out).double()


def fit_and_score(x, y, n_train: int, n_classes: int, l2: float) -> float:
    """Held-out accuracy of an L2-regularised multinomial logistic regression."""
    import torch

    weights = torch.zeros(x.shape[1], n_classes, dtype=torch.double, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.double, requires_grad=True)
    optimizer = torch.optim.LBFGS([weights, bias], max_iter=500)

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x[:n_train] @ weights + bias, y[:n_train]) + l2 * (weights ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return ((x[n_train:] @ weights + bias).argmax(1) == y[n_train:]).double().mean().item()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-mirror", type=Path, default=REPO.parent / "shared" / "data" / "zhan2024")
    ap.add_argument("--dataset", default="ade", help="a dataset key of the manifest with one label per answer")
    ap.add_argument("--train", type=int, default=400)
    ap.add_argument("--held-out", type=int, default=200)
    args = ap.parse_args(argv)

    import torch

    from bioeval.engine.models import load as load_model
    from bioeval.engine.prompts import train_text
    from bioeval.engine.splits import load_pinned_split
    from bioeval.manifest import load_manifest
    from bioeval.settings import Settings

    torch.set_num_threads(1)
    loaded = load_manifest(MANIFEST)
    protocol = loaded.manifest.protocol
    settings = Settings(data_mirror=args.data_mirror)
    data, _ = load_pinned_split(loaded, loaded.manifest.dataset_by_key(args.dataset), "train", settings)
    data = list(data)
    random.Random(0).shuffle(data)  # the learning probe's order: its held-out texts come first there
    data = data[:args.train + args.held_out]
    lm = load_model(loaded.manifest.models[0], protocol, loaded.base_dir, settings.cache_dir)
    model, tok = lm.model.eval(), lm.tokenizer
    start = time.time()
    x = features(model, [tok(train_text(protocol.prompt, i)[0])["input_ids"] for i in data])
    labels = sorted({i.response for i in data})
    y = torch.tensor([labels.index(i.response) for i in data])
    mean, std = x[:args.train].mean(0), x[:args.train].std(0) + 1e-6
    x = (x - mean) / std
    majority = max((y[args.train:] == c).double().mean().item() for c in range(len(labels)))
    print(f"{args.dataset}: {len(labels)} labels, features {tuple(x.shape)} in {time.time() - start:.0f} s; "
          f"held-out majority {majority:.3f} (n {args.held_out})")
    for l2 in (1e-3, 1e-2, 1e-1, 1.0):
        print(f"  l2 {l2:g}: held-out accuracy {fit_and_score(x, y, args.train, len(labels), l2):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
