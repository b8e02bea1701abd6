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
