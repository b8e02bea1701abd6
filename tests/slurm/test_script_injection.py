"""Generated job scripts cannot be injected: a newline in any value bound for job.sbatch or
submit.sh is refused (in a comment or #SBATCH line it would become a command), Slurm names follow
Slurm's character rules, and shell metacharacters in paths and images are quoted: real bash runs
the script (and its docker/apptainer wrapper, against a stand-in binary) and nothing injected runs."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from bioeval.errors import InputRefused, UsageError
from bioeval.manifest import cells, load_manifest
from bioeval.runs import RunDir
from bioeval.runtimes.slurm import run_cells
from bioeval.settings import Settings

from .conftest import CELL_COMMAND, manifest_text

CPU = "{gpus: 0, memory_gb: 1, time: '00:05:00'}"
INJECTED = "touch injected-marker"


def _submit(loaded, settings, command=CELL_COMMAND, **options):
    return run_cells(loaded, cells(loaded), settings, {"dry_run": True, **options}, run_command=command)


def _manifest_in(folder: Path, name="grid.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "test.json").write_text("[]")
    (folder / "model").mkdir(exist_ok=True)
    (folder / "model" / "config.json").write_text("{}")
    path = folder / name
    path.write_text(manifest_text([("m1", CPU)], 1))
    return path


@pytest.mark.parametrize("option", ["partition", "account", "image", "time"])
def test_newline_in_an_option_is_refused(make_manifest, settings, option):
    loaded = load_manifest(make_manifest())
    extra = {"container": "apptainer"} if option == "image" else {}
    with pytest.raises(UsageError, match="control character|not a Slurm|HH:MM:SS"):
        # --time: `$` of re.match also matched before a trailing newline
        _submit(loaded, settings, **extra, **{option: "12:00:00\n" if option == "time" else f"x\n{INJECTED}"})
    assert not (Path(settings.workdir) / "slurm").exists() or not list((Path(settings.workdir) / "slurm").glob("*/job.sbatch"))


@pytest.mark.parametrize("name", ["a100 b", "a100;id", "$(id)", "gpu`id`", "-x"])
def test_slurm_names_follow_slurms_rules(make_manifest, settings, name):
    loaded = load_manifest(make_manifest())
    with pytest.raises(InputRefused, match="not a Slurm partition name"):
        _submit(loaded, settings, partition=name)
    _submit(loaded, settings, partition="a100,h100-long", account="lab_1.x")  # real names pass


@pytest.mark.parametrize("where", ["workdir", "manifest", "mirror", "cache"])
def test_newline_in_a_path_is_refused(tmp_path, where):
    evil = f"x\n{INJECTED}\n"
    manifest = _manifest_in(tmp_path / (evil if where == "manifest" else "ok"))
    settings = Settings(workdir=tmp_path / (evil if where == "workdir" else "runs"),
                        data_mirror=(tmp_path / evil) if where == "mirror" else None,
                        cache_dir=tmp_path / (evil if where == "cache" else "cache"))
    if settings.data_mirror:
        settings.data_mirror.mkdir()
    with pytest.raises(InputRefused, match="control character"):
        _submit(load_manifest(manifest), settings)


def _fake_binary(folder: Path, name: str) -> Path:
    """A stand-in for docker/apptainer that records the argv it receives, one argument per line."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text('#!/bin/bash\nfor a in "$@"; do printf "%s\\n" "$a"; done > "$ARGV_OUT"\n')
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_metacharacters_in_paths_and_image_stay_literal_when_the_script_runs(tmp_path):
    marker = tmp_path / "INJECTED"
    # legal path characters a shell would act on, if they were not quoted
    weird = f"w$(touch${{IFS}}{marker})`touch${{IFS}}{marker}`;touch${{IFS}}{marker};&|"
    root = tmp_path / weird
    manifest = _manifest_in(root)
    settings = Settings(workdir=root / "runs", data_mirror=root / "mirror")
    (root / "mirror").mkdir()
    loaded = load_manifest(manifest)
    _submit(loaded, settings)
    (folder,) = (p for p in (settings.workdir / "slurm").iterdir() if p.is_dir())
    script = folder / "job.sbatch"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    env = {**os.environ, "SLURM_ARRAY_JOB_ID": "7", "SLURM_ARRAY_TASK_ID": "0"}
    proc = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert RunDir(settings.workdir, cells(loaded)[0].run_id).is_done()  # it ran, in the weird workdir
    assert not marker.exists()

    # the container wrappers: run the script's own docker/apptainer line against a stand-in binary
    image = f"img$(touch${{IFS}}{marker});x"
    for container in ("docker", "apptainer"):
        settings.workdir = root / f"runs-{container}"
        _submit(loaded, settings, command=None, container=container, image=image)
        (folder,) = (p for p in (settings.workdir / "slurm").iterdir() if p.is_dir())
        text = (folder / "job.sbatch").read_text()
        line = next(l for l in text.splitlines() if l.startswith(f"{container} "))
        bindir = _fake_binary(tmp_path / "bin", container)
        out = tmp_path / f"argv-{container}"
        wrapper = "WORKDIR=x MANIFEST=m.yaml RUN_ID=abc\n" + line.removesuffix(" &") + "\n"
        proc = subprocess.run(["bash", "-c", wrapper], env={**os.environ, "PATH": f"{bindir.parent}:{os.environ['PATH']}",
                                                             "ARGV_OUT": str(out)}, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        argv = out.read_text().splitlines()
        assert image in argv and not marker.exists()
        assert any(weird in a for a in argv)  # the bound folders arrive as literal paths


def test_the_users_opt_in_for_outside_paths_reaches_the_task(tmp_path):
    manifest = _manifest_in(tmp_path / "m")
    loaded = load_manifest(manifest)
    for allow in (False, True):
        settings = Settings(workdir=tmp_path / f"runs-{allow}", allow_outside_paths=allow)
        _submit(loaded, settings, command=None)
        (folder,) = (p for p in (settings.workdir / "slurm").iterdir() if p.is_dir())
        line = next(l for l in (folder / "job.sbatch").read_text().splitlines() if "-m bioeval" in l)
        assert ("--allow-outside-paths" in line) == allow
