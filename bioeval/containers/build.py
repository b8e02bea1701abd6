"""Build the bioeval image through the docker SDK, once per recipe.

The image tag carries a content hash of everything that decides what is inside the image
(the Dockerfile, the hash-locked requirements, the bioeval wheel's files, the base image's
id, the variant), so an unchanged recipe is found by its tag and not rebuilt.  The build
context is assembled in a temporary folder: the Dockerfile, the lock, the wheel, and, when
given, a wheelhouse (offline install) and a CA bundle (TLS-intercepting proxies).  The CA
bundle and the wheelhouse live only in the builder stage, never in the final image.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bioeval.data.cache import sha256_file
from bioeval import __version__
from bioeval.errors import BioevalError, EnvironmentProblem, UsageError
from bioeval.runs.atomic import read_json, write_json

REPO = Path(__file__).resolve().parents[2]
CONTAINERS = REPO / "containers"
IMAGE_REPO = "bioeval"
RECORD_NAME = "image.json"

# The GPU base: CUDA 13.0 runtime (torch 2.13.0 from PyPI is built for CUDA 13.0) on Ubuntu
# 22.04 (python3.11 from the distro).  The digest comes
# from public records (see docs/containers.md); `bioeval build --resolve-base` re-resolves it
# from the registry on a host that reaches one and prints the line to put here.
GPU_BASE = ("nvidia/cuda:13.0.0-runtime-ubuntu22.04"
            "@sha256:3e7f34f5e9dd5315b67ab30d71a92e578c5911236e14370647df020bdee2ca8a")
# The CPU test base: Debian bookworm + python3 (3.11), made locally by debootstrap + docker import
# (scripts/docker_integration.sh), because no image registry is reachable on the CI machines.
CPU_BASE = "bioeval-base:bookworm"

VARIANTS = {
    # variant: (default base image, lock file, how the Dockerfile gets python3.11)
    "gpu": (GPU_BASE, "requirements-gpu.lock", "apt"),
    "cpu": (CPU_BASE, "requirements-cpu.lock", "none"),
}


@dataclass
class BuildPlan:
    variant: str
    base_image: str
    dockerfile: Path
    lock: Path
    wheel: Path
    wheelhouse: Path | None = None
    ca_bundle: Path | None = None
    install_python: str = "none"
    base_image_id: str = ""
    inputs_sha256: str = ""
    lock_sha256: str = ""
    git_sha: str = "unknown"

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPO}:{__version__}-{self.variant}-{self.inputs_sha256[:12]}"

    def build_args(self) -> dict[str, str]:
        return {
            "BASE_IMAGE": self.base_image,
            "INSTALL_PYTHON": self.install_python,
            "BIOEVAL_VERSION": __version__,
            "BIOEVAL_GIT_SHA": self.git_sha,
            "BIOEVAL_LOCK_SHA256": self.lock_sha256,
            "BIOEVAL_INPUTS_SHA256": self.inputs_sha256,
            "BIOEVAL_VARIANT": self.variant,
        }


@dataclass
class BuildResult:
    tag: str
    image_id: str
    inputs_sha256: str
    variant: str
    base_image: str
    built: bool  # False when the tag already existed (no-op)
    seconds: float
    record: str = ""
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- hashing



def wheel_content_sha256(wheel: Path) -> str:
    """Hash of the wheel's member names and bytes, not of the zip: rebuilding an unchanged
    tree gives a zip with new timestamps but the same content, and must not force a rebuild."""
    h = hashlib.sha256()
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            if name.endswith(".dist-info/RECORD"):
                continue  # lists the other files' hashes; adds nothing, and its order varies
            h.update(name.encode() + b"\0")
            h.update(hashlib.sha256(z.read(name)).digest())
    return h.hexdigest()


def inputs_sha256(dockerfile: Path, lock: Path, wheel: Path, base_image_id: str, variant: str,
                  install_python: str) -> str:
    """The content hash that names the image: what decides the image's software, nothing else
    (the CA bundle and the wheelhouse only change how the locked files are fetched)."""
    parts = {
        "dockerfile": sha256_file(dockerfile),
        "lock": sha256_file(lock),
        "wheel": wheel_content_sha256(wheel),
        "base_image_id": base_image_id,
        "variant": variant,
        "install_python": install_python,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def git_sha(repo: Path = REPO) -> str:
    """HEAD of the checkout the image is built from, with -dirty for uncommitted changes."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty else "")


# ----------------------------------------------------------------------------- docker client

def docker_client():
    """A docker SDK client that has answered a ping, or a clear EnvironmentProblem."""
    import docker
    from docker.errors import DockerException

    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except (DockerException, OSError) as exc:
        raise EnvironmentProblem(
            f"cannot reach a Docker daemon at {where} ({type(exc).__name__}: {_short(exc)}).",
            "Start it (`sudo systemctl start docker`, or `sudo dockerd &`), make sure your user may use "
            "its socket (the `docker` group), or point DOCKER_HOST at a running daemon; "
            "`--runtime local` runs without Docker.") from None
    return client


def _short(exc: BaseException) -> str:
    """The daemon's own explanation where there is one (not the request URL), first line, capped."""
    text = str(getattr(exc, "explanation", None) or exc)
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


# ----------------------------------------------------------------------------- planning

WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in", "bioeval")


def build_wheel(out_dir: Path) -> Path:
    """Build bioeval's wheel from a clean copy of the package sources: an in-tree build reuses
    build/lib, where a deleted module would live on."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("bioeval-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="bioeval-src-") as tmp:
        for name in WHEEL_SOURCES:
            src = REPO / name
            if src.is_dir():
                shutil.copytree(src, Path(tmp) / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            elif src.is_file():
                shutil.copy2(src, Path(tmp) / name)
        # build isolation: the PEP 639 license string needs a newer setuptools than a fresh venv has
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out_dir), tmp]
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"})
    wheels = list(out_dir.glob("bioeval-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise BioevalError(f"building the bioeval wheel failed ({' '.join(cmd)}):\n{proc.stderr[-2000:]}",
                           "pip fetches setuptools for the build from the index (or its find-links): check that it can.")
    return wheels[0]


def make_plan(variant: str, *, base_image: str | None = None, wheelhouse: Path | None = None,
              ca_bundle: Path | None = None, wheel: Path | None = None, lock: Path | None = None,
              dockerfile: Path | None = None, wheel_dir: Path | None = None) -> BuildPlan:
    if variant not in VARIANTS:
        raise UsageError(f"unknown image variant {variant!r}; choose one of {', '.join(VARIANTS)}.")
    default_base, lock_name, install_python = VARIANTS[variant]
    dockerfile = dockerfile or CONTAINERS / "Dockerfile"
    lock = lock or CONTAINERS / lock_name
    for what, path in (("Dockerfile", dockerfile), ("lock file", lock)):
        if not path.is_file():
            raise UsageError(f"the {what} {path} does not exist.", "Run from a full checkout of bioeval.")
    if wheelhouse is not None and not any(Path(wheelhouse).glob("*.whl")):
        raise UsageError(f"--wheelhouse {wheelhouse}: no *.whl files there.",
                         f"Fill it with `pip download --only-binary=:all: --no-deps -r {lock} -d {wheelhouse}`.")
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise UsageError(f"--ca-bundle {ca_bundle}: no such file.", "Give a PEM bundle, e.g. /etc/ssl/certs/ca-certificates.crt.")
    if wheel is None:
        wheel = build_wheel(wheel_dir or Path(tempfile.mkdtemp(prefix="bioeval-wheel-")))
    return BuildPlan(variant=variant, base_image=base_image or default_base, dockerfile=dockerfile, lock=lock,
                     wheel=wheel, wheelhouse=wheelhouse, ca_bundle=ca_bundle, install_python=install_python,
                     lock_sha256=sha256_file(lock), git_sha=git_sha())


def base_image_id(client, base_image: str) -> str:
    """The local id of the base image; pulled once if absent (needs a registry)."""
    from docker.errors import APIError, ImageNotFound

    try:
        return client.images.get(base_image).id
    except ImageNotFound:
        pass
    try:
        return client.images.pull(base_image).id
    except APIError as exc:
        hint = ("Make it locally with scripts/docker_integration.sh (debootstrap + docker import)."
                if base_image == CPU_BASE else
                "Pull it on a host that reaches the registry (`docker pull`), or load it (`docker load`).")
        raise EnvironmentProblem(f"base image {base_image} is not present and cannot be pulled ({_short(exc)}).",
                                 hint) from None


def resolve_base(client, image: str) -> str:
    """`docker pull` + the repo digest: the pinned reference to write into GPU_BASE."""
    from docker.errors import APIError

    name = image.split("@", 1)[0]
    try:
        pulled = client.images.pull(name)
    except APIError as exc:
        raise EnvironmentProblem(f"cannot pull {name} to resolve its digest ({_short(exc)}).",
                                 "Run `bioeval build --resolve-base` on a host that reaches the registry.") from None
    digests = pulled.attrs.get("RepoDigests") or []
    if not digests:
        raise EnvironmentProblem(f"{name} has no registry digest after the pull.")
    return f"{name}@{digests[0].split('@', 1)[1]}"


# ----------------------------------------------------------------------------- building

def assemble_context(plan: BuildPlan, ctx: Path) -> None:
    """The build context: the Dockerfile, build/deps/ (lock, wheelhouse, CA bundle: one cached
    layer) and build/app/ (the bioeval wheel, which changes more often)."""
    shutil.copy2(plan.dockerfile, ctx / "Dockerfile")
    deps, app = ctx / "build" / "deps", ctx / "build" / "app"
    (deps / "wheelhouse").mkdir(parents=True)
    app.mkdir()
    shutil.copy2(plan.lock, deps / "requirements.lock")
    shutil.copy2(plan.wheel, app / plan.wheel.name)
    # An empty file means "use the base image's trust store" (the Dockerfile checks -s).
    if plan.ca_bundle:
        shutil.copy2(plan.ca_bundle, deps / "ca-bundle.crt")
    else:
        (deps / "ca-bundle.crt").write_bytes(b"")
    if plan.wheelhouse:
        for whl in Path(plan.wheelhouse).glob("*.whl"):
            try:  # hard links: the context is tarred anyway; no need to copy a 200 MB torch wheel
                os.link(whl, deps / "wheelhouse" / whl.name)
            except OSError:
                shutil.copy2(whl, deps / "wheelhouse" / whl.name)


def labels(plan: BuildPlan) -> dict[str, str]:
    return {
        "org.opencontainers.image.title": "bioeval",
        "org.opencontainers.image.description": "Reproducibility kit for published biomedical LLM results",
        "org.opencontainers.image.version": __version__,
        "org.opencontainers.image.revision": plan.git_sha,
        "org.opencontainers.image.source": "https://github.com/bioeval/bioeval",
        "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "org.opencontainers.image.base.name": plan.base_image,
        "io.bioeval.version": __version__,
        "io.bioeval.git-sha": plan.git_sha,
        "io.bioeval.lock-sha256": plan.lock_sha256,
        "io.bioeval.inputs-sha256": plan.inputs_sha256,
        "io.bioeval.variant": plan.variant,
    }


def build(plan: BuildPlan, *, client=None, console=None, record_dir: Path | None = None,
          force: bool = False) -> BuildResult:
    """Build (or find) the image for this plan; stream the log; record the image id."""
    from docker.errors import ImageNotFound

    client = client or docker_client()
    started = time.monotonic()
    plan.base_image_id = base_image_id(client, plan.base_image)
    plan.inputs_sha256 = inputs_sha256(plan.dockerfile, plan.lock, plan.wheel, plan.base_image_id,
                                       plan.variant, plan.install_python)
    built = False
    try:
        if force:
            raise ImageNotFound("forced")
        image_id = client.images.get(plan.tag).id
    except ImageNotFound:
        image_id = _run_build(client, plan, console)
        built = True
    result = BuildResult(tag=plan.tag, image_id=image_id, inputs_sha256=plan.inputs_sha256, variant=plan.variant,
                         base_image=plan.base_image, built=built, seconds=round(time.monotonic() - started, 2))
    if record_dir is not None:
        result.record = str(record_image(record_dir, result, plan))
    return result


def _run_build(client, plan: BuildPlan, console) -> str:
    from docker.errors import APIError

    from bioeval.containers.progress import BuildLog

    with tempfile.TemporaryDirectory(prefix="bioeval-build-") as tmp:
        ctx = Path(tmp)
        assemble_context(plan, ctx)
        image_id = None
        errors: list[str] = []
        with BuildLog(console, title=f"building {plan.tag}") as log:
            try:
                stream = client.api.build(path=str(ctx), tag=plan.tag, rm=True, forcerm=True, decode=True,
                                          buildargs=plan.build_args(), labels=labels(plan), pull=False)
                for chunk in stream:
                    if "stream" in chunk:
                        log.line(chunk["stream"])
                    elif "status" in chunk:
                        log.line(chunk["status"] + "\n")
                    if "error" in chunk:
                        errors.append(chunk["error"])
                        log.line(chunk["error"] + "\n")
                    aux = chunk.get("aux") or {}
                    if "ID" in aux:
                        image_id = aux["ID"]
            except APIError as exc:
                errors.append(_short(exc))
    if errors or not image_id:
        raise EnvironmentProblem(
            f"docker build of {plan.tag} failed: {errors[-1] if errors else 'no image id in the build output'}.",
            "The log above shows the failing step. Behind a TLS-intercepting proxy pass --ca-bundle; "
            "without network pass --wheelhouse (see docs/containers.md).")
    return image_id


def record_path(record_dir: Path) -> Path:
    return Path(record_dir) / RECORD_NAME


def record_image(record_dir: Path, result: BuildResult, plan: BuildPlan) -> Path:
    """Write the image id where `--runtime docker` finds it (the workdir)."""
    path = record_path(record_dir)
    data = asdict(result)
    data.update(base_image_id=plan.base_image_id, lock_sha256=plan.lock_sha256, git_sha=plan.git_sha,
                recorded=time.time())
    data.pop("record", None)
    write_json(path, data)
    return path


def recorded_image(record_dir: Path) -> dict | None:
    try:
        return read_json(record_path(record_dir))
    except (FileNotFoundError, ValueError):
        return None
