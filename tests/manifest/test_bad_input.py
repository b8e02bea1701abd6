"""The bad-input corpus: every malformed manifest gives exit 2 and a message naming file, line
and field, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bioeval.errors import ManifestError
from bioeval.manifest import load_manifest

HERE = Path(__file__).parent
MINIMAL = (HERE / "minimal.yaml").read_text()


def sub(old: str, new: str, count: int = 1):
    def mutate(text: str) -> str:
        assert old in text, f"corpus case out of date: {old!r} not in minimal.yaml"
        return text.replace(old, new, count)
    return mutate


def line_of(snippet: str) -> int:
    return next(i for i, line in enumerate(MINIMAL.splitlines(), 1) if snippet in line)


DECLARE_MY_DATA = sub("schema_version: 1", "schema_version: 1\ndata_locations: [{var: MY_DATA}]")

# (case id, mutation, field expected in the message, expected line or None, words expected)
CASES = [
    ("yaml-syntax", sub("  - key: m2", "  - key: [m2"), "", None, "YAML syntax error"),
    ("tab-indent", sub("    paper_name: Model Two", "\tpaper_name: Model Two"), "", None, "YAML"),
    ("wrong-type-steps", sub("{value: 100, source: paper}", "{value: many, source: paper}"),
     "protocol.training.max_steps", line_of("max_steps"), "integer"),
    ("negative-steps", sub("{value: 100, source: paper}", "{value: -3, source: paper}"),
     "protocol.training", line_of("  training:"), "max_steps must be at least 1"),
    ("typo-key", sub("    learning_rate:", "    learning_rat:"), "protocol.training.learning_rat",
     line_of("learning_rate"), "did you mean 'learning_rate'"),
    ("typo-top-level", sub("tolerance:", "tolerence:"), "tolerence", line_of("tolerance:"), "did you mean 'tolerance'"),
    ("short-revision", sub("0123456789abcdef0123456789abcdef01234567", "0123456"), "models[0].revision",
     line_of("0123456789abcdef0123456789abcdef01234567"), "quote the value"),
    ("short-hex-revision", sub("0123456789abcdef0123456789abcdef01234567", "0123abc"), "models[0].revision",
     line_of("0123456789abcdef0123456789abcdef01234567"), "40-hex"),
    ("branch-revision", sub("0123456789abcdef0123456789abcdef01234567", "main"), "models[0].revision",
     line_of("0123456789abcdef0123456789abcdef01234567"), "bioeval lock"),
    ("missing-metric", sub("d1: {precision: 0.9, recall: 0.9, f1: 0.9}", "d1: {precision: 0.9, f1: 0.9}"),
     "expected.m1.d1", line_of("d1: {precision: 0.9"), "missing expected recall"),
    ("missing-cell", sub("  m2:\n    d1: {precision: 0.8, recall: 0.8, f1: 0.8}\n", ""), "expected", None,
     "no expected values for cell m2 x d1"),
    ("duplicate-key", sub("    paper_name: Model One\n", "    paper_name: Model One\n    paper_name: Again\n"),
     "models[0].paper_name", line_of("paper_name: Model One") + 1, "duplicate key"),
    ("duplicate-model-key", sub("  - key: m2", "  - key: m1"), "models[1].key", line_of("- key: m2"), "duplicate key 'm1'"),
    ("unknown-exclude-model", sub("tolerance:", "exclude:\n  - {model: m3, dataset: d1}\ntolerance:"),
     "exclude[0].model", line_of("tolerance:") + 1, "unknown model key 'm3'"),
    ("expected-unknown-dataset", sub("    d1: {precision: 0.8", "    d2: {precision: 0.8"), "expected.m2.d2",
     line_of("d1: {precision: 0.8"), "unknown dataset key 'd2'"),
    ("metric-out-of-range", sub("f1: 0.9}", "f1: 90}"), "expected.m1.d1.f1", line_of("f1: 0.9}"), "less than or equal to 1"),
    ("bad-sha256", sub("TC_d1_test.json\", sha256: null", "TC_d1_test.json\", sha256: abc123"),
     "datasets[0].splits.test.source.sha256", line_of("TC_d1_test.json"), "64-hex"),
    ("two-source-kinds", sub("{url: \"https://example.org/TC_d1_test.json\", sha256: null}",
                             "{url: \"https://example.org/TC_d1_test.json\", local: ./x.json}"),
     "datasets[0].splits.test.source", line_of("TC_d1_test.json"), "exactly one of url, hf or local"),
    ("unknown-task", sub("task: TC", "task: QA"), "datasets[0].task", line_of("task: TC"), "'EE', 'RE', 'NER' or 'TC'"),
    ("no-test-split", sub("      test: {source: {url: \"https://example.org/TC_d1_test.json\", sha256: null}, records: 5}\n", ""),
     "datasets[0]", line_of("- key: d1"), "needs a test split"),
    ("unknown-provenance", sub("{value: 8, source: paper}", "{value: 8, source: blog}"), "protocol.lora.r.source",
     line_of("r: {value: 8"), "'paper', 'authors-code', 'assumed' or 'unstated'"),
    ("finetune-without-lora", sub("  lora:\n    r: {value: 8, source: paper}\n    alpha: {value: 16, source: paper}\n"
                                  "    dropout: {value: 0.1, source: paper}\n"
                                  "    target_modules: {value: peft-default, source: authors-code}\n", ""),
     "protocol", line_of("protocol:"), "needs protocol sections: lora"),
    ("tolerance-without-value", sub("{kind: abs, value: 0.02}", "{kind: rel}"), "tolerance.default",
     line_of("kind: abs"), "needs a value"),
    ("bad-model-override", sub("    resources: {gpus: 1, time: \"01:00:00\"}",
                               "    resources: {gpus: 1, time: \"01:00:00\"}\n    protocol: {lora: {r: {value: zero}}}"),
     "models[0].protocol.lora.r", line_of("resources: {gpus: 1") + 1, "integer"),
    ("not-a-mapping", lambda t: "- just\n- a list\n", "", 1, "YAML mapping"),
    ("bad-time", sub("time: \"01:00:00\"", "time: \"an hour\""), "models[0].resources.time",
     line_of("resources: {gpus: 1"), "pattern"),
    ("bad-arxiv", sub("arxiv: \"2503.00624\"", "arxiv: \"arXiv:2503\""), "paper.arxiv", line_of("arxiv:"), "pattern"),
    # values that used to pass validate and fail only at run time (issue 12)
    ("eval-every-zero", sub("eval_every: {value: 50", "eval_every: {value: 0"), "protocol.evaluation",
     line_of("  evaluation:"), "eval_every must be at least 1"),
    ("lora-r-zero", sub("r: {value: 8", "r: {value: 0"), "protocol.lora", line_of("  lora:"),
     "r (the LoRA rank) must be at least 1"),
    ("ci-level-5", sub("    scorer: {value: zhan2024-set-f1, source: authors-code}",
                       "    scorer: {value: zhan2024-set-f1, source: authors-code}\n    ci_level: 5"),
     "protocol.scoring", line_of("  scoring:"), "ci_level must be between 0 and 1"),
    ("unknown-scorer", sub("scorer: {value: zhan2024-set-f1", "scorer: {value: zhan2024-setf1"),
     "protocol.scoring", line_of("  scoring:"), "did you mean 'zhan2024-set-f1'"),
    ("max-new-tokens-missing-task", sub("max_new_tokens: {value: {TC: 10}", "max_new_tokens: {value: {NER: 10}"),
     "datasets[0].task", line_of("task: TC"), "max_new_tokens has no entry for task TC"),
    ("max-new-tokens-zero", sub("max_new_tokens: {value: {TC: 10}", "max_new_tokens: {value: {TC: 0}"),
     "protocol.decoding", line_of("  decoding:"), "max_new_tokens must be at least 1"),
    ("revision-trailing-newline", sub("revision: 0123456789abcdef0123456789abcdef01234567",
                                      "revision: \"0123456789abcdef0123456789abcdef01234567\\n\""),
     "models[0].revision", line_of("0123456789abcdef0123456789abcdef01234567"), "control character"),
    ("integer-of-4400-digits", sub("seed: {value: 1,", "seed: {value: " + "9" * 4400 + ","), "protocol.seed",
     line_of("seed: {value: 1"), "cannot be read"),
    ("complex-key", sub("  title: \"Minimal\"", "  title: \"Minimal\"\n  ? [a, b]\n  : c"), "paper",
     line_of("title: \"Minimal\"") + 1, "complex key"),
    ("undeclared-variable", sub("{url: \"https://example.org/TC_d1_test.json\", sha256: null}",
                                "{local: \"${SOME_DATA}/x.json\"}"),
     "datasets[0].splits.test.source.local", line_of("TC_d1_test.json"), "not a declared data location"),
    ("secret-variable", sub("{url: \"https://example.org/TC_d1_test.json\", sha256: null}",
                            "{local: \"${HF_TOKEN}/x.json\"}"),
     "datasets[0].splits.test.source.local", line_of("TC_d1_test.json"), "looks like a secret"),
    ("variable-mid-path", lambda t: sub("{url: \"https://example.org/TC_d1_test.json\", sha256: null}",
                                        "{local: \"./a/${MY_DATA}/x.json\"}")(DECLARE_MY_DATA(t)),
     "datasets[0].splits.test.source.local", line_of("TC_d1_test.json") + 1, "path's first part"),
    ("stray-dollar", sub("{url: \"https://example.org/TC_d1_test.json\", sha256: null}", "{local: \"./x$1.json\"}"),
     "datasets[0].splits.test.source.local", line_of("TC_d1_test.json"), "only ${VAR}/file"),
    ("url-names-no-file", sub("https://example.org/TC_d1_test.json", "https://example.org/a/.."),
     "datasets[0].splits.test.source", line_of("TC_d1_test.json"), "must name a file"),
    ("secret-data-location", sub("schema_version: 1", "schema_version: 1\ndata_locations: [{var: HF_TOKEN}]"),
     "data_locations[0].var", line_of("schema_version: 1") + 1, "looks like a secret"),
    ("system-data-location", sub("schema_version: 1", "schema_version: 1\ndata_locations: [{var: HOME}]"),
     "data_locations[0].var", line_of("schema_version: 1") + 1, "every shell sets"),
]


@pytest.mark.parametrize("case_id, mutate, field, line, words", CASES, ids=[c[0] for c in CASES])
def test_bad_manifest_is_located(tmp_path, case_id, mutate, field, line, words):
    path = tmp_path / f"{case_id}.yaml"
    path.write_text(mutate(MINIMAL))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    text = str(info.value)
    assert words in text, text
    matching = [p for p in info.value.problems if p.field.startswith(field) and words in str(p)] or \
               [p for p in info.value.problems if words in str(p)]
    assert matching, text
    problem = matching[0]
    assert problem.file == str(path)
    assert problem.field.startswith(field), (problem.field, field)
    if line is not None:
        assert problem.line == line, (problem, line)
    assert problem.column is None or problem.column >= 1


def test_corpus_is_large_enough():
    assert len(CASES) >= 20


def test_every_problem_is_reported_at_once(tmp_path):
    text = sub("learning_rate:", "learning_rat:")(sub("0123456789abcdef0123456789abcdef01234567", "0123")(MINIMAL))
    text = sub("  - key: m2", "  - key: m1")(text)
    path = tmp_path / "many.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    fields = {p.field for p in info.value.problems}
    assert "models[0].revision" in fields and "protocol.training.learning_rat" in fields


def test_alias_bomb_is_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n" + MINIMAL)
    with pytest.raises(ManifestError, match="expands to more than"):
        load_manifest(path)


def test_oversized_file_is_refused_without_parsing(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "w") as f:
        f.write(MINIMAL)
        f.write("notes: |\n")
        chunk = "  " + "x" * 1022 + "\n"
        for _ in range(50 * 1024):
            f.write(chunk)
    assert path.stat().st_size > 50_000_000
    with pytest.raises(ManifestError, match="limited to 5 MB"):
        load_manifest(path)


def test_missing_file(tmp_path):
    with pytest.raises(ManifestError, match="file not found"):
        load_manifest(tmp_path / "nope.yaml")


def test_yaml_anchors_and_merge_keys_still_work(tmp_path):
    text = MINIMAL.replace("    resources: {gpus: 1, time: \"01:00:00\"}", "    resources: &res {gpus: 1, time: \"01:00:00\"}")
    text = text.replace("    revision: 89abcdef0123456789abcdef0123456789abcdef",
                        "    revision: 89abcdef0123456789abcdef0123456789abcdef\n    resources: {<<: *res, gpus: 2}")
    path = tmp_path / "anchors.yaml"
    path.write_text(text)
    m = load_manifest(path).manifest
    assert m.models[1].resources.gpus == 2 and m.models[1].resources.time == "01:00:00"


@pytest.mark.parametrize("case_id", ["typo-key", "yaml-syntax", "duplicate-key", "short-hex-revision",
                                     "integer-of-4400-digits", "complex-key", "unknown-scorer"])
def test_cli_exit_2_and_no_traceback(tmp_path, cli, case_id):
    _, mutate, field, _, words = next(c for c in CASES if c[0] == case_id)
    path = tmp_path / "bad.yaml"
    path.write_text(mutate(MINIMAL))
    result = cli("validate", str(path))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{path}:" in result.stderr and words in result.stderr
