"""What a Slurm submission writes: the grid, resource groups, array ranges and the sbatch script.

Pure functions from cells and options to text; nothing here runs Slurm, so every line of the
generated script can be tested (including the container variants that cannot run here).
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from bioeval.errors import InputRefused, UsageError
from bioeval.runtimes.options import check_options, flag as _flag

CONTAINERS = ("none", "apptainer", "docker")
# Slurm names (partition, account): letters, digits and _ . + -; a partition may be a comma list
SLURM_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.+-]*\Z")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# an #SBATCH value is split on whitespace and quotes by sbatch, and a newline ends the comment
SBATCH_UNSAFE = re.compile(r"[\s\"'\\\x00-\x1f\x7f]")


def script_value(value, what: str) -> str:
    """A value bound for a generated script (quoted there): refused when it holds a control
    character, since a newline in a comment or #SBATCH line would become a command."""
    text = str(value)
    if CONTROL.search(text):
        raise InputRefused(f"{what} {text!r} holds a newline or another control character; it cannot go "
                           "into a job script.", "Rename it (or choose another folder) without control characters.")
    return text


def sbatch_value(value, what: str) -> str:
    """A value for an #SBATCH line: no control characters, and nothing sbatch would split on."""
    text = script_value(value, what)
    if SBATCH_UNSAFE.search(text):
        raise InputRefused(f"{what} {text!r} holds a space, quote or backslash, which an #SBATCH line cannot "
                           "carry.", "Use a --workdir whose path has none of them.")
    return text


@dataclass(frozen=True)
class Request:
    """The resources one task of an array asks for (a model's `resources`, --time applied)."""

    gpus: int = 0
    gpu_memory_gb: int | None = None
    memory_gb: int | None = None
    time: str | None = None

    def label(self) -> str:
        """A file-name-safe summary, e.g. gpu4x80G-mem150G-24-00-00."""
        parts = [(f"gpu{self.gpus}" + (f"x{self.gpu_memory_gb}G" if self.gpu_memory_gb else "")) if self.gpus else "cpu"]
        if self.memory_gb:
            parts.append(f"mem{self.memory_gb}G")
        if self.time:
            parts.append(self.time.replace(":", "-"))
        return "-".join(parts)


@dataclass(frozen=True)
class GridRow:
    index: int
    run_id: str
    model: str
    dataset: str
    group: int


@dataclass
class Group:
    index: int
    request: Request
    models: list[str]
    rows: list[GridRow] = field(default_factory=list)
    script: str = ""  # file name inside the submission folder


@dataclass
class Array:
    """One `sbatch --array` call: `count` tasks starting at grid line `offset`."""

    group: int
    script: str
    offset: int
    count: int
    job_id: str | None = None

    def spec(self, parallelism: int | None) -> str:
        throttle = f"%{parallelism}" if parallelism else ""
        return f"0-{self.count - 1}{throttle}"


@dataclass
class Options:
    """The Slurm runtime's options (`bioeval run ... --runtime slurm --partition P ...`)."""

    partition: str | None = None
    account: str | None = None
    time: str | None = None
    array_parallelism: int | None = None
    container: str = "none"
    image: str | None = None
    dry_run: bool = False
    retry_failed: bool = False
    wait: bool = True
    fetch: bool = True  # fetch data and models on the submit host first (nodes often lack internet)

    @classmethod
    def parse(cls, options: dict) -> "Options":
        """From `bioeval run`'s pass-through options (strings, True for bare flags)."""
        options = check_options("slurm", options)  # unknown names, types (one table for every runtime)
        if options.get("force"):
            raise UsageError("--force is not supported with --runtime slurm.",
                             "Delete the cells' run dirs to rerun them from scratch, or use --retry-failed "
                             "for failed and cancelled cells.")
        out = cls()
        for key in ("partition", "account", "time", "container", "image"):
            value = options.get(key)
            if value is True:
                raise UsageError(f"--{key} needs a value.")
            if value is not None:
                setattr(out, key, str(value))
        for key in ("dry_run", "retry_failed", "wait", "fetch"):
            if options.get(key) is not None:
                setattr(out, key, _flag(key, options[key]))
        if options.get("no_wait") is not None:
            out.wait = not _flag("no_wait", options["no_wait"])
        if options.get("no_fetch") is not None:
            out.fetch = not _flag("no_fetch", options["no_fetch"])
        if options.get("array_parallelism") is not None:
            out.array_parallelism = options["array_parallelism"]
        out.check()
        return out

    def check(self) -> None:
        if self.container not in CONTAINERS:
            raise UsageError(f"--container {self.container!r}: expected one of {', '.join(CONTAINERS)}.")
        if self.container != "none" and not self.image:
            raise UsageError(f"--container {self.container} needs --image.",
                             "Give a .sif file (apptainer) or an image name (docker), e.g. "
                             "--image bioeval.sif or --image bioeval:0.1.0.")
        if self.array_parallelism is not None and self.array_parallelism < 1:
            raise UsageError(f"--array-parallelism {self.array_parallelism}: give a positive number of tasks.")
        if self.time is not None and not re.fullmatch(r"(\d+-)?\d{1,3}:\d{2}:\d{2}", self.time):
            raise UsageError(f"--time {self.time!r}: expected [D-]HH:MM:SS, e.g. 12:00:00 or 1-00:00:00.")
        for key, many in (("partition", True), ("account", False)):
            value = getattr(self, key)
            if value is None:
                continue
            names = value.split(",") if many else [value]
            if not all(SLURM_NAME.match(n) for n in names):
                raise InputRefused(f"--{key} {value!r}: not a Slurm {key} name (letters, digits, _ . + -"
                                   f"{'; several partitions comma-separated' if many else ''}).")
        if self.image is not None:
            script_value(self.image, "--image")


# ----------------------------------------------------------------------------- grid and arrays

def request_for(resources, options: Options) -> Request:
    return Request(gpus=resources.gpus, gpu_memory_gb=resources.gpu_memory_gb,
                   memory_gb=resources.memory_gb, time=options.time or resources.time)


def build_groups(cells, options: Options) -> list[Group]:
    """One group per distinct resource request, in the order models first appear; grid lines are
    numbered group by group so that each group's cells are one contiguous range."""
    groups: dict[Request, Group] = {}
    for cell in cells:
        req = request_for(cell.model.resources, options)
        group = groups.setdefault(req, Group(index=len(groups), request=req, models=[]))
        if cell.model.key not in group.models:
            group.models.append(cell.model.key)
        group.rows.append(GridRow(0, cell.run_id, cell.model.key, cell.dataset.key, group.index))
    index = 0
    for group in groups.values():
        renumbered = []
        for row in group.rows:
            renumbered.append(GridRow(index, row.run_id, row.model, row.dataset, group.index))
            index += 1
        group.rows = renumbered
        group.script = "job.sbatch" if len(groups) == 1 else f"job-{group.index + 1}-{group.request.label()}.sbatch"
    return list(groups.values())


def split_arrays(groups: list[Group], max_array_size: int) -> list[Array]:
    """Cut each group's range into arrays of at most MaxArraySize tasks (task ids 0..size-1)."""
    if max_array_size < 1:
        raise ValueError(f"MaxArraySize must be positive, got {max_array_size}")
    arrays = []
    for group in groups:
        start, count = group.rows[0].index, len(group.rows)
        for offset in range(start, start + count, max_array_size):
            arrays.append(Array(group.index, group.script, offset, min(max_array_size, start + count - offset)))
    return arrays


def grid_text(groups: list[Group]) -> str:
    lines = ["index\trun_id\tmodel\tdataset"]
    for group in groups:
        lines += [f"{r.index}\t{r.run_id}\t{r.model}\t{r.dataset}" for r in group.rows]
    return "\n".join(lines) + "\n"


def sbatch_line(array: Array, parallelism: int | None) -> str:
    return f"sbatch --array={array.spec(parallelism)} {array.script} {array.offset}"


def submit_text(submission_dir: Path, arrays: list[Array], parallelism: int | None) -> str:
    lines = ["#!/bin/bash", "# The sbatch calls of this submission (bioeval makes the same ones).",
             "# The number after each script is the grid line its array starts at.",
             "set -euo pipefail", f"cd {shlex.quote(str(submission_dir))}"]
    return "\n".join(lines + [sbatch_line(a, parallelism) for a in arrays]) + "\n"


# ----------------------------------------------------------------------------- the cell command

@dataclass
class CellCommand:
    """How a task runs its cell: `bioeval ... run-cell MANIFEST --run-id RUN_ID` (the engine's
    one-cell command, which refuses a run id the manifest no longer has), with this
    interpreter or inside a container."""

    python: str
    workdir: Path
    manifest: Path
    data_mirror: Path | None = None
    cache_dir: Path | None = None
    hf_home: Path | None = None
    binds: tuple[Path, ...] = ()
    env_names: tuple[str, ...] = ()  # declared data locations: passed into a docker container by name
    allow_outside_paths: bool = False  # the submitting user's --allow-outside-paths, passed on

    @property
    def source_root(self) -> Path:
        import bioeval

        return Path(bioeval.__file__).resolve().parent.parent

    def check(self) -> None:
        """Every path that goes into the script: no control characters (they are shlex-quoted there)."""
        for what, value in (("the python interpreter", self.python), ("the workdir", self.workdir),
                            ("the manifest path", self.manifest), ("the data mirror", self.data_mirror),
                            ("the data cache", self.cache_dir), ("the HF cache", self.hf_home),
                            *(("a bound folder", b) for b in self.binds)):
            if value is not None:
                script_value(value, what)

    def bioeval_args(self, in_container: bool = False) -> str:
        # in a container the local paths were checked on the submit host, and only binds are visible
        trusted = in_container or self.allow_outside_paths
        args = ("--allow-outside-paths " if trusted else "") + '--workdir "$WORKDIR"'
        if self.data_mirror:
            args += f" --data-mirror {shlex.quote(str(self.data_mirror))}"
        return args + ' run-cell "$MANIFEST" --run-id "$RUN_ID"'

    def render(self, options: Options, gpus: int, exported: tuple[str, ...] = ()) -> str:
        """`exported`: variables the script exports that a docker container must get too."""
        q = shlex.quote
        if options.container == "none":
            # the bioeval that submitted, also when it runs from a checkout that is not installed
            return f'PYTHONPATH={q(str(self.source_root))}${{PYTHONPATH:+:$PYTHONPATH}} "$PYTHON" -m bioeval {self.bioeval_args()}'
        paths = _outermost([self.workdir, self.manifest.parent, *self.binds,
                            *([self.data_mirror] if self.data_mirror else []),
                            *([self.cache_dir] if self.cache_dir else []),
                            *([self.hf_home] if self.hf_home else [])])
        if options.container == "apptainer":
            nv = "--nv " if gpus else ""
            binds = " ".join(f"--bind {q(str(p))}" for p in paths)
            return f"apptainer exec {nv}{binds} {q(options.image)} bioeval {self.bioeval_args(True)}"
        # docker: same paths inside as outside, the caller's uid, only the GPUs Slurm allocated
        gpu = ' --gpus "\\"device=${CUDA_VISIBLE_DEVICES}\\""' if gpus else ""
        vols = " ".join(f"-v {q(f'{p}:{p}')}" for p in paths)
        env = " -e HF_TOKEN"  # the name only: its value comes from the job's environment
        env += "".join(f" -e {q(name)}" for name in (*self.env_names, *exported))
        if self.hf_home:
            env += f" -e HF_HOME={q(str(self.hf_home))}"
        if self.cache_dir:
            env += f" -e BIOEVAL_CACHE={q(str(self.cache_dir))}"
        return (f'docker run --rm --init --user "$(id -u):$(id -g)"{gpu} {vols}{env} '
                f"--entrypoint bioeval {q(options.image)} {self.bioeval_args(True)}")


def _outermost(paths: list[Path]) -> list[Path]:
    """Deduplicate, dropping paths inside another one of the list (one bind covers them)."""
    unique = sorted({Path(p).resolve() for p in paths}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in unique:
        if not any(p == k or k in p.parents for k in kept):
            kept.append(p)
    return sorted(kept)


# ----------------------------------------------------------------------------- the sbatch script

def sbatch_script(*, submission_id: str, submission_dir: Path, group: Group, arrays: list[Array],
                  options: Options, command: CellCommand, manifest_sha256: str, max_array_size: int,
                  max_array_source: str, run_command: str | None = None,
                  numerics_env: dict[str, str] | None = None) -> str:
    """A readable, commented job-array script.  `run_command` replaces the bioeval call (bash
    text that may use $PYTHON $WORKDIR $MANIFEST $RUN_ID $MODEL $DATASET)."""
    mine = [a for a in arrays if a.group == group.index]
    directives = _directives(submission_id, submission_dir, group.request, mine, options, command)
    command.check()
    numerics_env = numerics_env or {}
    cell_command = run_command or command.render(options, group.request.gpus, tuple(numerics_env))
    header = _script_header(submission_id, submission_dir, group, mine, options, command, max_array_size,
                            max_array_source, directives)
    return (header + _script_variables(submission_dir, command, manifest_sha256, mine, numerics_env)
            + _script_task(submission_id, cell_command))


def _directives(submission_id: str, submission_dir: Path, req: Request, mine: list[Array], options: Options,
                command: CellCommand) -> list[str]:
    """The #SBATCH lines: the job's name and array, what it asks Slurm for, where it logs and runs."""
    directives = [f"#SBATCH --job-name=bioeval-{submission_id}"]
    if len(mine) == 1:  # several arrays: each sbatch call gives its own --array
        directives.append(f"#SBATCH --array={mine[0].spec(options.array_parallelism)}"
                          "            # tasks 0..N-1 = grid lines OFFSET..OFFSET+N-1; %K = at most K at once")
    options.check()  # names against Slurm's rules, no control characters (also when built directly)
    directives += _request_directives(req, options)
    directives += [
        f"#SBATCH --output={sbatch_value(submission_dir, 'the submission folder')}/logs/slurm-%A_%a.out"
        "   # only until the cell's own log opens",
        f"#SBATCH --chdir={sbatch_value(command.workdir, 'the workdir')}",
    ]
    return directives


def _request_directives(req: Request, options: Options) -> list[str]:
    """Partition, account and the resource request, each line saying where its value came from."""
    directives = []
    if options.partition:
        directives.append(f"#SBATCH --partition={options.partition}")
    if options.account:
        directives.append(f"#SBATCH --account={options.account}")
    if req.time:
        directives.append(f"#SBATCH --time={req.time}" + ("            # from --time" if options.time else
                                                          "            # the model's resources.time"))
    if req.memory_gb:
        directives.append(f"#SBATCH --mem={req.memory_gb}G                 # the model's resources.memory_gb (host memory)")
    if req.gpus:
        directives.append(f"#SBATCH --gres=gpu:{req.gpus}               # the model's resources.gpus")
    if req.gpu_memory_gb:
        directives.append(f"# Each GPU needs at least {req.gpu_memory_gb} GB of memory (resources.gpu_memory_gb): Slurm has no\n"
                          "# portable request for that, so pick a --partition (or add --constraint) with such GPUs.")
    return directives


def _container_note(options: Options, gpus: int) -> str:
    """What the header says a task runs in."""
    return {
        "none": "the Python that submitted (the same bioeval on a shared file system)",
        "apptainer": f"Apptainer image {options.image}" + (" with --nv (the node's NVIDIA driver)" if gpus else ""),
        "docker": f"Docker image {options.image}" + (" with the GPUs Slurm allocated" if gpus else ""),
    }[options.container]


def _script_header(submission_id: str, submission_dir: Path, group: Group, mine: list[Array], options: Options,
                   command: CellCommand, max_array_size: int, max_array_source: str, directives: list[str]) -> str:
    """The comment block that explains the job to a reader (and how to submit it by hand), then
    the #SBATCH directives, which sbatch reads only before the first command."""
    submit_lines = "\n".join(f"#   cd {shlex.quote(str(submission_dir))} && {sbatch_line(a, options.array_parallelism)}"
                             for a in mine)
    return f"""#!/bin/bash
# -----------------------------------------------------------------------------------------
# bioeval on Slurm: a job array, one task per cell (model x dataset) of
#   {script_value(command.manifest, "the manifest path")}
# written by `bioeval run --runtime slurm` on {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, submission {submission_id}.
#
# Resource group {group.index + 1} ({len(group.rows)} cells, grid lines {group.rows[0].index}..{group.rows[-1].index} of grid.tsv), model(s):
#   {', '.join(group.models)}
# Submit by hand (bioeval makes the same calls):
{submit_lines}
# The number after the script is the grid line the array starts at: a group longer than the
# cluster's MaxArraySize ({max_array_size}, {max_array_source}) is split into several arrays.
#
# Task i runs grid line OFFSET+i of grid.tsv (index, run_id, model, dataset), using
#   {_container_note(options, group.request.gpus)}
# Its output goes to logs/<run_id>.log and its outcome to tasks/<run_id>.json (read by
# `bioeval status`).  A done cell is skipped by bioeval itself; an interrupted cell resumes
# from its last checkpoint in <workdir>/<run_id>/ (same run id, same directory).
# -----------------------------------------------------------------------------------------
{chr(10).join(directives)}
"""


def _script_variables(submission_dir: Path, command: CellCommand, manifest_sha256: str, mine: list[Array],
                      numerics_env: dict[str, str]) -> str:
    """The task's fixed values as shell variables (quoted), its grid line, and the numerics
    environment."""
    q = shlex.quote
    return f"""
set -uo pipefail    # no -e: the task records its own outcome below

SUBMISSION={q(str(submission_dir))}
WORKDIR={q(str(command.workdir))}
MANIFEST={q(str(command.manifest))}
MANIFEST_SHA256={manifest_sha256}
PYTHON={q(command.python)}
OFFSET="${{1:-{mine[0].offset if len(mine) == 1 else 0}}}"
INDEX=$((OFFSET + SLURM_ARRAY_TASK_ID))
JOB="${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}"
{_numerics_block(numerics_env)}"""


def _numerics_block(numerics_env: dict[str, str]) -> str:
    """The protocol's numerics variables as exports, or nothing when it sets none."""
    if not numerics_env:
        return ""
    exports = "\n".join(f"export {k}={shlex.quote(v)}" for k, v in numerics_env.items())
    return ("\n# Deterministic numerics (protocol.numerics): read by torch's native libraries when it is\n"
            "# imported, so set before the cell starts (bioeval/engine/numerics.py).\n"
            + exports + "\n")


def _script_task(submission_id: str, cell_command: str) -> str:
    """The task itself: find its grid line, log to the cell's own file, run the cell, and record
    the outcome (also when Slurm terminates it)."""
    return f"""
# 1. This task's cell: grid line INDEX.
IFS=$'\\t' read -r _ RUN_ID MODEL DATASET < <(awk -F'\\t' -v i="$INDEX" 'NR > 1 && $1 == i' "$SUBMISSION/grid.tsv")
if [ -z "${{RUN_ID:-}}" ]; then echo "error: no line $INDEX in $SUBMISSION/grid.tsv" >&2; exit 2; fi

# 2. From here on, everything goes to the cell's own log.
exec >>"$SUBMISSION/logs/$RUN_ID.log" 2>&1
record() {{  # state exit: the task's outcome for `bioeval status`, written atomically
    local tmp="$SUBMISSION/tasks/.$RUN_ID.$$"
    printf '{{"run_id": "%s", "job": "%s", "state": "%s", "exit": %s, "host": "%s", "time": %s}}\\n' \\
        "$RUN_ID" "$JOB" "$1" "$2" "$(hostname)" "$(date +%s)" >"$tmp" && mv -f "$tmp" "$SUBMISSION/tasks/$RUN_ID.json"
}}
record running null
echo "== bioeval: cell $MODEL x $DATASET (run $RUN_ID), task $JOB on $(hostname), $(date -u +%FT%TZ)"

# 3. A changed manifest is fine as long as it still has this cell (bioeval checks the run id).
if [ "$(sha256sum "$MANIFEST" | cut -d' ' -f1)" != "$MANIFEST_SHA256" ]; then
    echo "note: $MANIFEST changed since submission {submission_id}"
fi

# 4. Run the cell.  SIGTERM (scancel, time limit, preemption) is passed on and recorded as cancelled.
on_term() {{
    echo "== terminated by Slurm (scancel, time limit or preemption) at $(date -u +%FT%TZ)"
    kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD"
    record cancelled 143
    exit 143
}}
trap on_term TERM
{cell_command} &
CHILD=$!
wait "$CHILD"
RC=$?
echo "== exit $RC at $(date -u +%FT%TZ)"
record exited "$RC"
exit "$RC"
"""
