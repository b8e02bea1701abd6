"""No function in bioeval/ is longer than MAX_LINES: a longer one is split into named helpers."""

from __future__ import annotations

import ast
from pathlib import Path

import bioeval

PACKAGE = Path(bioeval.__file__).parent
MAX_LINES = 60  # def line to last line, docstring included, decorators not


def long_functions(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """'file:line name (N lines)' for each function (methods and nested ones too) over MAX_LINES."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    rel = path.relative_to(root).as_posix()
    return [f"{rel}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_LINES]


def test_the_check_sees_the_package():
    assert (PACKAGE / "__init__.py").is_file() and len(list(PACKAGE.rglob("*.py"))) > 10


def test_the_count_starts_at_def_and_includes_the_docstring(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES - 3))
    source = (f"@staticmethod\ndef fits():\n    \"\"\"Doc.\"\"\"\n{body}    return 0\n\n\n"
              f"class A:\n    def over(self):\n        \"\"\"Doc.\"\"\"\n{body.replace('    ', '        ')}"
              "        x = 1\n        return x\n")
    (tmp_path / "m.py").write_text(source)
    line = source.splitlines().index("    def over(self):") + 1
    # fits: exactly MAX_LINES from its def (the decorator above it not counted); over: one more
    assert long_functions(tmp_path / "m.py", tmp_path) == [f"m.py:{line} over ({MAX_LINES + 1} lines)"]


def test_no_function_is_longer_than_the_limit():
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in long_functions(path)]
    assert offenders == [], f"functions over {MAX_LINES} lines (split them into helpers):\n" + "\n".join(offenders)
