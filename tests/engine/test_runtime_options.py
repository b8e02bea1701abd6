"""Each runtime declares its options in one table: an unknown option is an error under every
runtime (the local runtime used to ignore Slurm's), with a hint, and values get their types."""

from __future__ import annotations

import pytest

from bioeval.errors import UsageError
from bioeval.runtimes.options import RUNTIME_OPTIONS, check_options


@pytest.mark.parametrize("runtime", sorted(RUNTIME_OPTIONS))
def test_unknown_option_is_refused_under_every_runtime(runtime):
    with pytest.raises(UsageError, match=f"unknown option\\(s\\) for --runtime {runtime}: --colour"):
        check_options(runtime, {"force": False, "colour": "red"})


def test_an_option_of_another_runtime_says_so():
    with pytest.raises(UsageError, match=r"--partition \(an option of --runtime slurm\)"):
        check_options("local", {"partition": "a100"})
    with pytest.raises(UsageError, match=r"--partiton \(did you mean --partition\?\)"):
        check_options("slurm", {"partiton": "a100"})


def test_values_get_their_declared_types():
    opts = check_options("slurm", {"array_parallelism": "4", "dry_run": True, "no_wait": "yes", "partition": "p"})
    assert opts == {"array_parallelism": 4, "dry_run": True, "no_wait": True, "partition": "p"}
    assert check_options("docker", {"gpus": "2"})["gpus"] == 2
    with pytest.raises(UsageError, match="whole number"):
        check_options("docker", {"gpus": "two"})
    with pytest.raises(UsageError, match="needs a value"):
        check_options("docker", {"image": True})


def test_cli_local_run_refuses_a_slurm_option(cli):
    proc = cli("run", "manifests/smoke.yaml", "--partition", "a100")
    assert proc.returncode == 2, proc.stderr
    assert "unknown option(s) for --runtime local: --partition (an option of --runtime slurm)" in proc.stderr
    assert "Traceback" not in proc.stderr
