"""The CI integration script end to end: the smoke manifest as a job array on a real cluster,
verify, scancel one task of a second submission, --retry-failed reruns only that cell."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def test_slurm_integration_script(slurm_cluster):
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO), "SLURM_CONF": slurm_cluster}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "slurm_integration.sh")], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "== slurm_integration: passed." in proc.stdout
