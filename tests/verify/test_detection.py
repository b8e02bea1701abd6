"""What each value can detect (issue 21, item 6): the minimum detectable effect in `plan --json`,
in verify's rows and in the report, consistent with each other and with the test it describes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from scipy import stats
from tests.verify.factory import MANIFEST, cell_of, verify_selected, write_manifest, write_run

from bioeval.cli import main
from bioeval.manifest import cells, load_manifest
from bioeval.verify.detection import detection, minimum_detectable_effect

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "manifests" / "deepseek_bionlp.yaml"
AUTO = MANIFEST.replace("default: {kind: abs, value: 0.02}", "default: {kind: auto}").replace(
    "deviations:", "  seed_spread:\n    - {sd: 0.01, source: assumed}\ndeviations:")


def by_value(rows):
    return {(r["model"], r["dataset"], r["metric"]): r for r in rows}


def test_the_mde_is_the_shift_the_global_verdict_names_with_80_percent():
    """At a true shift of exactly the MDE, a single shifted value's p-value clears Holm's first
    step (family_error / m) with probability 0.80 (normal reference: declared spreads, df inf)."""
    loaded = load_manifest(PAPER)
    d = detection(loaded, cells(loaded))
    m = d["tested_values"]
    assert m == 432
    for r in d["values"][:: 37]:
        q = stats.norm.isf(d["family_error"] / (2 * m))
        excess = r["mde"] - r["margin"]
        assert stats.norm.cdf(excess / r["sd"] - q) == pytest.approx(0.80, abs=2e-3)
        assert r["mde_value"] < r["mde"]  # one value's own interval is less strict than the family


def test_paper_cells_rank_by_what_they_can_show():
    loaded = load_manifest(PAPER)
    mde = {(c["model"], c["dataset"]): c["mde"] for c in detection(loaded, cells(loaded))["cells"]}
    assert len(mde) == 144
    # full test sets with the 0.01 spread detect least-badly; Genia (declared 0.05) worst; R1 (0.02) between
    assert mde["llama3-8b", "phee"] < mde["r1-distill-qwen-7b", "phee"] < mde["llama3-8b", "genia2011"]
    assert mde["llama3-8b", "phee"] > 0.05  # no cell of the paper can show a 0.05 shift with one run


def test_more_seeds_lower_the_mde_of_a_value_with_a_seed_part():
    loaded = load_manifest(PAPER)
    one = by_value(detection(loaded, cells(loaded), k=1)["values"])
    three = by_value(detection(loaded, cells(loaded), k=3)["values"])
    key = ("llama3-8b", "phee", "f1")
    assert three[key]["runs"] == 3 and three[key]["sd"] < one[key]["sd"]


def test_plan_and_verify_report_the_same_mde_for_a_run_at_the_published_value(tmp_path):
    manifest = write_manifest(tmp_path, AUTO)
    loaded = load_manifest(manifest)
    for model, dataset, f in (("tiny", "ee", 0.80), ("big", "ee", 0.90)):
        write_run(tmp_path / "runs", cell_of(manifest, model, dataset), {"precision": f, "recall": f}, n=400)
    report = verify_selected(loaded, tmp_path / "runs", "dataset=ee")
    planned = by_value(detection(loaded, cells(loaded, "dataset=ee"))["values"])
    for row in report["cells"]:
        key = (row["model"], row["dataset"], row["metric"])
        assert row["mde"] == pytest.approx(planned[key]["mde"], abs=2e-4), key
    assert report["summary"]["values_detecting_0.05"] == sum(r["mde"] <= 0.05 for r in report["cells"])


def test_fixed_rules_detect_any_shift_beyond_their_half_width(tmp_path):
    manifest = write_manifest(tmp_path, MANIFEST)  # abs 0.02 default, rel 0.10 on ner
    loaded = load_manifest(manifest)
    rows = by_value(detection(loaded, cells(loaded))["values"])
    assert rows["tiny", "ee", "f1"]["mde"] == pytest.approx(0.02)
    assert rows["big", "ner", "f1"]["mde"] == pytest.approx(0.05)  # rel 0.10 of 0.50


def test_plan_json_and_text_carry_the_detection():
    runner = CliRunner()
    out = runner.invoke(main, ["plan", str(PAPER), "--json", "--seeds", "2"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)["detection"]
    assert d["runs_per_cell"] == 2 and len(d["values"]) == 432 and len(d["cells"]) == 144
    text = runner.invoke(main, ["plan", str(PAPER)])
    assert "What each cell can detect" in text.output and "of 144 cells can show a shift of 0.05" in text.output
    bad = runner.invoke(main, ["plan", str(PAPER), "--seeds", "0"])
    assert bad.exit_code == 2


def test_plan_of_the_paper_manifest_imports_neither_numpy_nor_scipy():
    """Those two imports were most of `plan --json` (issue 24: <= 0.4 s); declared spreads need
    only normal quantiles, which the standard library has."""
    code = ("import sys\nfrom bioeval.cli import run\ntry:\n    run(['plan', sys.argv[1], '--json'])\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print([m for m in ('numpy', 'scipy') if m in sys.modules], file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, str(PAPER)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["detection"]["tested_values"] == 432
    assert done.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("df", [math.inf, 2.0, 9.0])
def test_the_mde_quantiles_are_scipy_stats_to_four_decimals(df):
    """Normal quantiles from the standard library where every df is infinite, Student's t from
    scipy otherwise: both the formula's value to the rounding `plan` and verify print."""
    sd, alpha, margin = [0.004, 0.01, 0.13], [0.05 / 432, 0.05, 0.3], [0.0, 0.00005, 0.0005]
    got = minimum_detectable_effect(sd, [df] * 3, alpha, margin, 0.80)
    for s, a, g, value in zip(sd, alpha, margin, got):
        dist = stats.norm if math.isinf(df) else stats.t(df)
        want = g + (dist.ppf(1 - a / 2) + dist.ppf(0.80)) * s
        assert round(float(value), 4) == round(float(want), 4) and float(value) == pytest.approx(float(want), rel=1e-14)
