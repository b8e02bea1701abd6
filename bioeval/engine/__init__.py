"""Stage 3 of the data's path: run one cell (model x dataset) as the manifest's protocol says.

Modules that import torch/transformers/peft (models, lora, train, generate, zeroshot, cell)
are imported only when a cell really runs: `bioeval run` on finished cells never pays for
them.  The light ones (prompts, receipt, splits, check) stay torch-free.
"""
