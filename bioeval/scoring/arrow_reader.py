"""Large predictions files read by Arrow's JSON reader (C++, both cores), columns kept as Arrow.

It is only a faster way to the table ``files.read_predictions`` builds with orjson: it answers
None, and the caller reads the file the exact way (which also locates any error), unless the
file is plainly well formed:

- UTF-8 without a byte-order mark, one JSON object per line, no blank line (each line starts
  with "{" and ends with "}": an object cannot continue across such a line break, since "}"
  followed by "{" is never valid inside one), and as many rows as lines;
- ``id`` all strings or all integers, the answer column (``completion``, else ``prediction``)
  and ``reference`` strings without a missing value, ``prompt_truncated`` absent or all booleans;
- no duplicate id.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bioeval.scoring.texts import Texts

MIN_BYTES = 4 << 20  # smaller files: orjson is as fast, and importing pyarrow costs ~0.2 s


def read_columns(data: bytes) -> dict | None:
    """{"ids", "answers", "references": Texts, "truncated": list[bool]}, or None (read the exact way)."""
    if data[:1] != b"{":
        return None
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ModuleNotFoundError:
        return None
    with ThreadPoolExecutor(1) as pool:  # Arrow parses without the GIL while Python checks the lines
        parsed = pool.submit(_parse, data)
        lines = _plain_lines(data)
        table = parsed.result()
    if lines is None or table is None or table.num_rows != lines:
        return None
    names = set(table.column_names)
    answer_key = "completion" if "completion" in names else "prediction"
    if not {"id", answer_key, "reference"} <= names:
        return None
    ids, answers, references = (table.column(k).combine_chunks() for k in ("id", answer_key, "reference"))
    if not (_strings(answers) and _strings(references) and _no_nulls(ids)):
        return None
    if pa.types.is_int64(ids.type):
        ids = pc.cast(ids, pa.string())
    elif not _strings(ids):
        return None
    if len(pc.unique(ids)) != len(ids):
        return None
    truncated = [False] * len(ids)
    if "prompt_truncated" in names:
        flags = table.column("prompt_truncated").combine_chunks()
        if not (pa.types.is_boolean(flags.type) and _no_nulls(flags)):
            return None
        truncated = flags.to_numpy(zero_copy_only=False).tolist()
    return {"ids": Texts(arrow=ids), "answers": Texts(arrow=answers), "references": Texts(arrow=references),
            "truncated": truncated}


def _parse(data: bytes):
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        return pj.read_json(pa.BufferReader(data))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None


def _plain_lines(data: bytes) -> int | None:
    """How many lines, when each is one "{...}" (and the text is UTF-8); else None."""
    final = data.endswith(b"\n")
    breaks = data.count(b"\n") - final
    if data[:1] != b"{" or data[-2 if final else -1:] != (b"}\n" if final else b"}"):
        return None
    if breaks != data.count(b"}\n{"):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")  # Arrow does not check UTF-8 in strings
        except UnicodeDecodeError:
            return None
    return breaks + 1


def _strings(column) -> bool:
    import pyarrow as pa

    return (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) and _no_nulls(column)


def _no_nulls(column) -> bool:
    return column.null_count == 0 and len(column) > 0

