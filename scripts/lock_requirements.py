"""Regenerate the hash locks in containers/ from pyproject.toml (pip-tools' pip-compile).

    pip install pip-tools==7.6.2            # once, anywhere: the script runs its pip-compile
    python scripts/lock_requirements.py [--upgrade] [--gpu] [--pip-compile PATH]

Writes, on linux x86_64 with Python 3.11 (the images' platform):
- containers/requirements-cpu.lock      the CPU image's packages (torch 2.13.0+cpu)
- containers/requirements-cpu-dev.lock  the same pins plus the dev/test tools (pyproject's
                                        `dev` extra): what `make install` installs
- containers/requirements-gpu.lock      with --gpu (PyPI's CUDA torch; takes minutes)

Without --upgrade pip-compile keeps every pin already in a lock and only adds or drops what
pyproject.toml's dependencies changed; the dev lock is compiled under the CPU lock's pins as
constraints, so a local install never differs from the image in a package both have.
torch 2.13.0+cpu is not on PyPI: pip finds it in a find-links folder (PIP_FIND_LINKS; pip's
config files are ignored here, see main()) or at https://download.pytorch.org/whl/cpu (pass
`--extra-index-url https://download.pytorch.org/whl/cpu` after `--`); the lock holds its
hash either way, without the index.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONTAINERS = REPO / "containers"
COMMON = ["--generate-hashes", "--allow-unsafe", "--strip-extras", "--no-header", "--no-emit-index-url",
          "--no-emit-find-links", "--quiet"]


def pins(lock: Path) -> list[str]:
    """`name==version` lines of a hash lock (its hashes dropped: a constraint file needs none)."""
    return [m.group(1) for m in re.finditer(r"^([A-Za-z0-9_.\-]+==[^\s\\]+)", lock.read_text(), re.M)]


def compile_lock(pip_compile: str, out: str, args: list[str], extra_pip: list[str], env: dict) -> None:
    cmd = [pip_compile, "../pyproject.toml", *args, *COMMON, "-o", out, *[f"--pip-args={a}" for a in extra_pip]]
    print("+ (cd containers &&", " ".join(cmd) + ")", flush=True)
    subprocess.run(cmd, cwd=CONTAINERS, env=env, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upgrade", action="store_true", help="newest versions the pyproject ranges admit")
    ap.add_argument("--gpu", action="store_true", help="also the GPU lock (PyPI's CUDA torch)")
    ap.add_argument("--pip-compile", default=shutil.which("pip-compile"), help="pip-tools' pip-compile")
    ap.add_argument("pip_args", nargs="*", help="after --: extra pip arguments (e.g. an index for torch+cpu)")
    a = ap.parse_args()
    if not a.pip_compile:
        sys.exit("pip-compile not found: `pip install pip-tools==7.6.2` (any venv), or pass --pip-compile PATH.")
    # The locks come from PyPI (whose JSON API gives every file's hash without downloading it) plus
    # find-links for torch+cpu: a machine's pip config (extra local indexes, a global constraint)
    # must not leak into them, and local index files would each be downloaded to be hashed.
    # build-constraints.txt: an sdist's setup_requires (seqeval's setuptools_scm) is fetched by a pip
    # subprocess that reads PIP_CONSTRAINT; setuptools_scm 10 breaks that path
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_CONSTRAINT": str(CONTAINERS / "build-constraints.txt")}
    up = ["--upgrade"] if a.upgrade else []
    compile_lock(a.pip_compile, "requirements-cpu.lock", ["-c", "torch-cpu.txt", *up], a.pip_args, env)
    with tempfile.TemporaryDirectory() as tmp:
        cons = Path(tmp) / "cpu-pins.txt"
        cons.write_text("\n".join(pins(CONTAINERS / "requirements-cpu.lock")) + "\n")
        dev = CONTAINERS / "requirements-cpu-dev.lock"
        if a.upgrade:
            dev.unlink(missing_ok=True)
        if not dev.exists():  # start from the CPU lock: pip-compile reuses its pins and hashes
            shutil.copyfile(CONTAINERS / "requirements-cpu.lock", dev)
        compile_lock(a.pip_compile, dev.name, ["--extra", "dev", "-c", "torch-cpu.txt", "-c", str(cons)],
                     a.pip_args, env)
        # the temporary constraint file's path is noise in the lock's comments
        dev.write_text(dev.read_text().replace(f"-c {cons}", "-c requirements-cpu.lock"))
    if a.gpu:
        gpu_env = {k: v for k, v in env.items() if k != "PIP_FIND_LINKS"}
        compile_lock(a.pip_compile, "requirements-gpu.lock", ["-c", "torch-cuda.txt", *up], a.pip_args, gpu_env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
