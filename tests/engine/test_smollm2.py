"""A real pretrained model (SmolLM2-135M-Instruct from its pinned GGUF) through the engine on the
lab's real PHEE data: the response marker's tokenisation, stopping at newline or EOS, truncation
at max_prompt_tokens with the real tokenizer (recorded, skipped by the scorer), the chat template
in zero-shot, byte-identical predictions on a rerun, and the same model served by a local Hub at
a pinned commit through snapshot_download.

The cells are scaled to seconds: 2 LoRA steps of 2 texts, 6 test instances, a prompt budget that
cuts about half of PHEE's prompts, under the lab's keep-start truncation.  The model is converted from its GGUF once per machine
(``smollm2_cache``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time

import pytest

from tests.conftest import MIRROR
from tests.engine.conftest import SMOLLM2_GGUF_SHA, SMOLLM2_MANIFEST

pytestmark = pytest.mark.slow

COMMIT = "5a1c0ffee0ddba11c0de5eed0123456789abcdef"
MAX_PROMPT = 112  # PHEE prompts are ~95-180 tokens: about half are cut
N_TEST = 6


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def scaled(text: str) -> str:
    """The smollm2 manifest cut to seconds (same prompts, model and data)."""
    def sub(old: str, new: str) -> str:
        nonlocal text
        assert old in text, old
        text = text.replace(old, new)
        return text

    sub("max_steps: {value: 40,", "max_steps: {value: 2,")
    sub("per_device_batch_size: {value: 4,", "per_device_batch_size: {value: 2,")
    sub("eval_every: {value: 20,", "eval_every: {value: 2,")
    sub("test_subsample: {value: 50,", f"test_subsample: {{value: {N_TEST},")
    sub("max_prompt_tokens:\n      value: 384\n", f"max_prompt_tokens:\n      value: {MAX_PROMPT}\n")
    # the lab's truncation (keep the start, skip a prompt that lost its marker), which these tests check
    sub("truncation:\n      value: cut-input\n", "truncation:\n      value: keep-start\n")
    sub("bootstrap_resamples: {value: 1000,", "bootstrap_resamples: {value: 50,")
    return text


@pytest.fixture(scope="module")
def setup(smollm2_cache, tmp_path_factory):
    if not MIRROR.is_dir():
        pytest.skip(f"the lab's data mirror {MIRROR} is not present")
    from bioeval.manifest import load_manifest

    root = tmp_path_factory.mktemp("smollm2")
    path = root / "smollm2.yaml"
    path.write_text(scaled(SMOLLM2_MANIFEST.read_text()))
    return load_manifest(path), smollm2_cache, root


@pytest.fixture(scope="module")
def tokenizer(smollm2_cache):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_cache / "models" / "gguf" / SMOLLM2_GGUF_SHA)


def run(setup, model_key: str, workdir_name: str):
    from bioeval.engine.cell import run_cell
    from bioeval.manifest import cells
    from bioeval.runs import RunDir
    from bioeval.settings import Settings

    loaded, cache, root = setup
    cell = cells(loaded, f"model={model_key},dataset=phee")[0]
    settings = Settings(workdir=root / workdir_name, data_mirror=MIRROR, cache_dir=cache)
    t0 = time.perf_counter()
    scores = run_cell(loaded, cell, settings, show_progress=False)
    return cell, RunDir(settings.workdir, cell.run_id), scores, time.perf_counter() - t0


@pytest.fixture(scope="module")
def finetuned(setup):
    return run(setup, "smollm2-135m-instruct", "runs-a")


@pytest.fixture(scope="module")
def zero_shot(setup):
    return run(setup, "smollm2-135m-instruct-zeroshot", "runs-a")


def rows(rd) -> list[dict]:
    return [json.loads(line) for line in rd.predictions.read_text().splitlines()]


def test_the_response_marker_tokenises_alike_in_training_and_inference(setup, tokenizer):
    """The lab's "### Response: \\n" ends an inference prompt as 'ĠĊ' but precedes the answer as
    'Ġ','Ċ' in training (why the manifest drops the space); the manifest's marker is the same on both sides."""
    from bioeval.engine.prompts import inference_prompt, train_text
    from bioeval.data.instances import Instance

    loaded = setup[0]
    spec = loaded.manifest.protocol.prompt
    inst = Instance(id="x", instruction="Find the events.", input="Aspirin caused bleeding.", response="Adverse_event")
    prompt_ids = tokenizer(inference_prompt(spec, inst))["input_ids"]
    _, full = train_text(spec, inst)
    full_ids = tokenizer(full)["input_ids"]
    answer_ids = tokenizer(inst.response)["input_ids"]
    marker_tail = tokenizer.convert_tokens_to_ids([":", "Ċ"])
    assert prompt_ids[-2:] == marker_tail
    assert full_ids[-len(answer_ids) - 2:-len(answer_ids)] == marker_tail and full_ids[-len(answer_ids):] == answer_ids
    lab = tokenizer.tokenize("### Response: \n"), tokenizer.tokenize("### Response: \nAdverse_event")
    assert lab[0][-1] == "ĠĊ" and lab[1][3:5] == ["Ġ", "Ċ"]  # the lab's marker: two tokenisations


def test_finetuned_cell_runs_end_to_end_within_three_minutes(finetuned):
    cell, rd, scores, seconds = finetuned
    assert seconds < 180, seconds
    receipt = json.loads(rd.receipt.read_text())
    assert receipt["model_pin"]["gguf"]["quantization"] == "Q4_1"
    assert receipt["model_pin"]["gguf"]["dequantized_dtype"] == "fp32"
    assert receipt["model_pin"]["gguf"]["gguf_sha256"] == SMOLLM2_GGUF_SHA
    assert receipt["trained"]["target_modules"] == ["q_proj", "v_proj"]
    assert receipt["selection"]["selected_step"] == 2
    assert set(scores["also"]) == {"label-accuracy"}


def test_truncation_is_recorded_with_the_real_tokenizer_and_skipped(setup, finetuned, tokenizer):
    from bioeval.engine.prompts import inference_prompt
    from bioeval.engine.splits import load_pinned_split
    from bioeval.settings import Settings

    loaded = setup[0]
    cell, rd, scores, _ = finetuned
    test, _ = load_pinned_split(loaded, cell.dataset, "test", Settings(data_mirror=MIRROR, cache_dir=setup[1]))
    by_id = {i.id: i for i in test}
    predicted = rows(rd)
    lengths = {r["id"]: len(tokenizer(inference_prompt(cell.protocol.prompt, by_id[r["id"]]))["input_ids"])
               for r in predicted}
    for r in predicted:
        assert r["prompt_truncated"] == (lengths[r["id"]] > MAX_PROMPT), (r["id"], lengths[r["id"]])
    cut = sum(r["prompt_truncated"] for r in predicted)
    assert 0 < cut < N_TEST, lengths
    assert scores["skipped"] == cut and scores["n"] == N_TEST - cut
    assert scores["also"]["label-accuracy"]["skipped"] == cut


def test_answers_stop_at_a_newline_or_eos(finetuned, zero_shot, tokenizer):
    for _, rd, _, _ in (finetuned, zero_shot):
        for r in rows(rd):
            text = r["completion"]
            assert "\n" not in text.rstrip("\n"), text  # nothing generated after the first newline
            if not text.endswith("\n"):  # stopped at EOS (dropped from the text) or at max_new_tokens
                assert len(tokenizer(text, add_special_tokens=False)["input_ids"]) <= 10


def test_zero_shot_uses_the_chat_template(setup, zero_shot, tokenizer):
    from bioeval.engine.prompts import fill
    from bioeval.engine.splits import load_pinned_split
    from bioeval.settings import Settings

    cell, rd, scores, _ = zero_shot
    assert not rd.checkpoints.exists()
    receipt = json.loads(rd.receipt.read_text())
    assert receipt["model_pin"]["chat_template_sha256"] == sha256(tokenizer.chat_template)
    test, _ = load_pinned_split(setup[0], cell.dataset, "test", Settings(data_mirror=MIRROR, cache_dir=setup[1]))
    by_id = {i.id: i for i in test}
    for r in rows(rd):
        user = fill(cell.protocol.prompt.inference_template.value, by_id[r["id"]])
        text = tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                             add_generation_prompt=True)
        assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>assistant\n")
        assert r["prompt_sha256"] == sha256(text)


def test_a_rerun_gives_byte_identical_predictions(setup, finetuned):
    _, rd, _, _ = finetuned
    _, rd2, _, _ = run(setup, "smollm2-135m-instruct", "runs-b")
    assert rd2.predictions.read_bytes() == rd.predictions.read_bytes()


def test_the_hub_served_model_through_snapshot_download(setup, zero_shot, tmp_path):
    """The converted folder served by a local Hub at a pinned commit: the real fetch code
    (snapshot_download) downloads it and the zero-shot cell gives the same predictions."""
    from tests.conftest import run_cli
    from tests.engine.test_model_fetch import GatedHub

    loaded, cache, root = setup
    folder = cache / "models" / "gguf" / SMOLLM2_GGUF_SHA
    files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "bioeval-gguf.json"}
    hub = GatedHub().start()
    hub.add_repo("model", "HuggingFaceTB/SmolLM2-135M-Instruct", {"main": COMMIT}, files)
    try:
        text = loaded.path.read_text()
        zs = text.index("  - key: smollm2-135m-instruct-zeroshot")
        head, tail = text[:zs], text[zs:]
        tail = tail.replace("    gguf: *smollm2\n",
                            f"    repo: HuggingFaceTB/SmolLM2-135M-Instruct\n    revision: \"{COMMIT}\"\n", 1)
        path = tmp_path / "hub.yaml"
        path.write_text(head + tail)
        env = {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1",
               "BIOEVAL_CACHE": str(tmp_path / "cache"), "HF_HOME": str(tmp_path / "hf")}
        res = run_cli("--workdir", str(tmp_path / "runs"), "--data-mirror", str(MIRROR), "run", str(path),
                      "--only", "model=smollm2-135m-instruct-zeroshot,dataset=phee", "--no-progress", env=env,
                      timeout=600)
        assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    finally:
        hub.stop()
    assert hub.count("/model.safetensors", "GET") == 1
    run_dir = next(p for p in (tmp_path / "runs").iterdir() if (p / "receipt.json").is_file())
    receipt = json.loads((run_dir / "receipt.json").read_text())
    assert receipt["model_pin"]["revision"] == COMMIT
    assert f"snapshots{os.sep}{COMMIT}" in receipt["model_pin"]["path"]
    hub_rows = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [r["completion"] for r in hub_rows] == [r["completion"] for r in rows(zero_shot[1])]
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
