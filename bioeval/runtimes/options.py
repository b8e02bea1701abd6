"""Every runtime's options in one typed table (like the scorer registry), so an option a runtime
does not know is an error under every runtime, never silently ignored.

`bioeval run ... --runtime R --name VALUE` passes options through as strings (True for a bare
flag); ``check_options`` refuses unknown names (with "did you mean") and converts the values to
their declared types.  Each runtime's run_cells calls it once, first, before it fetches anything.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bioeval.errors import UsageError


@dataclass(frozen=True)
class Opt:
    name: str  # as in Python: array_parallelism (the CLI spells it --array-parallelism)
    type: type  # str, int or bool
    help: str
    minimum: int | None = None  # the least whole number an int option takes


# what `bioeval run`/`reproduce` hand every runtime, and keys only code sets (tests, the engine)
# (`--only` is not among them: it selects the cells, which is resolved before any runtime sees them)
COMMON = (Opt("force", bool, "rerun finished cells"), Opt("progress", bool, "progress bars"))
INTERNAL = frozenset({"console", "max_array_size", "git_sha"})

RUNTIME_OPTIONS: dict[str, tuple[Opt, ...]] = {
    "local": (Opt("jobs", int, "CPU cells run side by side in N processes (default: one per core for deterministic numerics, else 1)", 1),
              Opt("fetch", bool, "fetch every pending cell's inputs before the first one runs (reproduce's default)")),
    "docker": (
        Opt("image", str, "image to run (default: the one `bioeval build` recorded, or $BIOEVAL_IMAGE)"),
        Opt("gpus", int, "GPUs per container (default: the model's resources.gpus)", 0),
        Opt("shm_size", str, "shared memory, e.g. 16g"),
        Opt("network", str, "docker network mode (default bridge)"),
        Opt("hf_cache", str, "host folder mounted as the HF cache"),
        Opt("user", str, "uid:gid to run as (default: yours)"),
    ),
    "slurm": (
        Opt("partition", str, "Slurm partition(s)"),
        Opt("account", str, "Slurm account"),
        Opt("time", str, "time limit [D-]HH:MM:SS"),
        Opt("array_parallelism", int, "at most K tasks at once"),  # its range: slurm_script.Options
        Opt("container", str, "none, apptainer or docker"),
        Opt("image", str, "container image (.sif or docker image)"),
        Opt("dry_run", bool, "write the scripts, submit nothing"),
        Opt("retry_failed", bool, "resubmit failed and cancelled cells"),
        Opt("wait", bool, "watch until done (default)"),
        Opt("no_wait", bool, "submit and return"),
        Opt("fetch", bool, "fetch inputs on the submit host first (default)"),
        Opt("no_fetch", bool, "do not fetch inputs on the submit host"),
    ),
}


def flag(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UsageError(f"--{name.replace('_', '-')} {value!r}: a flag takes no value.")


def check_options(runtime: str, options: dict) -> dict:
    """``options`` with every value of its declared type; UsageError for an unknown name."""
    table = {o.name: o for o in COMMON + RUNTIME_OPTIONS[runtime]}
    unknown = sorted(k for k in options if k not in table and k not in INTERNAL)
    if unknown:
        lines = []
        for key in unknown:
            close = difflib.get_close_matches(key, list(table), n=1)
            other = [r for r, opts in RUNTIME_OPTIONS.items() if any(o.name == key for o in opts)]
            why = f" (did you mean --{close[0].replace('_', '-')}?)" if close else \
                f" (an option of --runtime {' / '.join(other)})" if other else ""
            lines.append(f"--{key.replace('_', '-')}{why}")
        known = ", ".join("--" + o.name.replace("_", "-") for o in RUNTIME_OPTIONS[runtime]) or "none"
        raise UsageError(f"unknown option(s) for --runtime {runtime}: {', '.join(lines)}.",
                         f"Options of --runtime {runtime}: {known}.")
    out = dict(options)
    for key, value in options.items():
        opt = table.get(key)
        if opt is None or value is None:
            continue
        if opt.type is bool:
            out[key] = flag(key, value)
        elif value is True:
            raise UsageError(f"--{key.replace('_', '-')} needs a value.")
        elif opt.type is int:
            try:
                out[key] = int(value)
            except (TypeError, ValueError):
                raise UsageError(f"--{key.replace('_', '-')} {value!r}: give a whole number.") from None
            if opt.minimum is not None and out[key] < opt.minimum:
                raise UsageError(f"--{key.replace('_', '-')} {value!r}: give a whole number of at least {opt.minimum}.")
        else:
            out[key] = str(value)
    return out
