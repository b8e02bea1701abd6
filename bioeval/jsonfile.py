"""Read a JSON file a user gives (or a manifest names) within bounds: a size cap, and nesting that
Python's parser refuses with RecursionError turned into a ValueError that names the file.

Callers already treat ValueError as "not valid JSON", so a 100,000-deep or 6 GB file becomes
their located message instead of a traceback or an out-of-memory kill.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bioeval.errors import BadJson

MAX_BYTES = 64 * 1024 * 1024  # receipts, throughput and build records are kilobytes



def load_json(path: str | Path, max_bytes: int = MAX_BYTES) -> Any:
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise BadJson(f"{path} is {size:,} bytes, over the {max_bytes:,} a JSON file here may be")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BadJson(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise BadJson(f"{path}: nested too deeply to be a JSON file bioeval reads") from None
