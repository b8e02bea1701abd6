"""The CLI is a thin layer: nothing outside bioeval/cli imports it, and each command has its module."""

from __future__ import annotations

import ast
from pathlib import Path

import bioeval
from bioeval.cli import COMMAND_MODULES, main

PACKAGE = Path(bioeval.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_no_module_outside_the_cli_imports_it():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "cli" or rel.name == "__main__.py":  # the entry point runs the CLI
            continue
        if any(m == "bioeval.cli" or m.startswith("bioeval.cli.") for m in imported_modules(path)):
            offenders.append(str(rel))
    assert offenders == []


def test_every_command_lives_in_a_module_named_after_it():
    for name, command in main.commands.items():
        module = command.callback.__module__
        assert module.startswith("bioeval.cli.commands."), (name, module)
        assert module.rsplit(".", 1)[1] in COMMAND_MODULES
        assert module.rsplit(".", 1)[1] == name.removesuffix("-cell"), (name, module)


def test_every_command_that_prints_a_table_has_json():
    tables = ("validate", "plan", "fetch", "audit", "lock", "run", "reproduce", "score", "show", "verify", "compare",
              "report", "status")
    missing = [name for name in tables if "--json" not in {o for p in main.commands[name].params for o in p.opts}]
    assert missing == []
