"""Nothing outside bioeval/runs/ spells a run file's name: every reader goes through
runs/read.py (RunFolder) and every writer through runs/rundir.py (RunDir)."""

from __future__ import annotations

import ast
from pathlib import Path

from bioeval.runs import names

PACKAGE = Path(__file__).resolve().parents[1] / "bioeval"


def literals(tree: ast.AST) -> list[ast.Constant]:
    """String constants equal to a run file's name; the text parts of an f-string
    (f".{sha}.lock") are pieces of a longer name, not a name."""
    pieces = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    return [n for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and n.value in names.ALL and id(n) not in pieces]


def spelled(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}" for node in literals(tree)]


def test_no_module_outside_runs_spells_a_run_file_name():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) if "runs" not in path.relative_to(PACKAGE).parts[:1]
             for hit in spelled(path)]
    assert not found, "use RunFolder / RunDir (bioeval/runs) instead of spelling:\n" + "\n".join(found)


def test_the_scan_sees_a_name_also_inside_an_f_string():
    tree = ast.parse('p = run / "spec.json"\nq = f"{run / \'log.txt\'}"\nr = f".{sha}.lock"\n')
    assert sorted(n.value for n in literals(tree)) == ["log.txt", "spec.json"]
