"""Apptainer/Singularity conversion of the built image, for HPC clusters without Docker.

`apptainer build OUT.sif docker-daemon://IMAGE` reads the image straight from the local
daemon.  Where apptainer is not installed (it is not installable on our CI machines), the
image is saved with `docker save` next to OUT, and the command to run on the cluster is
printed: `apptainer build OUT.sif docker-archive://OUT.tar`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bioeval.errors import EnvironmentProblem


def apptainer_binary() -> str | None:
    return shutil.which("apptainer") or shutil.which("singularity")


def sif_command(out: Path, image: str, *, archive: Path | None = None, binary: str = "apptainer") -> list[str]:
    """The exact conversion command: from the daemon, or from a `docker save` archive."""
    source = f"docker-archive://{Path(archive).resolve()}" if archive else f"docker-daemon://{image}"
    return [binary, "build", "--force", str(Path(out).resolve()), source]


def save_archive(client, image: str, archive: Path) -> Path:
    """`docker save IMAGE > archive` through the SDK (streamed, so a 10 GB image is fine)."""
    archive = Path(archive)
    tmp = archive.with_name(archive.name + ".part")
    with open(tmp, "wb") as f:
        for chunk in client.images.get(image).save(named=True):
            f.write(chunk)
    tmp.replace(archive)
    return archive


def convert(client, image: str, out: Path, console) -> Path:
    binary = apptainer_binary()
    if binary:
        cmd = sif_command(out, image, binary=binary)
        console.print("[bold]converting[/bold]: " + " ".join(cmd))
        proc = subprocess.run(cmd)
        if proc.returncode != 0:
            raise EnvironmentProblem(f"`{' '.join(cmd)}` failed with exit status {proc.returncode}.",
                                     "Its output is above; apptainer needs squashfs tools and space in its tmp dir.")
        return Path(out)
    archive = Path(out).with_suffix(".tar")
    save_archive(client, image, archive)
    cmd = sif_command(out, image, archive=archive)
    raise EnvironmentProblem(
        f"apptainer (or singularity) is not installed here, so {out} was not made; the image was saved "
        f"to {archive} instead.",
        f"Copy it to the cluster and run: {' '.join(cmd)}")
