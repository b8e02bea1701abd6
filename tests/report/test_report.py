"""report: Markdown sections, honest 'not reproduced here', audit and receipts; PNG figures."""

from __future__ import annotations

import struct

import pytest
from tests.verify.factory import MANIFEST, cell_of, write_manifest, write_run

from bioeval.manifest import load_manifest
from bioeval.report.figures import render_figures
from bioeval.report.markdown import NOT_GPU, NOT_RUN, render_report
from bioeval.verify.verify import verify_manifest

AUDIT = {"datasets": [{"dataset": "ee", "split": "test", "records": 400,
                       "findings": ["every gold response is empty", {"check": "duplicates", "detail": "3 duplicate inputs"}]},
                      {"dataset": "tc", "split": "test", "findings": []}],
         "published_table": [{"model": "big", "dataset": "tc", "check": "f1-consistency",
                              "detail": "F1 0.50 vs 2PR/(P+R) 0.52"}]}


@pytest.fixture
def world(tmp_path):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.80, "recall": 0.83}, n=400,
              receipt={"python": "3.11.7", "torch": "2.13.0", "HF_TOKEN": "hf_secret", "gpu": {"name": "cpu"}})
    write_run(results, cell_of(manifest, "tiny", "ner"), {"precision": 0.75, "recall": 0.55}, n=5000)
    return manifest, results


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_markdown_sections(world, tmp_path):
    manifest, results = world
    loaded = load_manifest(manifest)
    verification = verify_manifest(loaded, results)
    receipts = {"r1": {"python": "3.11.7", "HF_TOKEN": "hf_secret", "gpu": {"name": "cpu"}}}
    md = render_report(loaded, verification, AUDIT, receipts)
    assert md.startswith("## Mini paper for verify tests")
    assert "**2 of 6 cells reproduced here**" in md
    # EE: tiny reproduced (discrepant on recall), big needs a GPU and says so instead of missing
    ee = md.split("### EE")[1].split("###")[0]
    assert "| Tiny-Model | EventSet | 0.80 / 0.80 / 0.80 | 0.8000 / 0.8300 / 0.8147 |" in ee
    assert "+0.0300" in ee and "**discrepant (R)**" in ee
    assert f"| Big-Model-70B | EventSet | 0.90 / 0.90 / 0.90 | {NOT_GPU} |" in ee
    assert "missing" not in ee
    # TC: nothing reproduced -> one line and the published values with their CI
    tc = md.split("### TC")[1].split("###")[0]
    assert NOT_GPU in tc.splitlines()[2] and "0.84 (0.80–0.88)" in tc
    # ledger with provenance, deviations, audit, receipts (token redacted)
    assert "| scoring.scorer | `\"zhan2024-set-f1\"` | authors-code |" in md
    assert "| evaluation.test_subsample | `1000` | authors-code | random.sample without a seed |" in md
    assert "- **No GPU in the test**: results are written by the test" in md
    assert "every gold response is empty" in md and "duplicates: 3 duplicate inputs" in md
    assert "| big | tc | f1-consistency | F1 0.50 vs 2PR/(P+R) 0.52 |" in md
    assert "hf_secret" not in md and "| HF_TOKEN | (redacted) |" in md and "| gpu.name | cpu |" in md


def test_cpu_cells_say_not_run(tmp_path):
    manifest = write_manifest(tmp_path, MANIFEST.replace("resources: {gpus: 4}", "resources: {gpus: 0}"))
    loaded = load_manifest(manifest)
    md = render_report(loaded, verify_manifest(loaded, tmp_path / "none"), None, None, audit_note="no data here")
    assert NOT_RUN in md and NOT_GPU not in md
    assert "The data audit was not run: no data here" in md and "No run receipts" in md


def test_figures_render(world, tmp_path):
    manifest, results = world
    verification = verify_manifest(load_manifest(manifest), results)
    paths = render_figures(verification, tmp_path / "fig", "mini", title="Mini paper")
    # and the reproduced cells against their trivial baselines (verify/baseline.py)
    assert [p.name for p in paths] == ["mini-bars-f1.png", "mini-delta-f1.png", "mini-baselines-f1.png"]
    for p in paths:
        w, h = png_size(p)
        assert 400 <= w <= 5000 and 250 <= h <= 4000 and p.stat().st_size > 10_000
    # nothing reproduced: only the bars of published values
    none = verify_manifest(load_manifest(manifest), tmp_path / "empty")
    assert [p.name for p in render_figures(none, tmp_path / "fig2", "mini")] == ["mini-bars-f1.png"]


def test_cli_report_several_manifests(world, cli, tmp_path):
    manifest, results = world
    other = tmp_path / "other"
    other.mkdir()
    second = write_manifest(other, MANIFEST.replace("Mini paper for verify tests", "Second paper"))
    out = tmp_path / "site" / "RESULTS.md"
    r = cli("report", str(manifest), str(second), "--results", str(results), "--out", str(out))
    assert r.returncode == 0, r.stderr  # a report never fails on FAIL or MISSING
    md = out.read_text()
    assert md.startswith("# Reproduction report") and md.count("\n## ") == 2
    assert "## Mini paper for verify tests" in md and "## Second paper" in md
    figs = sorted(p.name for p in (out.parent / "figures").iterdir())
    assert "mini-bars-f1.png" in figs and "mini-delta-f1.png" in figs
    assert "](figures/mini-bars-f1.png)" in md
    assert "### Data audit" in md  # written whether or not the data audit could run
    r = cli("report", str(manifest), "--results", str(results))  # stdout, no figures
    assert r.returncode == 0 and "## Mini paper for verify tests" in r.stdout and "![" not in r.stdout


def test_results_without_published_values_are_listed(tmp_path):
    text = MANIFEST.split("expected:")[0] + "tolerance:" + MANIFEST.split("tolerance:")[1]
    manifest = write_manifest(tmp_path, text)
    results = tmp_path / "results"
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.5, "recall": 0.25}, n=40, bootstrap=True)
    loaded = load_manifest(manifest)
    verification = verify_manifest(loaded, results)
    s = verification["summary"]
    assert verification["cells"] == [] and (s["values"], s["global_verdict"]) == (0, "none: nothing to verify")  # no pass (issue 23, 4)
    md = render_report(loaded, verification)
    section = md.split("### Reproduced cells without published values")[1]
    ci = verification["unexpected"][0]["ci"]["f1"]  # the run's own bootstrap interval
    assert "| Tiny-Model | EventSet | EE | 0.5000 [" in section
    assert f"| 0.3333 [{ci[0]:.3f}, {ci[1]:.3f}] | 40 |" in section


def _pixels(path):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=int)


def _near(pixels, rgb, tol=12):
    import numpy as np

    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= tol).sum())


def test_f1_figure_colours_a_cell_failing_on_precision_as_failing(tmp_path):
    manifest = write_manifest(tmp_path)
    results = tmp_path / "results"
    # F1 within tolerance (0.81 vs 0.80), precision not (0.70 vs 0.80): the cell fails
    write_run(results, cell_of(manifest, "tiny", "ee"), {"precision": 0.70, "recall": 0.80, "f1": 0.81}, n=400)
    verification = verify_manifest(load_manifest(manifest), results)
    bars = render_figures(verification, tmp_path / "fig", "mini")[0]
    red, blue = _near(_pixels(bars), (0xD6, 0x27, 0x28)), _near(_pixels(bars), (0x1F, 0x77, 0xB4))
    assert red > 2000 and blue < 500  # the legend swatches are small; the bar is red


def test_nothing_reproduced_figure_shows_the_published_grid(tmp_path):
    manifest = write_manifest(tmp_path)
    none = verify_manifest(load_manifest(manifest), tmp_path / "empty")
    (path,) = render_figures(none, tmp_path / "fig", "mini", title="Mini paper")
    pixels = _pixels(path)
    grey = _near(pixels, (0x9E, 0x9E, 0x9E), tol=6)
    coloured = int(((pixels.max(axis=2) - pixels.min(axis=2)) > 60).sum())  # viridis cells, not grey bars
    assert grey < 1000 and coloured > 20_000


def test_environment_redacts_credentials_only(world):
    manifest, results = world
    loaded = load_manifest(manifest)
    receipts = {"r1": {"HF_TOKEN": "x", "env": {"OPENAI_API_KEY": "y", "password": "z"},
                       "libraries": {"tokenizers": "0.22.1"}, "decoding": {"max_new_tokens": 12},
                       "tokenizer": {"eos_token": "</s>", "pad_token": "</s>"},
                       "note": "token hf_abcdefghijklmnopqrstuvwxyz leaked"}}
    md = render_report(loaded, verify_manifest(loaded, results), None, receipts)
    for key in ("HF_TOKEN", "env.OPENAI_API_KEY", "env.password"):
        assert f"| {key} | (redacted) |" in md
    assert "| libraries.tokenizers | 0.22.1 |" in md and "| decoding.max_new_tokens | 12 |" in md
    assert "| tokenizer.eos_token | </s> |" in md and "| tokenizer.pad_token | </s> |" in md
    assert "hf_abcdefghijklmnopqrstuvwxyz" not in md and "token (redacted) leaked" in md


def test_report_shows_tolerances_and_dataset_notes(world):
    manifest, results = world
    loaded = load_manifest(manifest)
    md = render_report(loaded, verify_manifest(loaded, results))
    assert "### Tolerances" in md and "| dataset=ner | rel 0.1 |" in md and "| model=tiny, dataset=tc, metric=f1 | abs 0.001 |" in md
    assert "### Datasets" in md and "| ner | ChemNER | NER | test 5,000 |" in md


def test_regression_figure_of_an_added_model(tmp_path):
    from bioeval.report.figures import regression_figure

    block = {"model": "mynew", "like": "tiny", "metric": "f1", "datasets": [
        {"dataset": "ee", "paper_dataset": "EventSet", "task": "EE", "observed": 0.7, "observed_ci": [0.65, 0.75],
         "published": [{"model": "big", "paper_model": "Big", "expected": 0.9},
                       {"model": "tiny", "paper_model": "Tiny", "expected": 0.8}],
         "paired": {"delta": -0.1, "ci": [-0.15, -0.05]}},
        {"dataset": "ner", "paper_dataset": "ChemNER", "task": "NER", "observed": None, "published": []}]}
    path = regression_figure(block, tmp_path / "new.png")
    w, h = png_size(path)
    assert w > 400 and h > 200
    assert _near(_pixels(path), (0xFF, 0x7F, 0x0E)) > 2000  # the new model's bar
    block["datasets"][0]["observed"] = None
    assert regression_figure(block, tmp_path / "none.png") is None


def test_audit_findings_in_the_report_most_severe_first(tmp_path):
    from bioeval.audit.findings import by_severity, finding

    manifest = write_manifest(tmp_path, MANIFEST)
    loaded = load_manifest(manifest)
    findings = by_severity([
        finding("identical-rows", "low", "TC", "test", "two rows agree", "coincidence is plausible", {"n": 2}, ["a", "b"]),
        finding("published-infeasible", "high", "PHEE", "test", "P above R with one gold item each",
                "these rows cannot come from this file", {"rows": 11}, ["m1", "m2", "m3", "m4"]),
    ])
    md = render_report(loaded, verify_manifest(loaded, tmp_path / "none"),
                       {"datasets": [], "published_table": [], "findings": findings}, None)
    high = md.index("| high | published-infeasible | PHEE | test | 4 models | P above R with one gold item each. "
                    "These rows cannot come from this file. |")
    assert high < md.index("| low | identical-rows | TC | test | a, b |")
