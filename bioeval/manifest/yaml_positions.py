"""Read YAML with `yaml.safe_load` semantics while remembering where every value came from.

PyYAML's composer gives us nodes with marks; we build plain Python objects from them and
record ``path -> (line, column)`` so a schema error can name ``file:line:column``.  We also
refuse what safe_load silently accepts but a manifest must not contain: duplicate keys,
runaway alias expansion ("billion laughs") and oversized files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bioeval.errors import ManifestError, Problem

MAX_BYTES = 5 * 1024 * 1024  # the paper manifest is ~60 kB; anything near this is a mistake
MAX_NODES = 200_000  # counts nodes after alias expansion
MAX_DEPTH = 100  # a manifest nests ~8 levels; the C composer recurses once per level and can overflow the stack
_OPEN = (yaml.BlockMappingStartToken, yaml.BlockSequenceStartToken, yaml.FlowMappingStartToken,
         yaml.FlowSequenceStartToken)
_CLOSE = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_scalar_constructor = yaml.SafeLoader(b"")  # only used to turn scalar nodes into values

Path_ = tuple[str | int, ...]


def check_depth(text: str, name: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH before anything recursive composes it.

    The scanner is a loop over tokens (no recursion), so a 50,000-deep `[[[...]]]` is caught here
    whatever stack the process has; YAML syntax errors propagate as yaml.MarkedYAMLError."""
    depth = 0
    for token in yaml.scan(text, Loader=Loader):
        if isinstance(token, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                mark = token.start_mark
                raise ManifestError([Problem(
                    name, mark.line + 1, mark.column + 1, "",
                    f"the document nests more than {MAX_DEPTH} levels deep; a manifest needs about 8. "
                    "Remove the nested brackets or indentation there.")])
        elif isinstance(token, _CLOSE):
            depth -= 1


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.nodes = 0

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooBig(node)
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        try:
            return _scalar_constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.constructor.ConstructorError) as exc:
            # e.g. an integer of more than 4,300 digits (Python's int/str conversion limit)
            why = str(exc).split(";")[0] if len(str(exc)) < 200 else type(exc).__name__
            self.problems.append(Problem(self.file, node.start_mark.line + 1, node.start_mark.column + 1,
                                         _dotted(path), f"this value cannot be read ({why}); write a shorter "
                                         "number, or quote it to make it text."))
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        out: dict = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for src in sources:
                    value = self.build(src, path)
                    if isinstance(value, dict):
                        merged.update({k: v for k, v in value.items() if k not in merged})
                continue
            if not isinstance(key_node, yaml.ScalarNode):  # `? [a, b]` or `? {a: 1}`: a complex key
                self.problems.append(Problem(
                    self.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1, _dotted(path),
                    "a key here is a list or mapping (complex key `? ...`); keys must be plain names."))
                continue
            key = self._scalar(key_node, path)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                key = str(key)
            if key in out:
                line = key_node.start_mark.line + 1
                first = self.positions.get(path + (key,), (None, None))[0]
                self.problems.append(Problem(
                    self.file, line, key_node.start_mark.column + 1, _dotted(path + (key,)),
                    f"duplicate key {key!r} (first defined on line {first}); remove one of them."))
                continue
            # a key's position is where its key is written, not where its (block) value starts
            mark = key_node.start_mark
            self.positions.setdefault(path + (key,), (mark.line + 1, mark.column + 1))
            out[key] = self.build(value_node, path + (key,))
        for key, value in merged.items():
            out.setdefault(key, value)
        return out


class _TooBig(Exception):
    def __init__(self, node):
        self.node = node


def _dotted(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_yaml(path: str | Path) -> tuple[Any, dict[Path_, tuple[int, int]], list[Problem]]:
    """Return ``(data, positions, problems)``; raise ManifestError when the file cannot be read.

    Duplicate keys are returned as problems (the first value is kept) so the caller can report
    them together with schema problems.
    """
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ManifestError([Problem(name, None, None, "", "file not found; check the path.")]) from None
    except OSError as exc:
        raise ManifestError([Problem(name, None, None, "", f"cannot read file ({exc.strerror}).")]) from None
    if size > MAX_BYTES:
        raise ManifestError([Problem(
            name, None, None, "",
            f"file is {size / 1e6:.1f} MB; manifests are limited to {MAX_BYTES // (1024 * 1024)} MB. "
            "Keep data out of the manifest and point at it with a source instead.")])
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError([Problem(name, None, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start}).")]) from None
    builder = _Builder(name)
    try:
        check_depth(text, name)
        node = yaml.compose(text, Loader=Loader)
        data = {} if node is None else builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise ManifestError([Problem(name, line, col, "", message + "; fix the indentation or quoting there.")]) from None
    except yaml.YAMLError as exc:
        raise ManifestError([Problem(name, None, None, "", f"YAML error: {exc}")]) from None
    except _TooBig as exc:
        mark = exc.node.start_mark
        raise ManifestError([Problem(
            name, mark.line + 1, mark.column + 1, "",
            f"the document expands to more than {MAX_NODES:,} values (alias/anchor expansion?); "
            "a manifest never needs that many.")]) from None
    except RecursionError:
        raise ManifestError([Problem(name, None, None, "", "the document nests too deeply (recursive aliases?).")]) from None
    return data, builder.positions, builder.problems


def locate(positions: dict[Path_, tuple[int, int]], path: Path_) -> tuple[int | None, int | None]:
    """Position of ``path`` or of its closest ancestor that exists in the file."""
    path = tuple(path)
    while path:
        if path in positions:
            return positions[path]
        path = path[:-1]
    return positions.get((), (None, None))


dotted = _dotted
