"""The docker runtime does not take over host files: the container runs as the invoking user,
and the data cache, the HF cache and the workdir keep their owners, also when the container
fails to start.  Real dockerd (skipped without one), with a tiny image made here by
`docker import` of a rootfs holding only the host's /bin/sh and its libraries."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from bioeval.errors import EnvironmentProblem
from bioeval.manifest import cells, load_manifest
from bioeval.runtimes import docker as rt
from bioeval.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "manifests" / "smoke.yaml"
TAG = "bioeval-test-tiny:ownership"
# what the stand-in "cell" does (shell builtins only: the image has nothing but sh) with its bioeval arguments: writes where a real cell writes
ENTRY = """\
#!/bin/sh
# args: --allow-outside-paths --workdir W [--data-mirror M] run-cell MANIFEST --run-id ID
WORKDIR=$3
for a in "$@"; do RUN_ID=$a; done
: > "$WORKDIR/$RUN_ID/written-by-container"
: > "$BIOEVAL_CACHE/sha256/new-file"
: > "$HF_HOME/hub/new-file"
: > "$HOME/home-is-writable"
echo "error: stand-in cell finished"
exit 3
"""
OWNER = (4321, 4321)  # another user's files already in the caches (a shared cache)


def _library_paths(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    return [part for line in out.splitlines() for part in line.split() if part.startswith("/")]


def _tiny_rootfs() -> bytes:
    buf = io.BytesIO()
    shell = os.path.realpath("/bin/sh")
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in [shell] + _library_paths(shell):
            real = os.path.realpath(path)
            tar.add(real, arcname=path.lstrip("/"))
        tar.add(shell, arcname="bin/sh")
        for folder in ("tmp", "proc", "dev", "sys", "etc"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        entry = ENTRY.encode()
        info = tarfile.TarInfo("entry.sh")
        info.size, info.mode = len(entry), 0o755
        tar.addfile(info, io.BytesIO(entry))
    return buf.getvalue()


@pytest.fixture(scope="module")
def client():
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI")
    try:
        from bioeval.containers.build import docker_client
        c = docker_client()
    except EnvironmentProblem as exc:
        pytest.skip(f"no Docker daemon: {exc}")
    proc = subprocess.run(["docker", "import", "--change", 'ENTRYPOINT ["/bin/sh", "/entry.sh"]', "-", TAG],
                          input=_tiny_rootfs(), capture_output=True)
    assert proc.returncode == 0, proc.stderr
    yield c
    subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True)


@pytest.fixture
def setup(tmp_path):
    settings = Settings(workdir=tmp_path / "runs", cache_dir=tmp_path / "cache")
    hf = tmp_path / "hf"
    for top in (settings.cache_dir / "sha256" / "old", hf / "hub" / "old"):
        top.mkdir(parents=True)
        (top / "file").write_text("cached")
    for top in (settings.cache_dir, hf):  # the folders are the user's, some files someone else's
        for root, dirs, files in os.walk(top):
            for name in files:
                os.chown(os.path.join(root, name), *OWNER)
    loaded = load_manifest(SMOKE)
    return loaded, cells(loaded)[0], settings, hf


def _owners(*tops: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for top in tops:
        for root, dirs, files in os.walk(top):
            for name in [""] + dirs + files:
                st = os.lstat(os.path.join(root, name))
                out[os.path.join(root, name)] = (st.st_uid, st.st_gid)
    return out


@pytest.mark.docker
def test_caches_keep_their_owners_and_new_files_are_the_users(client, setup):
    loaded, cell, settings, hf = setup
    before = _owners(settings.cache_dir, hf)
    image_id = client.images.get(TAG).id
    result = rt.run_in_container(client, loaded, cell, settings, TAG, image_id, {"hf_cache": str(hf)}, None)
    assert result.state == "failed" and "stand-in cell finished" in result.message  # it ran
    after = _owners(settings.cache_dir, hf)
    assert {p: after[p] for p in before} == before  # nothing that was there changed owner
    me = (os.getuid(), os.getgid())
    new = {p: o for p, o in after.items() if p not in before}
    assert new and set(new.values()) == {me}, new  # what the container wrote is the user's
    written = Path(settings.workdir) / cell.run_id / "written-by-container"
    assert (written.stat().st_uid, written.stat().st_gid) == me


@pytest.mark.docker
def test_a_container_that_fails_to_start_changes_no_owner(client, setup, tmp_path):
    loaded, cell, settings, hf = setup
    proc = subprocess.run(["docker", "import", "--change", 'ENTRYPOINT ["/no/such/binary"]', "-", TAG + "-broken"],
                          input=_tiny_rootfs(), capture_output=True)
    assert proc.returncode == 0, proc.stderr
    try:
        before = _owners(settings.cache_dir, hf)
        image_id = client.images.get(TAG + "-broken").id
        with pytest.raises(EnvironmentProblem, match="could not start the container"):
            rt.run_in_container(client, loaded, cell, settings, TAG + "-broken", image_id, {"hf_cache": str(hf)}, None)
        assert _owners(settings.cache_dir, hf) == before
        # the container that never started is removed too: its config holds HF_TOKEN
        assert not client.containers.list(all=True, filters={"label": f"io.bioeval.run-id={cell.run_id}"})
    finally:
        subprocess.run(["docker", "rmi", "-f", TAG + "-broken"], capture_output=True)
