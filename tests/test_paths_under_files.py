"""Issue 23, finding 11: a path under a regular file (`--workdir f/sub`, `report --out f/sub/r.md`,
`--junit f/j.xml`) is a runtime error (exit 3) with one located paragraph, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "manifests" / "smoke.yaml"


@pytest.fixture
def in_the_way(tmp_path) -> Path:
    f = tmp_path / "f"
    f.write_text("a regular file\n")
    (tmp_path / "empty").mkdir()
    return f


@pytest.mark.parametrize("args", [
    lambda f, t: ["--workdir", f"{f}/sub", "status", str(SMOKE)],
    lambda f, t: ["--workdir", f"{f}/sub", "run", str(SMOKE), "--only", "dataset=smoke-tc"],
    lambda f, t: ["report", str(SMOKE), "--results", str(t / "empty"), "--out", f"{f}/sub/r.md"],
    lambda f, t: ["verify", str(SMOKE), "--results", str(t / "empty"), "--junit", f"{f}/j.xml"],
])
def test_a_path_under_a_regular_file_is_exit_3_with_its_path(bioeval_cli, tmp_path, in_the_way, args):
    code, out, err = bioeval_cli(*args(in_the_way, tmp_path))
    assert code == 3, (out, err)
    assert str(in_the_way) in err and "regular file" in err
    assert "Traceback" not in err and "Internal error" not in err
    assert in_the_way.read_text() == "a regular file\n"
