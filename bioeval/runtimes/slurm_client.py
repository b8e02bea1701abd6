"""Thin wrappers around the Slurm commands (sbatch, squeue, sacct, scontrol, scancel).

Each returns plain Python values; parsing lives in small functions so it can be read and
tested on its own.  Nothing here knows about manifests or cells.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess

from bioeval.errors import EnvironmentProblem, UsageError

DEFAULT_MAX_ARRAY_SIZE = 1001  # Slurm's built-in default

# squeue/sacct state names -> ours
QUEUED = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUSPENDED"}
ACTIVE = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
CANCELLED = {"CANCELLED", "PREEMPTED", "DEADLINE", "REVOKED"}
FAILED = {"FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "SPECIAL_EXIT"}


def have_slurm() -> bool:
    return shutil.which("sbatch") is not None and shutil.which("squeue") is not None


def _run(argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def parse_config(text: str) -> dict[str, str]:
    """`scontrol show config` -> {key: value}."""
    config: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            config[key.strip()] = value.strip()
    return config


def show_config() -> dict[str, str] | None:
    """The controller's configuration, or None when Slurm is not installed or not reachable."""
    if shutil.which("scontrol") is None:
        return None
    try:
        proc = _run(["scontrol", "show", "config"])
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_config(proc.stdout) if proc.returncode == 0 else None


def max_array_size(config: dict[str, str] | None) -> int:
    try:
        return int((config or {}).get("MaxArraySize", DEFAULT_MAX_ARRAY_SIZE))
    except ValueError:
        return DEFAULT_MAX_ARRAY_SIZE


def accounting_enabled(config: dict[str, str] | None) -> bool:
    kind = (config or {}).get("AccountingStorageType", "accounting_storage/none")
    return shutil.which("sacct") is not None and kind not in ("", "(null)", "accounting_storage/none")


def sbatch(options: list[str], script: str, script_args: list[str]) -> str:
    """Submit; return the job id.  A rejected submission is the user's to fix (partition, account...)."""
    if shutil.which("sbatch") is None:
        raise EnvironmentProblem("sbatch is not on PATH: this machine is not a Slurm submit host.",
                                 "Run on a login node of your cluster, or use --dry-run to write the "
                                 "scripts and submit them by hand (see submit.sh beside them).")
    proc = _run(["sbatch", "--parsable", *options, script, *script_args], timeout=120)
    if proc.returncode != 0:
        raise UsageError(f"sbatch refused {script}: {proc.stderr.strip() or proc.stdout.strip()}",
                         "Check --partition, --account and --time against `sinfo` and your site's "
                         "limits; the script is kept, so you can also edit it and submit it by hand.")
    return proc.stdout.strip().split(";")[0]


def parse_squeue(text: str) -> dict[str, str]:
    """`squeue -h -r -o '%i|%T'` lines -> {"JOB_TASK": STATE}; rows without a task id are skipped."""
    states: dict[str, str] = {}
    for line in text.splitlines():
        task, sep, state = line.strip().partition("|")
        if sep and "_" in task and "[" not in task:
            states[task] = state.strip()
    return states


def squeue_states(job_ids: set[str]) -> dict[str, str] | None:
    """Queued and running array tasks of these jobs, {"JOB_TASK": STATE}; None if squeue fails.

    All of the user's jobs are listed and filtered here: `squeue -j` errors out on ids that
    have already left the queue.
    """
    if not job_ids:
        return {}
    if shutil.which("squeue") is None:
        return None
    try:
        proc = _run(["squeue", "-h", "-r", "-u", getpass.getuser(), "-o", "%i|%T"])  # --me needs Slurm >= 20.11
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return {t: s for t, s in parse_squeue(proc.stdout).items() if t.split("_")[0] in job_ids}


def parse_sacct(text: str) -> dict[str, str]:
    """`sacct -n -P -X -o JobID,State` lines -> {"JOB_TASK": STATE} ("CANCELLED by 0" -> CANCELLED)."""
    states: dict[str, str] = {}
    for line in text.splitlines():
        task, sep, state = line.strip().partition("|")
        if sep and "_" in task and "[" not in task:
            states[task] = state.split()[0] if state.strip() else ""
    return states


def sacct_states(job_ids: set[str]) -> dict[str, str] | None:
    """Final states of array tasks from accounting; None when accounting is off or fails."""
    if not job_ids:
        return {}
    try:
        proc = _run(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ",".join(sorted(job_ids))])
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_sacct(proc.stdout) if proc.returncode == 0 else None


def scancel(target: str) -> None:
    proc = _run(["scancel", target])
    if proc.returncode != 0:
        raise EnvironmentProblem(f"scancel {target} failed: {proc.stderr.strip()}")
