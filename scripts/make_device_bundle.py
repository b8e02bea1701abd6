"""Make the bundle scripts/device_check.sh needs on a GPU node without network (<= 64 MiB):

    python scripts/make_device_bundle.py OUT_DIR [--mirror ../shared/data/zhan2024] [--python 3.12]

- wheels/: bioeval's runtime packages that GPU images usually lack, at the GPU lock's versions
  (pydantic and its core, ruamel.yaml, orjson, docker, bitsandbytes), for CPython on
  manylinux x86_64; bitsandbytes is trimmed to its CUDA 13.0 and CPU libraries (the full wheel
  holds every CUDA and ROCm build, 125 MB);
- data/: the lab's PHEE files the miniature's check cell reads (sha256-checked there as anywhere).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pydantic", "pydantic-core", "annotated-types", "typing-inspection", "ruamel-yaml", "orjson", "docker",
            "bitsandbytes")
DATA = ("EE_phee_train.json", "EE_phee_dev.json", "EE_phee_test.json")
KEEP_LIBRARY = re.compile(r"libbitsandbytes_(cpu|cuda130)\.so$")
LIMIT_MB = 64


def pinned(lock: Path, names) -> list[str]:
    text = lock.read_text()
    out = []
    for name in names:
        m = re.search(rf"^({re.escape(name)}==\S+) \\$", text, flags=re.M | re.I)
        if not m:
            sys.exit(f"{name} is not pinned in {lock}")
        out.append(m.group(1))
    return out


def trim_wheel(wheel: Path) -> Path:
    """The wheel without the native libraries a CUDA 13 node does not load (RECORD lists what is kept)."""
    trimmed = wheel.with_name(wheel.name + ".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(trimmed, "w", zipfile.ZIP_DEFLATED) as dst:
        dropped = {i.filename for i in src.infolist() if i.filename.endswith(".so") and "libbitsandbytes_" in i.filename
                   and not KEEP_LIBRARY.search(i.filename)}
        for info in src.infolist():
            if info.filename in dropped:
                continue
            data = src.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                data = b"".join(line + b"\n" for line in data.splitlines() if line.split(b",")[0].decode() not in dropped)
            dst.writestr(info, data)
    trimmed.replace(wheel)
    return wheel


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "data" / "zhan2024")
    ap.add_argument("--python", default="3.12", help="the GPU node's Python (wheels are per version)")
    a = ap.parse_args(argv)
    wheels, data = a.out / "wheels", a.out / "data"
    wheels.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    plats = [f"--platform=manylinux_2_{n}_x86_64" for n in (17, 24, 27, 28, 34)] + ["--platform=manylinux2014_x86_64"]
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                    f"--python-version={a.python}", "--implementation=cp", *plats, "-d", str(wheels),
                    *pinned(REPO / "containers" / "requirements-gpu.lock", PACKAGES)], check=True)
    for wheel in wheels.glob("bitsandbytes-*.whl"):
        trim_wheel(wheel)
    for name in DATA:
        shutil.copyfile(a.mirror / name, data / name)
    size = sum(p.stat().st_size for p in a.out.rglob("*") if p.is_file()) / 2**20
    print(f"{a.out}: {size:.1f} MiB")
    if size > LIMIT_MB:
        sys.exit(f"the bundle is {size:.1f} MiB, over {LIMIT_MB} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
