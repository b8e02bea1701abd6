"""`bioeval --help`, `validate`, `plan` and `schema` never import torch, transformers or peft."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = ("torch", "transformers", "peft", "matplotlib", "docker")

PROBE = """
import sys, io, contextlib
from bioeval.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main.main(args=sys.argv[1:], prog_name="bioeval", standalone_mode=False)
    except SystemExit:
        pass
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


@pytest.mark.parametrize("args", [
    ["--help"],
    ["validate", "manifests/smoke.yaml", "tests/manifest/minimal.yaml"],
    ["plan", "tests/manifest/minimal.yaml"],
    ["plan", "tests/manifest/minimal.yaml", "--json"],
    ["schema"],
])
def test_light_commands_do_not_import_heavy_libraries(args):
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], cwd=REPO,
                            capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY=", result.stdout[-500:]


def test_schema_is_json_schema(cli):
    result = cli("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Manifest"
    assert {"paper", "models", "datasets", "protocol", "expected", "tolerance"} <= schema["properties"].keys()


def test_plan_json_contract_and_only_filter(cli):
    result = cli("plan", "tests/manifest/minimal.yaml", "--json")
    data = json.loads(result.stdout)
    assert data["manifest"].endswith("minimal.yaml")
    assert [(r["model"], r["dataset"]) for r in data["runs"]] == [("m1", "d1"), ("m2", "d1")]
    run = data["runs"][0]
    for key in ("run_id", "model", "model_paper_name", "dataset", "dataset_paper_name", "task", "expected"):
        assert key in run
    assert run["expected"] == {"precision": 0.9, "recall": 0.9, "f1": 0.9}
    lr = next(r for r in data["protocol"] if r["field"] == "protocol.training.learning_rate")
    assert (lr["value"], lr["source"]) == (1e-5, "paper")
    only = json.loads(cli("plan", "tests/manifest/minimal.yaml", "--json", "--only", "model=m2").stdout)
    assert [r["model"] for r in only["runs"]] == ["m2"]
    bad = cli("plan", "tests/manifest/minimal.yaml", "--only", "model=m9")
    assert bad.returncode == 2 and "unknown model m9" in bad.stderr and "Traceback" not in bad.stderr


def test_validate_lists_problems_of_every_file(tmp_path, cli):
    good = REPO / "tests/manifest/minimal.yaml"
    bad1 = tmp_path / "bad1.yaml"
    bad1.write_text(good.read_text().replace("task: TC", "task: XX"))
    bad2 = tmp_path / "bad2.yaml"
    bad2.write_text(good.read_text().replace("tolerance:", "tolerence:"))
    result = cli("validate", str(good), str(bad1), str(bad2))
    assert result.returncode == 2
    assert str(bad1) in result.stderr and str(bad2) in result.stderr
