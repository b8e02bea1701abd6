"""Hypothesis strategies for hostile JSON/YAML values and the paths into a document (the fuzzers
of manifests and of run folders share them)."""

from __future__ import annotations

from hypothesis import strategies as st


def json_scalars(int_range: tuple[int, int], text_size: int):
    return st.one_of(st.none(), st.booleans(), st.integers(*int_range), st.floats(allow_nan=True),
                     st.text(max_size=text_size))


def json_values(int_range: tuple[int, int], text_size: int, key_size: int, leaves: int):
    return st.recursive(json_scalars(int_range, text_size), lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=key_size), children, max_size=3)),
        max_leaves=leaves)


def paths(obj, prefix=(), items: int | None = None):
    """Every path into obj (keys and list indices; the first `items` of each list when given)."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,), items)
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:items]):
            yield from paths(v, prefix + (i,), items)
