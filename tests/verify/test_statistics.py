"""The statistical tolerance: prediction intervals by hand, sampling schemes, Holm, seed studies."""

from __future__ import annotations

import math

import pytest
from tests.verify.factory import MANIFEST, cell_of, verify_selected, write_manifest, write_run

from bioeval.manifest.resolve import find_run, seed_variant, with_seeds
from bioeval.verify import sampling as sp
from bioeval.verify import statistics as st

# ee: 400 test records, test_subsample 1000 -> both sides score the whole test set: no sampling part
AUTO = MANIFEST.replace("default: {kind: abs, value: 0.02}", "default: {kind: auto}")


def with_tolerance(extra: str, text: str = AUTO) -> str:
    """AUTO with more keys under `tolerance:` (which ends where `deviations:` starts)."""
    return text.replace("deviations:", extra + "deviations:")


def seed_study(tmp_path, values: list[float], text: str = AUTO, model: str = "tiny", dataset: str = "ee", n=400):
    manifest = write_manifest(tmp_path, text)
    base = cell_of(manifest, model, dataset)
    for i, f1 in enumerate(values):
        write_run(tmp_path / "runs", seed_variant(base, i), {"precision": f1, "recall": f1}, n=n)  # F1 = P = R
    report = verify_selected(manifest, tmp_path / "runs", f"model={model},dataset={dataset}")
    return {r["metric"]: r for r in report["cells"]}, report


def test_prediction_interval_k3_by_hand(tmp_path):
    rows, _ = seed_study(tmp_path, [0.80, 0.82, 0.78])  # published F1 0.80
    f1 = rows["f1"]
    # mean 0.80, s 0.02, t(0.975, 2) = 4.302653 (table): 0.80 +- 4.302653 * 0.02 * sqrt(1 + 1/3)
    half = 4.302653 * 0.02 * math.sqrt(4 / 3)
    assert (f1["runs"], f1["observed"], f1["parts"]["seed"], f1["df"]) == (3, pytest.approx(0.80), pytest.approx(0.02), 2)
    assert f1["interval"] == pytest.approx([0.80 - half, 0.80 + half], abs=1e-6)
    assert f1["parts"]["sampling"] == 0.0 and f1["verdict"] == "reproduced" and f1["p_value"] == pytest.approx(1.0)
    assert f1["run_ids"][0] == cell_of(tmp_path / "mini.yaml", "tiny", "ee").run_id and len(set(f1["run_ids"])) == 3


def test_prediction_interval_k5_by_hand_and_p_value(tmp_path):
    rows, _ = seed_study(tmp_path, [0.70, 0.72, 0.74, 0.76, 0.78])  # published 0.80
    f1 = rows["f1"]
    s = math.sqrt((0.04 ** 2 * 2 + 0.02 ** 2 * 2) / 4)  # 0.031623
    half = 2.776445 * s * math.sqrt(1 + 1 / 5)  # t(0.975, 4) = 2.776445 (table)
    assert f1["interval"] == pytest.approx([0.74 - half, 0.74 + half], abs=1e-6)
    assert f1["verdict"] == "reproduced"  # 0.80 - 0.74 = 0.06 < 0.0962
    # p: T = 0.06 / (s sqrt(1.2)) = 1.7321 with 4 df; two-sided tail by hand from the t(4) cdf
    t = 0.06 / (s * math.sqrt(1.2))
    p = 1 - (t * (6 + t * t)) / (t * t + 4) ** 1.5  # P(|T4| > t) = 1 - t (6 + t^2) / (t^2 + 4)^(3/2)
    assert f1["p_value"] == pytest.approx(p, rel=1e-6) and f1["p_value"] == pytest.approx(0.1583, abs=1e-4)


def test_discrepant_has_direction_and_holm_global_verdict(tmp_path):
    rows, report = seed_study(tmp_path, [0.60, 0.61, 0.59])  # published 0.80: far above our runs
    f1 = rows["f1"]
    assert (f1["verdict"], f1["direction"]) == ("discrepant", "lower")
    s = report["summary"]
    # three auto values at 95%: 0.15 expected by chance; F1's p (t 2 df, T = 0.2 / (0.01 sqrt(4/3))) survives Holm
    assert s["tested"] == 3 and s["expected_false_discrepancies"] == pytest.approx(0.15)
    assert f1["p_value"] == pytest.approx(1 - 17.3205 / math.sqrt(2 + 17.3205 ** 2), rel=1e-4)
    assert f1["family_discrepant"] is True and s["global_verdict"] == "not-reproduced"


def test_sampling_factor_schemes():
    assert sp.sampling_factor("subsample", "subsample", 1000, 3020) == pytest.approx(2 * (1 - 1000 / 3020))
    assert sp.sampling_factor("full", "subsample", 1000, 4000) == pytest.approx(0.75)
    assert sp.sampling_factor("full", "full", 465, 465) == 0.0
    assert sp.sampling_factor("subsample", "subsample", 1000, None) == 2.0  # N unknown: no correction


def test_holm_step_down_by_hand():
    # sorted p 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2: stop
    assert st.holm([0.01, 0.04, 0.03, 0.005], 0.05).tolist() == [True, False, False, True]
    assert st.holm([[0.2, 0.3], [0.02, 0.04]], 0.05).tolist() == [[False, False], [True, True]]


def test_pooled_sd_by_hand():
    sd, df = st.pooled_sd([[0.80, 0.82, 0.78], [0.5, 0.5, 0.5], [0.9]])
    assert df == 4 and sd == pytest.approx(math.sqrt(0.0008 / 4))


def test_declared_spread_bias_and_sampling_scheme(tmp_path):
    text = with_tolerance("""  seed_spread:
    - {sd: 0.01, source: assumed, note: "every cell"}
    - {model: tiny, dataset: tc, metric: f1, sd: 0.03, runs: 5, source: paper, note: "five runs in the paper"}
  selection_bias:
    - {metric: f1, shift: 0.01, source: assumed, note: "best of 5 on test"}
  sampling:
    - {dataset: tc, published: full, ours: subsample, population: 4000, source: assumed, note: "paper used all"}
""")
    text = text.replace("    - {model: tiny, dataset: tc, metric: f1, kind: abs, value: 0.001}\n", "") \
        .replace("    - {dataset: tc, metric: f1, kind: abs, value: 0.03}\n", "") \
        .replace("    - {dataset: tc, kind: auto, floor: 0.01, z: 1.96}\n", "")
    manifest = write_manifest(tmp_path, text)
    write_run(tmp_path / "runs", cell_of(manifest, "tiny", "tc"), {"precision": 0.84, "recall": 0.92}, n=1000)
    rows = {r["metric"]: r for r in verify_selected(manifest, tmp_path / "runs",
                                                    "model=tiny,dataset=tc")["cells"]}
    f1 = rows["f1"]
    samp = math.sqrt(1 - 1000 / 4000) * math.sqrt(0.88 * 0.12 / 1000)  # one side cut 1000 of 4000
    assert f1["parts"] == {"sampling": pytest.approx(samp), "seed": 0.03, "bias": 0.01}
    sd = math.sqrt(0.03 ** 2 * 2 + samp ** 2)  # published run and ours each carry the seed spread
    assert f1["sd"] == pytest.approx(sd, abs=1e-6) and f1["df"] == 4  # measured from 5 runs: 4 df
    centre = f1["observed"] + 0.01  # observed F1 0.8782 (from P 0.84, R 0.92) + the selection bias
    assert f1["observed"] == pytest.approx(2 * 0.84 * 0.92 / 1.76, abs=1e-3)
    assert f1["interval"] == pytest.approx([centre - 2.776445 * sd, centre + 2.776445 * sd], abs=1e-5)
    assert "declared" in f1["sources"]["seed"] and "full/subsample" in f1["sources"]["sampling"]
    assert rows["precision"]["parts"]["seed"] == 0.01 and rows["precision"]["parts"]["bias"] == 0.0


def test_seed_study_pools_runs_under_one_declaration(tmp_path):
    text = with_tolerance("  seed_spread:\n    - {dataset: ee, sd: 0.05, source: assumed}\n")
    rows, _ = seed_study(tmp_path, [0.80, 0.82, 0.78], text)
    # P, R and F1 are the same runs (F1 = P = R, s 0.02): one cell, 2 df, not 6; the declaration
    # (assumed, no runs) is not a sample, so it is not pooled, but the published run keeps its 0.05
    f1 = rows["f1"]
    assert f1["df"] == 2 and f1["parts"]["seed"] == pytest.approx(0.02) and f1["published_seed_sd"] == 0.05
    assert f1["sd"] == pytest.approx(math.sqrt(0.05 ** 2 + 0.02 ** 2 / 3), abs=1e-6)
    assert "measured: 3 runs of this cell" in f1["sources"]["seed"]


def test_seed_variants_and_lookup(tmp_path):
    manifest = write_manifest(tmp_path)
    base = cell_of(manifest, "tiny", "ee")
    study = with_seeds([base], 3)
    assert [c.replicate for c in study] == [0, 1, 2] and study[0] is base
    assert [c.protocol.seed.value for c in study] == [0, 1, 2]
    assert len({c.run_id for c in study}) == 3
    assert study[2].spec["replicate"] == {"index": 2, "base_seed": 0, "base_run_id": base.run_id}
    assert study[2].protocol.evaluation.subsample_seed.value == 0  # the base run's test sample, kept
    assert study[2].name == "tiny x ee seed+2"
    assert find_run([base], study[2].run_id) == study[2]
    assert find_run([base], study[1].run_id, study[1].spec) == study[1]
    assert find_run([base], "f" * 16) is None


def test_pending_run_is_missing_failed_is_invalid(tmp_path):
    manifest = write_manifest(tmp_path, AUTO)
    write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ee"), None, state="pending")
    write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ner"), {"precision": 0.7, "recall": 0.6, "f1": 0.6462},
              n=1000, state="running")
    report = verify_selected(manifest, tmp_path / "runs", "model=tiny")
    verdicts = {(r["dataset"], r["metric"]): r["verdict"] for r in report["cells"]}
    assert verdicts["ee", "f1"] == "missing" and verdicts["ner", "f1"] == "invalid"
    assert report["summary"]["global_verdict"] == "not-reproduced"  # an invalid run is never a pass


def test_cli_exit_follows_global_verdict_and_strict(tmp_path, cli):
    rows, report = seed_study(tmp_path, [0.67, 0.69, 0.65])  # published 0.80: T = 0.13 / (0.02 sqrt(4/3)) = 5.63
    f1 = rows["f1"]
    assert f1["verdict"] == "discrepant" and f1["p_value"] == pytest.approx(0.0302, abs=5e-4)
    assert f1["family_discrepant"] is False  # 0.030 > 0.05 / 3: chance at the family level
    assert report["summary"]["global_verdict"] == "reproduced"
    args = ("verify", str(tmp_path / "mini.yaml"), "--results", str(tmp_path / "runs"), "--only", "model=tiny,dataset=ee")
    r = cli(*args)
    assert r.returncode == 0, r.stderr
    assert "expected false discrepancies under perfect reproduction: 0.15 of 3" in r.stdout
    assert "global verdict (holm, family-wise error 0.05): reproduced" in r.stdout
    r = cli(*args, "--strict")
    assert r.returncode == 1 and "3 value(s) discrepant (--strict" in r.stderr  # P = R = F1 here


def test_compare_uses_base_runs_of_a_seed_study(tmp_path):
    from bioeval.verify.compare import compare_results

    manifest = write_manifest(tmp_path, AUTO)
    base = cell_of(manifest, "tiny", "ee")
    for folder, values in (("a", [0.80, 0.70, 0.60]), ("b", [0.79])):
        for i, f1 in enumerate(values):
            write_run(tmp_path / folder, seed_variant(base, i), {"precision": f1, "recall": f1, "f1": f1}, n=400)
    (row,) = compare_results(tmp_path / "a", tmp_path / "b")["cells"]
    assert (row["run_a"], row["a"], row["b"]) == (base.run_id, pytest.approx(0.80), pytest.approx(0.79))
    assert "seed studies: 3 run(s) in A, 1 in B" in " ".join(row["notes"]) and row["verdict"] == "OK"


def test_unreadable_scores_without_predictions_are_invalid(tmp_path):
    manifest = write_manifest(tmp_path, AUTO)
    run = write_run(tmp_path / "runs", cell_of(manifest, "tiny", "ee"), {"precision": 0.8, "recall": 0.8, "f1": 0.8},
                    n=400)
    (run / "scores.json").write_text('{"metrics": ')  # truncated by some other tool
    (run / "predictions.jsonl").unlink()  # and nothing to re-derive it from
    report = verify_selected(manifest, tmp_path / "runs", "model=tiny,dataset=ee")
    row = report["cells"][0]
    assert row["verdict"] == "invalid" and any("unreadable" in n for n in row["notes"])
    assert report["summary"]["invalid"] == 3 and report["summary"]["global_verdict"] == "not-reproduced"
