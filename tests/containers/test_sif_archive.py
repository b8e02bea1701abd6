"""`--sif` where Apptainer is missing (as here): the image is saved with `docker save` and the
exact `apptainer build` command for the cluster is given.  Uses a tiny image made on the spot."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from bioeval.errors import EnvironmentProblem


@pytest.fixture
def tiny_image():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no daemon here
        pytest.skip(f"no Docker daemon reachable: {exc}")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"hello\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    tag = "bioeval-test-tiny:sif"
    client.api.import_image_from_data(buf.getvalue(), repository="bioeval-test-tiny", tag="sif")
    yield client, tag
    client.images.remove(tag, force=True)


@pytest.mark.docker
def test_without_apptainer_saves_archive_and_names_the_command(tiny_image, tmp_path, monkeypatch):
    from rich.console import Console

    from bioeval.containers import sif

    client, tag = tiny_image
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no apptainer, no singularity
    assert sif.apptainer_binary() is None
    out = tmp_path / "bioeval.sif"
    with pytest.raises(EnvironmentProblem) as err:
        sif.convert(client, tag, out, Console(file=io.StringIO()))
    archive = tmp_path / "bioeval.tar"
    assert f"apptainer build --force {out} docker-archive://{archive}" in str(err.value)
    assert not out.exists()
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == [tag]
