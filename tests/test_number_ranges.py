"""Issue 23, finding 10: every number a user gives is range-checked where it is read (click or
the manifest schema): a usage error with its option or file:line, exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def predictions(tmp_path) -> Path:
    path = tmp_path / "p.jsonl"
    rows = [{"id": str(i), "completion": "O O", "reference": "0 0"} for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("args, option", [
    (["--level", "2"], "--level"), (["--level", "0"], "--level"), (["--seed", "-1"], "--seed"),
    (["--resamples", "-5"], "--resamples"), (["--labels", ",,,"], "--labels"), (["--labels", "O,,B-X"], "--labels"),
])
def test_score_numbers_and_labels_out_of_range_are_usage_errors(bioeval_cli, predictions, args, option):
    code, out, err = bioeval_cli("score", str(predictions), "--scorer", "ner-entity-f1", *args)
    assert code == 2, (out, err)
    assert option in err and "Traceback" not in err


@pytest.mark.parametrize("args, option", [(["--seed", "-1"], "--seed"), (["--resamples", "-1"], "--resamples"),
                                          (["--threshold", "-0.5"], "--threshold")])
def test_compare_numbers_out_of_range_are_usage_errors(bioeval_cli, tmp_path, args, option):
    code, out, err = bioeval_cli("compare", str(tmp_path), *args)
    assert code == 2 and option in err, (out, err)


def test_show_limit_below_zero_is_a_usage_error(bioeval_cli, tmp_path):
    code, out, err = bioeval_cli("show", str(tmp_path), "--limit", "-1")
    assert code == 2 and "--limit" in err


@pytest.mark.parametrize("field, line", [
    ("bootstrap_seed", "    bootstrap_seed: {value: -1, source: assumed}"),
    ("bootstrap_resamples", "    bootstrap_resamples: {value: 100000000, source: assumed}"),
])
def test_scoring_numbers_out_of_range_are_refused_at_validate(bioeval_cli, tmp_path, field, line):
    text = (REPO / "tests" / "manifest" / "minimal.yaml").read_text()
    anchor = "    scorer: {value: zhan2024-set-f1, source: authors-code}\n"
    assert anchor in text
    path = tmp_path / "m.yaml"
    path.write_text(text.replace(anchor, anchor + line + "\n"))
    code, out, err = bioeval_cli("validate", str(path))
    assert code == 2, (out, err)
    assert f"{path}:" in err and field in err and "protocol.scoring" in err


def test_a_seed_below_zero_is_refused_at_validate(bioeval_cli, tmp_path):
    text = (REPO / "tests" / "manifest" / "minimal.yaml").read_text()
    path = tmp_path / "m.yaml"
    path.write_text(text.replace("seed: {value: 1, source: assumed}", "seed: {value: -3, source: assumed}"))
    code, out, err = bioeval_cli("validate", str(path))
    assert code == 2 and "seed must be between 0" in err, (out, err)


@pytest.mark.parametrize("runtime, option, value", [("local", "jobs", "0"), ("docker", "gpus", "-1")])
def test_runtime_numbers_below_their_minimum_are_usage_errors(runtime, option, value):
    from bioeval.errors import UsageError
    from bioeval.runtimes.options import check_options

    with pytest.raises(UsageError, match=f"--{option.replace('_', '-')} '{value}'.*at least"):
        check_options(runtime, {option: value})
    assert check_options(runtime, {option: "2"})[option] == 2
