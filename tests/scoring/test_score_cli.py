"""`bioeval score` through the real CLI."""

from __future__ import annotations

import json

import pytest


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_json_set_f1(cli, tmp_path):
    f = write_jsonl(tmp_path / "p.jsonl", [
        {"id": "1", "prediction": "A, C", "reference": "A, B"},
        {"id": "2", "prediction": "", "reference": ""},
        {"id": "3", "prediction": "A, A, B", "reference": "A, B", "prompt_truncated": False},
        {"id": "4", "prediction": "Z", "reference": "Z", "prompt_truncated": True},
    ])
    r = cli("score", "--scorer", "zhan2024-set-f1", str(f), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [out[m] for m in ("precision", "recall", "f1")] == pytest.approx([0.8, 0.8, 0.8])
    assert (out["n"], out["skipped"]) == (3, 1)
    assert set(out["ci"]) >= {"precision", "recall", "f1", "level"} and out["ci"]["level"] == 0.95
    assert out["ci"]["f1"][0] <= out["f1"] <= out["ci"]["f1"][1]
    # the table form prints the same numbers
    r = cli("score", "--scorer", "zhan2024-set-f1", str(f))
    assert r.returncode == 0 and "0.8000" in r.stdout and "1 skipped" in r.stdout


def test_score_ner_and_binary_options(cli, tmp_path):
    f = write_jsonl(tmp_path / "ner.jsonl", [{"id": "1", "prediction": "[1, 2, 0]", "reference": "[1, 2, 0]"},
                                            {"id": "2", "prediction": "junk", "reference": "[0, 1, 0]"}])
    out = json.loads(cli("score", "--scorer", "ner-entity-f1", "--labels", "O,B-Gene,I-Gene", str(f), "--json").stdout)
    assert (out["precision"], out["recall"], out["invalid"]) == (1.0, 0.5, 1)
    f = write_jsonl(tmp_path / "tc.jsonl", [{"id": "1", "prediction": "the note involves stigma", "reference": "1"},
                                           {"id": "2", "prediction": "The note does not involve it", "reference": "1"}])
    out = json.loads(cli("score", "--scorer", "binary-prf", "--positive", "the note involves",
                         "--negative", "the note does not involve", str(f), "--json").stdout)
    assert (out["precision"], out["recall"]) == (1.0, 0.5)


def test_score_errors_are_one_paragraph(cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "prediction": "A", "reference": "A"}\n{"id": "2", "prediction": "A"}\n')
    r = cli("score", "--scorer", "zhan2024-set-f1", str(bad))
    assert r.returncode == 2 and "missing field 'reference'" in r.stderr and "Traceback" not in r.stderr
    bad.write_text('{"id": "1", "prediction": "A", "reference": "A"}\nnot json\n')
    r = cli("score", "--scorer", "zhan2024-set-f1", str(bad))
    assert r.returncode == 2 and "bad.jsonl:2" in r.stderr
    r = cli("score", "--scorer", "ner-entity-f1", str(bad))
    assert r.returncode == 2 and "--labels" in r.stderr
    r = cli("score", "--scorer", "nope", str(tmp_path / "missing.jsonl"))
    assert r.returncode == 2 and "unknown scorer" in r.stderr


def test_scoring_commands_do_not_import_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from bioeval.cli import main\n"
            "from bioeval.scoring import get_scorer; from bioeval.scoring.files import score_file\n"
            "import bioeval.verify.verify, bioeval.verify.compare, bioeval.verify.junit, bioeval.report.markdown\n"
            "import bioeval.report.figures\n"
            "bad = [m for m in ('torch', 'transformers', 'peft', 'matplotlib') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
