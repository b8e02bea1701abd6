"""Wall time of the light commands (target: at most 0.5 s each on the 2-core dev machine).

    python bench/bench_cli.py [--repeat 7]

Runs each command in a fresh interpreter (as a user would) and prints the median and the
minimum, and the bare interpreter (`python -c pass`) the issue's "3x" is measured against; for
scale it also times importing torch + transformers + peft once.  Python compiles every module
it imports unless a .pyc is cached; where PYTHONDONTWRITEBYTECODE is set (as on the dev VM,
whose pip then leaves site-packages uncompiled too) each run would pay that again, which a
user's machine does not: so the bench compiles bioeval and the venv's packages first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    ["--help"],
    ["schema"],
    ["validate", *sorted(str(p.relative_to(REPO)) for p in (REPO / "manifests").glob("*.yaml"))],
    ["plan", "manifests/deepseek_bionlp.yaml", "--json"] if (REPO / "manifests/deepseek_bionlp.yaml").exists()
    else ["plan", "manifests/smoke.yaml", "--json"],
]


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def compile_once() -> None:
    import compileall
    import sysconfig

    for folder in (REPO / "bioeval", Path(sysconfig.get_paths()["purelib"])):
        compileall.compile_dir(folder, quiet=2, workers=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    compile_once()
    bare = [timed([sys.executable, "-c", "pass"]) for _ in range(args.repeat)]
    print(f"{'command':60s} {'median s':>9s} {'min s':>7s}")
    print(f"{'(bare interpreter) python -c pass':60s} {statistics.median(bare):9.3f} {min(bare):7.3f}")
    for cmd in COMMANDS:
        argv = [sys.executable, "-m", "bioeval", *cmd]
        times = [timed(argv) for _ in range(args.repeat)]
        label = "bioeval " + " ".join(cmd)
        print(f"{label[:60]:60s} {statistics.median(times):9.3f} {min(times):7.3f}")
    heavy = timed([sys.executable, "-c", "import torch, transformers, peft"])
    print(f"{'(for scale) import torch, transformers, peft':60s} {heavy:9.3f}")


if __name__ == "__main__":
    main()
