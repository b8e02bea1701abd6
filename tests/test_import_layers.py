"""The stage order is true: no module imports a higher layer than its own (the table in
docs/architecture.md, "Import layers"), and every error class lives in errors.py."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bioeval

PACKAGE = Path(bioeval.__file__).parent
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"


def layers() -> dict[str, int]:
    """{package or top-level module: layer} from the table under "## Import layers"."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("## Import layers", 1)[1].split("\n## ", 1)[0]
    out = {}
    for level, names in re.findall(r"^\| (\d+) \| ([^|]+) \|", section, flags=re.M):
        for name in re.findall(r"`([\w]+)`", names):
            out[name] = int(level)
    return out


def unit_of(path: Path) -> str:
    """The layer unit a file belongs to: its package under bioeval/, or the top-level module's name."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def runtime_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, bioeval module) of every import that can run: module level or inside functions,
    not under ``if TYPE_CHECKING:`` (read by type checkers only)."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "bioeval" else [f"bioeval.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return sorted((line, name) for line, name in found if name.startswith("bioeval."))


def test_the_layer_table_places_every_package_and_module():
    placed = layers()
    units = {unit_of(p) for p in PACKAGE.rglob("*.py")}
    assert units - placed.keys() == set(), "add these to the Import layers table in docs/architecture.md"
    assert placed.keys() - units == set(), "the table names packages that do not exist"


def test_no_module_imports_a_higher_layer():
    placed = layers()
    climbing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = unit_of(path)
        for line, module in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            there = module.split(".")[1]
            if there in placed and placed[there] > placed[here]:
                climbing.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {here} (layer {placed[here]}) "
                                f"imports {module} (layer {placed[there]})")
    assert climbing == []


def test_the_check_sees_function_local_imports_and_skips_type_checking_ones():
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "if TYPE_CHECKING:\n    from bioeval.cli import main\n"
                     "def f():\n    from bioeval.report.html import write_html\n"
                     "    import bioeval.verify.gate\n"
                     "from bioeval import errors\n")
    assert runtime_imports(tree) == [(5, "bioeval.report.html"), (6, "bioeval.verify.gate"), (7, "bioeval.errors")]


def test_every_error_class_lives_in_errors_py():
    """An exception class anywhere else is a second home for errors; a private signal caught in
    the module that raises it (a leading underscore) may stay there, and warnings are not errors."""
    elsewhere = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if bases & ERROR_BASES or any(b.endswith(("Error", "Exception")) for b in bases):
                    elsewhere.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.name}")
    assert elsewhere == []


def _error_bases() -> set[str]:
    """Every exception class errors.py defines, plus the builtin ones a module might subclass (not warnings)."""
    import builtins

    from bioeval import errors

    def errors_in(namespace) -> set[str]:
        return {name for name, value in vars(namespace).items() if isinstance(value, type)
                and issubclass(value, BaseException) and not issubclass(value, Warning)}

    return errors_in(errors) | errors_in(builtins)


ERROR_BASES = _error_bases()
