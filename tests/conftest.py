"""Shared test fixtures: tests never touch the real home, cache or workdir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MIRROR = SHARED / "data" / "zhan2024"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Point every bioeval directory at a temp dir (the llm/simonw pattern)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("BIOEVAL_CACHE", str(home / "cache"))
    monkeypatch.setenv("BIOEVAL_WORKDIR", str(home / "runs"))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("BIOEVAL_DATA_MIRROR", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def mirror() -> Path:
    if not MIRROR.is_dir():
        pytest.skip(f"the lab's data mirror {MIRROR} is not present")
    return MIRROR


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 300,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run `python -m bioeval ...` in a real subprocess (exit codes, stderr, imports as a user sees them)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bioeval", *args], cwd=cwd or REPO, env=full_env,
                          capture_output=True, text=True, timeout=timeout, input=input)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def bioeval_cli(capsys):
    """`bioeval ARGS` in this process (as the console entry point: exit codes, one-paragraph errors).

    Returns (exit code, stdout, stderr); faster than a subprocess where imports are not under test."""
    from bioeval.cli import run

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            run(list(map(str, args)))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        else:
            code = 0
        out, err = capsys.readouterr()
        return code, out, err

    return call
