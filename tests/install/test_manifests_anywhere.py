"""Issue 23, finding 13: the shipped manifests read their shipped data wherever bioeval is
installed: from a second clone, and with bioeval `pip install`ed (not editable) into another venv.
The rule for which folders a manifest may read depends on where the manifest is, never on where
the package lives (docs/data.md, "Which folders a manifest may read")."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _second_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    for part in ("manifests", "assets"):
        shutil.copytree(REPO / part, clone / part, ignore=shutil.ignore_patterns("*.py", "tiny-llama"))
    return clone


def _run(python: str, clone: Path, *args: str, pythonpath: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([python, "-m", "bioeval", *args], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=300)


def _smoke_commands(python: str, clone: Path, pythonpath: str | None) -> None:
    for args in (["validate", "manifests/smoke.yaml"], ["plan", "manifests/smoke.yaml"],
                 ["fetch", "--data-only", "manifests/smoke.yaml"]):
        proc = _run(python, clone, *args, pythonpath=pythonpath)
        assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
        assert "outside the manifest's folder" not in proc.stderr


def test_a_second_clone_reads_its_own_assets(tmp_path):
    """bioeval imported from this checkout, the manifest and data from another folder."""
    _smoke_commands(sys.executable, _second_clone(tmp_path), pythonpath=str(REPO))


def test_an_assets_folder_without_the_marker_stays_out_of_reach(tmp_path):
    clone = _second_clone(tmp_path)
    (clone / "assets" / ".bioeval-assets").unlink()
    proc = _run(sys.executable, clone, "fetch", "--data-only", "manifests/smoke.yaml", pythonpath=str(REPO))
    assert proc.returncode == 2 and "outside the manifest's folder" in proc.stderr, proc.stderr[-2000:]


@pytest.mark.slow
def test_a_pip_installed_bioeval_in_another_venv_runs_a_clones_manifests(tmp_path):
    """`pip install` (not editable) into a fresh venv; its dependencies are this venv's, through a .pth."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    src = tmp_path / "src"  # a copy: a build must not leave build/ or *.egg-info in the checkout
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "tests", "__pycache__", "*.egg-info",
                                                            "build", "bioeval-runs", ".hypothesis", "assets"))
    # the wheel is built with this venv's setuptools (a fresh venv's own is too old for pyproject.toml)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, timeout=300, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("bioeval-*.whl")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=300, capture_output=True)
    where = subprocess.run([python, "-c", "import bioeval; print(bioeval.__file__)"], capture_output=True, text=True,
                           cwd=tmp_path, check=True).stdout
    assert where.startswith(site), where  # the installed copy, not this checkout
    _smoke_commands(python, _second_clone(tmp_path), pythonpath=None)
