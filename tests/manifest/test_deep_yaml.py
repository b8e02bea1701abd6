"""Issue 23, finding 8: a manifest nested 50,000 deep is refused with its line before the
(recursive, C) composer runs, so the outcome does not depend on the stack the process has."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEEP = "schema_version: 1\npaper: " + "[" * 50_000 + "]" * 50_000 + "\n"


@pytest.mark.parametrize("command", ["validate", "plan", "lock"])
def test_a_50000_deep_manifest_is_a_located_error_under_a_1_mb_stack(tmp_path, command):
    path = tmp_path / "deep.yaml"
    path.write_text(DEEP)
    script = f"ulimit -s 1024 && exec {sys.executable} -m bioeval {command} {path}"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert f"{path}:2:" in proc.stderr and "nests more than" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ordinary_nesting_is_not_refused():
    from bioeval.manifest.yaml_positions import check_depth

    check_depth("a:\n  b:\n    - {c: [1, [2, [3]]]}\n", "x.yaml")


def test_a_deep_json_file_the_user_gives_is_a_located_usage_error(bioeval_cli, tmp_path):
    """--throughput CHECK.json nested 100,000 deep: the option and file named, exit 2."""
    deep = tmp_path / "check.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = bioeval_cli("plan", str(REPO / "manifests" / "smoke.yaml"), "--costs", "--throughput", str(deep))
    assert code == 2, (out, err[-2000:])
    assert f"--throughput {deep}" in err and "nested too deeply" in err and "Traceback" not in err


def test_a_deep_reference_receipt_is_skipped_not_a_crash(tmp_path):
    from bioeval.jsonfile import BadJson, load_json

    deep = tmp_path / "r.json"
    deep.write_text("{\"a\":" * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(BadJson, match="nested too deeply"):
        load_json(deep)
    with pytest.raises(BadJson, match="over the 1,000"):
        load_json(deep, max_bytes=1000)
