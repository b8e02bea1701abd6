"""`--runtime docker`: run each cell with `bioeval run` inside the bioeval image.

Every host path is bind-mounted at /host<path> (a fixed prefix: the same path could sit under
a folder the image's user may not enter, such as the image's own /root), so the manifest's
relative `local:` paths resolve inside exactly as outside, and run ids do not change (they
hash the manifest's values, not absolute paths).  The manifest's folder tree and the data mirror are read-only; the
workdir, the data cache and the HF cache are read-write.  The container runs as the invoking
user's uid:gid with every capability dropped, so it writes files the user owns and never needs
(or gets) a chown of the caches.  HF_TOKEN reaches the container
only through its environment at run time; the container is removed when the cell ends, and
the token is masked in the saved log.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bioeval.engine import numerics
from bioeval.errors import EnvironmentProblem
from bioeval.runs import RunDir
from bioeval.runtimes.local import pending

if TYPE_CHECKING:
    from bioeval.manifest.load import LoadedManifest
    from bioeval.manifest.resolve import Cell
    from bioeval.settings import Settings

HF_CACHE_IN_CONTAINER = "/hf-cache"
HOST_PREFIX = "/host"
PASSTHROUGH_ENV = ("HF_HUB_OFFLINE", "HF_ENDPOINT", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")
CONTAINER_LOG = "container.log"


@dataclass
class CellResult:
    run_id: str
    state: str
    exit_code: int | None = None
    seconds: float = 0.0
    skipped: bool = False
    message: str = ""
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- what to mount

def manifest_paths(loaded: LoadedManifest, settings: Settings | None = None) -> list[Path]:
    """The manifest file and every local path it names (models shipped as folders, local data
    outside declared data locations); each data path is checked first (sources.check_local), so
    a manifest cannot make the container mount a folder it could not read on the host."""
    from bioeval.data.sources import check_local, local_path
    from bioeval.manifest.schema import is_local_path
    from bioeval.settings import Settings

    settings = settings or Settings()
    declared = tuple(loc.var for loc in loaded.manifest.data_locations)
    base = Path(loaded.path).resolve().parent
    paths = [Path(loaded.path).resolve()]
    for model in loaded.manifest.models:
        if is_local_path(model.revision):
            paths.append(_under(base, model.revision))
    for dataset in loaded.manifest.datasets:
        for split in dataset.splits.values():
            local = split.source.local
            if local and local_path(local, base, declared)[1] is None:
                paths.append(check_local(local, base, settings, declared).resolve())
    return paths


def data_location_mounts(loaded: LoadedManifest, settings: Settings | None = None) -> dict[str, Path]:
    """Declared data locations set on this host: variable -> folder (mounted read-only, and the
    variable set to its place inside, so ${VAR}/file resolves there too)."""
    out = {}
    for loc in loaded.manifest.data_locations:
        value = os.environ.get(loc.var)
        if value:
            out[loc.var] = Path(os.path.expanduser(value)).resolve()
    return out


def _under(base: Path, p: str) -> Path:
    path = Path(os.path.expanduser(p))
    return (path if path.is_absolute() else base / path).resolve()


def source_root(loaded: LoadedManifest, settings: Settings | None = None) -> Path:
    """The smallest folder holding the manifest and its local paths: mounted read-only."""
    paths = [p if p.is_dir() else p.parent for p in manifest_paths(loaded, settings)]
    return Path(os.path.commonpath([str(p) for p in paths]))


def hf_cache_dir() -> Path:
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return (Path(base) / "huggingface").resolve()


def container_user() -> str:
    """The invoking user's uid:gid: what the container writes (workdir, caches) is theirs, and
    nothing on the host is chowned to suit the container.  Root stays root, but without
    capabilities (run_kwargs drops them all), so it cannot override file permissions."""
    return f"{os.getuid()}:{os.getgid()}"


# ----------------------------------------------------------------------------- run arguments

def inside(path: Path | str) -> str:
    """Where a host path appears in the container."""
    return HOST_PREFIX + str(Path(path).resolve())


def cell_command(loaded: LoadedManifest, cell: Cell, settings: Settings, workdir: Path, force: bool = False) -> list[str]:
    """What runs inside: exactly this cell, by run id, with the local runtime."""
    # local paths were checked on the host (manifest_paths) and the container sees only its mounts
    cmd = ["--allow-outside-paths", "--workdir", inside(workdir)]
    if settings.data_mirror:
        cmd += ["--data-mirror", inside(settings.data_mirror)]
    cmd += ["run-cell", inside(loaded.path), "--run-id", cell.run_id]
    return cmd + (["--force"] if force else [])


def run_kwargs(loaded: LoadedManifest, cell: Cell, settings: Settings, image: str, image_id: str, options: dict | None = None,
               environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for `client.containers.run` for one cell (pure: unit-tested)."""
    from docker.types import DeviceRequest

    options = options or {}
    environ = os.environ if environ is None else environ
    workdir = Path(settings.workdir).resolve()
    cache = Path(settings.cache_dir).resolve()
    hf = Path(options.get("hf_cache") or hf_cache_dir())
    root = source_root(loaded, settings)
    volumes = {str(root): {"bind": inside(root), "mode": "ro"},
               str(workdir): {"bind": inside(workdir), "mode": "rw"},
               str(cache): {"bind": inside(cache), "mode": "rw"},
               str(hf): {"bind": HF_CACHE_IN_CONTAINER, "mode": "rw"}}
    if settings.data_mirror:
        mirror = Path(settings.data_mirror).resolve()
        volumes[str(mirror)] = {"bind": inside(mirror), "mode": "ro"}
    env = {"BIOEVAL_IMAGE_ID": image_id, "BIOEVAL_IMAGE": image, "BIOEVAL_CACHE": inside(cache),
           "HF_HOME": HF_CACHE_IN_CONTAINER, "PYTHONUNBUFFERED": "1", "HOME": "/tmp"}
    for var, folder in data_location_mounts(loaded, settings).items():
        volumes.setdefault(str(folder), {"bind": inside(folder), "mode": "ro"})
        env[var] = inside(folder)
    if options.get("git_sha"):
        env["BIOEVAL_GIT_SHA"] = options["git_sha"]
    for name in PASSTHROUGH_ENV:
        if environ.get(name):
            env[name] = environ[name]
    if environ.get("HF_TOKEN"):  # run time only: the container's env, never the image or the logs
        env["HF_TOKEN"] = environ["HF_TOKEN"]
    env.update(numerics.environment(numerics.mode_of(cell)))  # before torch starts in the container
    gpus = int(options.get("gpus", cell.model.resources.gpus))
    kwargs: dict[str, Any] = {
        "image": image,
        "command": cell_command(loaded, cell, settings, workdir, force=bool(options.get("force"))),
        "user": options.get("user") or container_user(),
        "cap_drop": ["ALL"],  # a cell needs no capability; root inside cannot bypass permissions
        "security_opt": ["no-new-privileges"],
        "environment": env,
        "volumes": volumes,
        "working_dir": "/tmp",
        "shm_size": options.get("shm_size") or ("16g" if gpus > 0 else "1g"),
        "detach": True,
        "labels": {"io.bioeval.run-id": cell.run_id, "io.bioeval.model": cell.model.key,
                   "io.bioeval.dataset": cell.dataset.key},
        "network_mode": options.get("network", "bridge"),
    }
    if gpus > 0:
        kwargs["device_requests"] = [DeviceRequest(count=gpus, capabilities=[["gpu"]])]
        kwargs["ipc_mode"] = None
    return {k: v for k, v in kwargs.items() if v is not None}


def redactor(environ: dict[str, str] | None = None):
    """Mask secrets (HF_TOKEN and any secret-looking variable) in text we print or save."""
    from bioeval.redact import scrub

    return lambda text: scrub(text, environ)


# ----------------------------------------------------------------------------- image choice

def resolve_image(client, settings, options: dict) -> tuple[str, str]:
    """(reference, id) of the image to run: --image / $BIOEVAL_IMAGE / the one `bioeval build` recorded."""
    from docker.errors import ImageNotFound

    from bioeval.containers.build import recorded_image

    ref = options.get("image") or os.environ.get("BIOEVAL_IMAGE")
    if not ref:
        record = recorded_image(Path(settings.workdir))
        if not record:
            raise EnvironmentProblem(
                f"no bioeval image recorded in {Path(settings.workdir) / 'image.json'}.",
                "Build it first with `bioeval build MANIFEST` (same --workdir), or name one with BIOEVAL_IMAGE.")
        ref = record["tag"]
    try:
        image = client.images.get(ref)
    except ImageNotFound:
        raise EnvironmentProblem(f"the image {ref} is not in this Docker daemon.",
                                 "Run `bioeval build MANIFEST` again (it rebuilds only what changed).") from None
    return ref, image.id


# ----------------------------------------------------------------------------- running

def _mount_sources_exist(paths: list[Path]) -> None:
    """Create missing bind sources as the invoking user (dockerd would create them as root)."""
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)


def run_in_container(client, loaded, cell, settings, image: str, image_id: str, options: dict, console) -> CellResult:
    from docker.errors import APIError
    from rich.text import Text

    rundir = RunDir(Path(settings.workdir).resolve(), cell.run_id)
    rundir.path.mkdir(parents=True, exist_ok=True)
    kwargs = run_kwargs(loaded, cell, settings, image, image_id, options)
    hf_host = next(h for h, v in kwargs["volumes"].items() if v["bind"] == HF_CACHE_IN_CONTAINER)
    _mount_sources_exist([rundir.path, Path(settings.cache_dir).resolve(), Path(hf_host)])
    redact = redactor()
    started = time.monotonic()
    label = f"{cell.model.key} x {cell.dataset.key}"
    container = None
    try:  # create, then start: a container that fails to start is still removed (its config holds HF_TOKEN)
        container = client.containers.create(**{k: v for k, v in kwargs.items() if k != "detach"})
        container.start()
    except APIError as exc:
        if container is not None:
            try:
                container.remove(force=True)
            except APIError:
                pass
        msg = redact(str(exc).splitlines()[0])
        if "could not select device driver" in msg:
            raise EnvironmentProblem(
                f"cell {label} needs {cell.model.resources.gpus} GPU(s) but Docker has no GPU runtime ({msg}).",
                "Install the NVIDIA Container Toolkit and restart dockerd (see docs/containers.md).") from None
        raise EnvironmentProblem(f"docker could not start the container for {label}: {msg}") from None
    log_path = rundir.path / CONTAINER_LOG
    try:
        with open(log_path, "a", encoding="utf-8") as log:
            partial = ""
            for chunk in container.logs(stream=True, follow=True):
                partial += chunk.decode("utf-8", "replace")
                *lines, partial = partial.split("\n")
                for line in lines:
                    line = redact(line)
                    log.write(line + "\n")
                    log.flush()
                    if console is not None:  # Text, not markup: the line may hold [brackets]
                        console.print(Text.assemble((f"{label} | ", "dim"), line), highlight=False, soft_wrap=True)
            if partial:
                log.write(redact(partial) + "\n")
        state = container.wait()
        container.reload()
        oom = container.attrs.get("State", {}).get("OOMKilled", False)
    except KeyboardInterrupt:
        container.stop(timeout=10)
        raise
    finally:
        try:
            container.remove(force=True)  # its config holds HF_TOKEN: do not leave it behind
        except APIError:
            pass
    code = int(state.get("StatusCode", -1))
    seconds = round(time.monotonic() - started, 2)
    return _map_exit(rundir, code, oom, seconds, log_path)


def _map_exit(rundir: RunDir, code: int, oom: bool, seconds: float, log_path: Path) -> CellResult:
    """The container's exit status -> the cell's status (the engine inside wrote its own
    status; this fills in what it could not: a crash, an OOM kill, a container that died)."""
    status = rundir.status()
    if code == 0 and rundir.is_done():
        return CellResult(rundir.run_id, "done", exit_code=0, seconds=seconds)
    if code == 0:
        why = "the container exited 0 but the cell has no scores"
    elif oom or code == 137:
        why = f"the container was killed (exit {code}{', out of memory' if oom else ''})"
    else:
        why = f"the container exited with status {code}"
    inner = _last_error(log_path)
    if inner:
        why += f": {inner}"
    if status.get("state") != "failed":
        rundir.path.mkdir(parents=True, exist_ok=True)
        rundir.set_status("failed", runtime="docker", exit_code=code, error=why, log=str(log_path))
    return CellResult(rundir.run_id, "failed", exit_code=code, seconds=seconds, message=f"{why} (log: {log_path})")


def _last_error(log_path: Path) -> str:
    """The CLI's own `error: ...` line from inside the container, if it printed one."""
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return ""
    hits = [ln.strip() for ln in lines if ln.strip().startswith("error:")]
    return hits[-1][len("error:"):].strip()[:300] if hits else ""


def run_cells(loaded: LoadedManifest, cells: list[Cell], settings: Settings, options: dict) -> list[dict]:
    """The docker runtime's entry point, same contract as the local runtime: one row per cell
    (run_id, name, state = done | skipped | failed, seconds, error)."""
    from bioeval.console import ScrubbingConsole as Console

    from bioeval.containers.build import docker_client

    from bioeval.runtimes.options import check_options

    options = check_options("docker", dict(options or {}))
    console = options.get("console") or Console(stderr=True)
    force = bool(options.get("force"))
    todo = pending(cells, settings, force)
    todo_ids = {c.run_id for c in todo}
    rows = [{"run_id": c.run_id, "name": _name(c), "state": "skipped", "seconds": 0.0, "error": None}
            for c in cells if c.run_id not in todo_ids]
    if not todo:
        return rows  # nothing to run: no daemon needed
    client = docker_client()
    image, image_id = resolve_image(client, settings, options)
    # the receipt's git sha: bioeval inside is installed from a wheel, not a checkout
    options.setdefault("git_sha", client.images.get(image_id).labels.get("io.bioeval.git-sha"))
    console.print(f"[bold]docker runtime[/bold]: image {image} ({image_id[:19]})")
    for cell in todo:
        console.print(f"[bold]run[/] {_name(cell)} ({cell.run_id}) in a container")
        result = run_in_container(client, loaded, cell, settings, image, image_id, options, console)
        rows.append({"run_id": cell.run_id, "name": _name(cell), "state": result.state,
                     "seconds": result.seconds, "error": result.message or None, "exit_code": result.exit_code})
        if result.state == "failed":
            console.print(f"  [red]failed[/]: {result.message}")
        else:
            console.print(f"  done in {result.seconds:.1f}s")
    return rows


def _name(cell) -> str:
    return getattr(cell, "name", None) or f"{cell.model.key}/{cell.dataset.key}"
