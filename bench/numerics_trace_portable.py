"""The lab's per-operation numerics trace (../shared/tools/numerics_trace.py) with the
deterministic mode's portable kernels installed (engine/portable_math.py), for the cross-vendor
check of issue 22:

    python bench/numerics_trace_portable.py --out /tmp/trace-mine.jsonl
    python ../shared/tools/numerics_trace.py --compare /tmp/trace-mine.jsonl bench/numerics/trace-amd-epyc-avx512-portable.jsonl

The shipped trace was made so on a 2-core AMD EPYC with AVX-512 (torch 2.13.0+cpu, glibc 2.36);
on a CPU of another vendor the comparison should say "all traced operations agree", and if not
it names the first operation that computes differently with identical inputs.  (The lab's
Intel trace, ../shared/numerics/trace-intel-avx512.jsonl, was made without the portable
kernels, so it differs from this one at the first aten.cos by construction.)
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO.parent / "shared" / "tools" / "numerics_trace.py"
ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def main() -> int:
    tool = Path(os.environ.get("NUMERICS_TRACE_TOOL", TOOL))
    if not tool.is_file():
        sys.exit(f"{tool}: the lab's trace tool is not there; set NUMERICS_TRACE_TOOL to its path.")
    os.environ.update(ENV)  # the tool sets the same before importing torch; here torch comes first
    os.chdir(REPO)  # the tool reads assets/ relative to the project's root
    sys.path.insert(0, str(REPO))
    import torch  # noqa: F401

    from bioeval.engine import portable_math

    portable_math.install()
    sys.argv = [str(tool), *sys.argv[1:]]
    try:
        runpy.run_path(str(tool), run_name="__main__")
    except SystemExit as exc:
        if exc.code:
            raise
    print(f"portable kernel calls: {portable_math.calls}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
