"""A column of strings that scorers read either as Python strings or as UTF-8 bytes end to end.

Re-scoring a million predictions, a vectorised scorer (ner-entity-f1) wants one byte buffer and
the offsets of each string, which an Arrow string array already is; scorers that work string by
string want a list.  ``Texts`` holds whichever it was made from and builds the other on demand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Texts(Sequence):
    def __init__(self, strings: list[str] | None = None, arrow=None):
        self._strings, self._arrow = strings, arrow

    @classmethod
    def of(cls, column) -> "Texts":
        return column if isinstance(column, Texts) else cls(list(column))

    @property
    def strings(self) -> list[str]:
        if self._strings is None:
            self._strings = self._arrow.to_pylist()
        return self._strings

    def __len__(self) -> int:
        return len(self._strings) if self._strings is not None else len(self._arrow)

    def __getitem__(self, i: int) -> str:
        return self.strings[i]

    def __iter__(self):
        return iter(self.strings)

    def slice(self, lo: int, hi: int) -> "Texts":
        if self._arrow is not None:
            return Texts(arrow=self._arrow.slice(lo, hi - lo))
        return Texts(self._strings[lo:hi])

    def take(self, rows: np.ndarray) -> "Texts":
        if self._arrow is not None:
            return Texts(arrow=self._arrow.take(rows))
        return Texts([self._strings[i] for i in rows.tolist()])

    def utf8(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bytes, starts, ends): every string's UTF-8 bytes end to end (uint8), and where each is."""
        if self._arrow is not None:
            arr = self._arrow
            width = np.int64 if arr.type.id == _large_string_id() else np.int32
            _, offsets, data = arr.buffers()
            offsets = np.frombuffer(offsets, dtype=width)[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
            if data is None or len(offsets) < 2:
                return _EMPTY, offsets[:-1], offsets[1:]
            lo, hi = int(offsets[0]), int(offsets[-1])  # a slice's own bytes only
            offsets -= lo
            return np.frombuffer(data, dtype=np.uint8)[lo:hi], offsets[:-1], offsets[1:]
        strings = self._strings
        joined = "".join(strings)
        if joined.isascii():
            data = joined.encode("ascii")
            sizes = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
        else:  # sizes in bytes; lone surrogates (json allows them) stay bytes no fast path accepts
            encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
            data = b"".join(encoded)
            sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        ends = np.cumsum(sizes)
        return np.frombuffer(data, dtype=np.uint8), ends - sizes, ends


_EMPTY = np.zeros(0, dtype=np.uint8)


def _large_string_id() -> int:
    import pyarrow as pa

    return pa.large_string().id
