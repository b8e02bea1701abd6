"""Make the smoke model: a tiny random-initialised LlamaForCausalLM and a tokenizer trained on the smoke data.

Seeded and deterministic on one machine (torch's CPU random generator); the weights are
random, so everything the smoke runs show was learnt by the LoRA adapter.  Run after
make_smoke_data.py:

    python assets/make_tiny_model.py            # writes assets/tiny-llama/
    python assets/make_tiny_model.py --seed 7 --out /tmp/tiny-llama-7   # another tiny model (regression tests)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

HERE = Path(__file__).resolve().parent
OUT = HERE / "tiny-llama"
DATA = HERE / "smoke-data"
SEED = 1234
VOCAB = 600
INIT_STD = 0.125  # 1/sqrt(hidden size): random blocks pass signal on (the 0.02 default makes them near-identity)
FINAL_NORM_GAIN = 3.0
SPECIAL = ["<unk>", "<s>", "</s>"]
# the smoke manifest's templates (manifests/smoke.yaml); the tokenizer sees them so they tokenize compactly
TEMPLATE = "### Instruction:\n{instruction}\n\n### Input: \n{inputsentence}\n\n### Response: \n{response}"


def corpus() -> list[str]:
    texts = []
    for path in sorted(DATA.glob("*_train.json")):
        texts += [TEMPLATE.format(**row) for row in json.loads(path.read_text(encoding="utf-8"))]
    return texts


def make_tokenizer() -> PreTrainedTokenizerFast:
    # byte-level BPE: decode(encode(text)) == text, so "[2, 3, 0]" comes back exactly as the scorer needs
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIAL, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                   model_max_length=1024, padding_side="left")


def make_model(vocab_size: int, tokenizer, seed: int = SEED) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=1024,
                         tie_word_embeddings=True, initializer_range=INIT_STD, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=None)
    model = LlamaForCausalLM(config)
    # a final-norm gain above the default 1: with the (tied, frozen) embeddings at std 0.125, logits
    # would stay within about +-8 whatever the LoRA layers do, too flat to learn sharp answers
    with torch.no_grad():
        model.model.norm.weight.fill_(FINAL_NORM_GAIN)
    model.generation_config = GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                               eos_token_id=tokenizer.eos_token_id, do_sample=False)
    return model


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help="weight initialisation seed (the shipped model: 1234)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    args = parser.parse_args(argv)
    tokenizer = make_tokenizer()
    model = make_model(len(tokenizer), tokenizer, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(args.out)
    model.save_pretrained(args.out)
    n = sum(p.numel() for p in model.parameters())
    print(f"{args.out}: {n:,} parameters, vocabulary {len(tokenizer)}")


if __name__ == "__main__":
    main()
