"""Small manifests and result folders laid out as the engine writes them (shared by verify and report tests)."""

from __future__ import annotations

import json
from pathlib import Path

from bioeval.manifest import cells, load_manifest
from bioeval.runs import RunDir, write_json, write_jsonl

MANIFEST = """\
schema_version: 1
paper:
  title: "Mini paper for verify tests"
  authors: "Tester et al."
  year: 2025
  tables: "Table 9"
models:
  - key: tiny
    paper_name: Tiny-Model
    revision: ./tiny
    resources: {gpus: 0}
  - key: big
    paper_name: Big-Model-70B
    revision: ./big
    resources: {gpus: 4}
datasets:
  - key: ee
    paper_name: EventSet
    task: EE
    splits:
      test: {source: {local: ee_test.json}, records: 400}
  - key: ner
    paper_name: ChemNER
    task: NER
    labels: [O, B-Chemical, I-Chemical]
    splits:
      test: {source: {local: ner_test.json}, records: 5000}
    protocol:
      scoring: {scorer: {value: ner-entity-f1, source: assumed}}
  - key: tc
    paper_name: TweetClass
    task: TC
    splits:
      test: {source: {local: tc_test.json}, records: 2500}
    protocol:
      scoring:
        scorer: {value: binary-prf, source: paper}
        positive_phrases: {value: ["the tweet is self-reporting"], source: paper}
        negative_phrases: {value: ["the tweet is not self-reporting"], source: paper}
protocol:
  mode: {value: zero-shot, source: assumed}
  seed: {value: 0, source: assumed}
  prompt:
    inference_template: {value: "### Input: \\n{inputsentence}\\n\\n### Response: \\n", source: paper}
    max_prompt_tokens: {value: 1500, source: authors-code}
  evaluation:
    test_subsample: {value: 1000, source: authors-code, note: "random.sample without a seed"}
  decoding:
    max_new_tokens: {value: {EE: 10, RE: 20, NER: 200, TC: 10}, source: authors-code}
  scoring:
    scorer: {value: zhan2024-set-f1, source: authors-code}
expected:
  tiny:
    ee: {precision: 0.80, recall: 0.80, f1: 0.80}
    ner: {precision: 0.70, recall: 0.60, f1: 0.6462}
    tc: {precision: {value: 0.84, ci: [0.80, 0.88]}, recall: 0.92, f1: 0.88}
  big:
    ee: {precision: 0.90, recall: 0.90, f1: 0.90}
    ner: {precision: 0.50, recall: 0.50, f1: 0.50}
    tc: {precision: 0.50, recall: 0.50, f1: 0.50}
tolerance:
  default: {kind: abs, value: 0.02}
  overrides:
    - {dataset: ner, kind: rel, value: 0.10}
    - {dataset: tc, kind: auto, floor: 0.01, z: 1.96}
    - {dataset: tc, metric: f1, kind: abs, value: 0.03}
    - {model: tiny, dataset: tc, metric: f1, kind: abs, value: 0.001}
deviations:
  - {what: "No GPU in the test", why: "results are written by the test"}
"""


def write_manifest(tmp: Path, text: str = MANIFEST) -> Path:
    path = tmp / "mini.yaml"
    path.write_text(text)
    return path


def cell_of(manifest: Path, model: str, dataset: str):
    return next(c for c in cells(load_manifest(manifest)) if c.model.key == model and c.dataset.key == dataset)


def synthetic_predictions(cell, precision: float, recall: float, n: int | None = None) -> list[dict]:
    """n predictions that the cell's scorer scores at (about) this precision and recall.

    Built from four kinds of instance, each a known (correct, predicted, gold) contribution,
    so a test can ask for any plausible P/R; F1 follows from them, as it does for real runs.
    """
    n = n or 1000
    name = cell.protocol.scoring.scorer.value
    if min(precision, recall) <= 0:  # nothing correct: every answer wrong
        return [{"id": str(i), "prediction": "[0]" if name == "ner-entity-f1" else "B",
                 "reference": "[1]" if name == "ner-entity-f1" else "1" if name == "binary-prf" else "A"}
                for i in range(n)]
    if name == "zhan2024-set-f1":  # A/A (1,1,1), B/A (0,1,1), and one instance with all the extra labels
        if precision <= recall:  # extra predicted labels lower the precision
            correct = round(recall * n)
            extra = ", ".join(f"P{i}" for i in range(round(correct / precision) - n))
            odd = ("A, " + extra, "A") if extra else ("A", "A")
        else:  # extra gold labels lower the recall
            correct = round(precision * n)
            extra = ", ".join(f"G{i}" for i in range(round(correct / recall) - n))
            odd = ("A", "A, " + extra) if extra else ("A", "A")
        kinds = [(*odd, 1), ("B", "A", n - correct), ("A", "A", correct - 1)]
    else:  # NER and binary: TP, FP, FN and TN instances
        if name == "ner-entity-f1":
            yes, no = "[1]", "[0]"
            gold_yes, gold_no = yes, no
        else:
            yes, no = cell.protocol.scoring.positive_phrases.value[0], cell.protocol.scoring.negative_phrases.value[0]
            gold_yes, gold_no = "1", "0"
        tp = int(n / (1 / precision + 1 / recall - 1))
        while True:
            fp, fn = round(tp / precision - tp), round(tp / recall - tp)
            if tp + fp + fn <= n:
                break
            tp -= 1
        kinds = [(yes, gold_yes, tp), (yes, gold_no, fp), (no, gold_yes, fn), (no, gold_no, n - tp - fp - fn)]
    assert all(k >= 0 for *_, k in kinds), (precision, recall, n, kinds)
    rows = [(pred, ref) for pred, ref, k in kinds for _ in range(k)]
    return [{"id": str(i), "prediction": pred, "reference": ref} for i, (pred, ref) in enumerate(rows)]


def write_run(results: Path, cell, metrics: dict | None = None, predictions: list[dict] | None = None,
              run_id: str | None = None, n: int | None = None, receipt: dict | None = None, state: str = "done",
              scores: bool | None = None, bootstrap: bool = False, select_on: str | None = None) -> Path:
    """A run folder as the engine leaves it: spec.json, status.json, predictions.jsonl, and scores.json
    and receipt.json built from those predictions (with their hashes).  ``run_id`` other than the
    cell's: a run of an older protocol (its spec differs, so its folder is named by that spec's run id).

    ``metrics`` ({"precision", "recall", ...}) asks for synthetic predictions with that precision
    and recall (``n`` of them); ``predictions`` gives them instead. ``scores=False`` leaves
    scores.json out (an older run: verify re-scores it); tests that tamper edit the files after.
    ``bootstrap=False`` writes scores.json without its bootstrap interval (``"ci": {}``, as runs of
    older versions; verify then takes the sampling part from the binomial formula, which tests
    compute by hand); everything else in it is what the predictions give.  ``select_on`` is where the
    run picked its checkpoint (scores.json's select_on; None: no selection, as a zero-shot run).
    """
    from bioeval.scoring.scores_json import build_scores

    spec = cell.spec
    if run_id is not None and run_id != cell.run_id:  # an older protocol of the cell: its own spec and run id
        from bioeval.manifest.resolve import run_id_of

        spec = {**spec, "protocol": {**spec["protocol"], "older_version": run_id}}
        run_id = run_id_of(spec)
    run = RunDir(results, run_id or cell.run_id)
    run.create({**spec, "run_id": run.run_id})
    run.set_status(state)
    if predictions is None and metrics is not None:
        predictions = synthetic_predictions(cell, metrics["precision"], metrics["recall"], n)
    outputs = {}
    if predictions is not None:
        write_jsonl(run.predictions, [{"prompt_sha256": "0" * 64, "prompt_truncated": False, **p} for p in predictions])
        built = build_scores(run.run_id, cell.spec, run.predictions, select_on=select_on)
        built["ci"] = built["ci"] if bootstrap else {}
        outputs["predictions_sha256"] = built["predictions_sha256"]
        if scores is not False and metrics is not None or scores:
            write_json(run.scores, built)
    write_json(run.receipt, {"run_id": run.run_id, "model": cell.model.key, "dataset": cell.dataset.key,
                             "python": "3.11.7", "torch": "2.13.0", "gpu": "none", **(receipt or {}),
                             "outputs": outputs})
    return run.path


def read_json(path: Path):
    return json.loads(Path(path).read_text())


def verify_selected(manifest, results, only: str):
    """verify_manifest of the cells `--only` selects, resolved as the verify command does (the
    verify stage takes cells, not a selection string); ``manifest``: a path or a LoadedManifest."""
    from bioeval.verify.verify import verify_manifest

    loaded = load_manifest(manifest) if isinstance(manifest, (str, Path)) else manifest
    return verify_manifest(loaded, results, cells=cells(loaded, only))
