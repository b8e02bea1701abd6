"""The image's content hash, build context, labels and the Dockerfile's promises (no daemon needed)."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from bioeval.containers import build as b
from bioeval.containers.sif import sif_command

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "containers" / "Dockerfile"


def make_wheel(path: Path, files: dict[str, bytes], date=(2020, 1, 1, 0, 0, 0)) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name, date_time=date), data)
        z.writestr(zipfile.ZipInfo("bioeval-0.1.0.dist-info/RECORD", date_time=date), f"{date}".encode())
    return path


@pytest.fixture
def recipe(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM x\n")
    lock = tmp_path / "req.lock"
    lock.write_text("torch==2.13.0+cpu --hash=sha256:" + "0" * 64 + "\n")
    wheel = make_wheel(tmp_path / "bioeval-0.1.0-py3-none-any.whl", {"bioeval/__init__.py": b"x = 1\n"})
    return dockerfile, lock, wheel


def test_wheel_hash_ignores_zip_timestamps_but_not_content(tmp_path):
    a = make_wheel(tmp_path / "a.whl", {"bioeval/m.py": b"print(1)\n"}, date=(2020, 1, 1, 0, 0, 0))
    b_ = make_wheel(tmp_path / "b.whl", {"bioeval/m.py": b"print(1)\n"}, date=(2024, 6, 1, 12, 0, 0))
    c = make_wheel(tmp_path / "c.whl", {"bioeval/m.py": b"print(2)\n"})
    assert a.read_bytes() != b_.read_bytes()  # the zips differ...
    assert b.wheel_content_sha256(a) == b.wheel_content_sha256(b_)  # ...their content does not
    assert b.wheel_content_sha256(a) != b.wheel_content_sha256(c)


def test_inputs_hash_changes_with_each_input(recipe, tmp_path):
    dockerfile, lock, wheel = recipe
    base = b.inputs_sha256(dockerfile, lock, wheel, "sha256:aaa", "cpu", "none")
    assert re.fullmatch(r"[0-9a-f]{64}", base)
    assert b.inputs_sha256(dockerfile, lock, wheel, "sha256:aaa", "cpu", "none") == base  # stable
    assert b.inputs_sha256(dockerfile, lock, wheel, "sha256:bbb", "cpu", "none") != base  # base image id
    assert b.inputs_sha256(dockerfile, lock, wheel, "sha256:aaa", "gpu", "none") != base  # variant
    dockerfile.write_text("FROM y\n")
    assert b.inputs_sha256(dockerfile, lock, wheel, "sha256:aaa", "cpu", "none") != base
    dockerfile.write_text("FROM x\n")
    lock.write_text(lock.read_text() + "peft==0.21.2\n")
    assert b.inputs_sha256(dockerfile, lock, wheel, "sha256:aaa", "cpu", "none") != base
    lock.write_text(lock.read_text().replace("peft==0.21.2\n", ""))
    assert b.inputs_sha256(dockerfile, lock, wheel, "sha256:aaa", "cpu", "none") == base
    make_wheel(wheel, {"bioeval/__init__.py": b"x = 2\n"})
    assert b.inputs_sha256(dockerfile, lock, wheel, "sha256:aaa", "cpu", "none") != base


def test_tag_and_labels_carry_hashes(recipe, tmp_path):
    dockerfile, lock, wheel = recipe
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    plan = b.make_plan("cpu", wheel=wheel, lock=lock, dockerfile=dockerfile, ca_bundle=ca)
    plan.inputs_sha256 = "ab" * 32
    assert plan.tag.endswith("-cpu-" + "ab" * 6) and plan.tag.startswith("bioeval:")
    labels = b.labels(plan)
    assert labels["io.bioeval.lock-sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    assert labels["io.bioeval.inputs-sha256"] == "ab" * 32
    assert {"org.opencontainers.image.version", "org.opencontainers.image.revision",
            "org.opencontainers.image.created", "org.opencontainers.image.source"} <= labels.keys()
    # nothing secret-looking goes into build args or labels
    assert not any("TOKEN" in k.upper() for k in {**plan.build_args(), **labels})


def test_context_has_inputs_and_empty_ca_when_none(recipe, tmp_path):
    dockerfile, lock, wheel = recipe
    house = tmp_path / "house"
    house.mkdir()
    (house / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"wheel")
    plan = b.make_plan("cpu", wheel=wheel, lock=lock, dockerfile=dockerfile, wheelhouse=house)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    b.assemble_context(plan, ctx)
    assert (ctx / "Dockerfile").read_text() == "FROM x\n"
    assert (ctx / "build/deps/requirements.lock").read_bytes() == lock.read_bytes()
    assert (ctx / "build/app" / wheel.name).is_file()
    assert (ctx / "build/deps/wheelhouse/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").read_bytes() == b"wheel"
    assert (ctx / "build/deps/ca-bundle.crt").read_bytes() == b""


def test_bad_inputs_are_usage_errors(recipe, tmp_path):
    from bioeval.errors import UsageError

    dockerfile, lock, wheel = recipe
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no \\*.whl"):
        b.make_plan("cpu", wheel=wheel, lock=lock, dockerfile=dockerfile, wheelhouse=empty)
    with pytest.raises(UsageError, match="unknown image variant"):
        b.make_plan("tpu", wheel=wheel)


def test_dockerfile_keeps_its_promises():
    text = re.sub(r"^\s*#.*$", "", DOCKERFILE.read_text(), flags=re.M)  # instructions, not comments
    stages = re.split(r"^FROM ", text, flags=re.M)
    final = stages[-1]
    assert "--mount" not in text  # docker-py uses the classic builder
    assert re.search(r"@sha256:[0-9a-f]{64}", text), "GPU base pinned by digest"
    assert "--require-hashes" in text and "/opt/venv" in text and "chmod a+rX" in final
    assert "COPY build/deps" not in final and "ca-bundle" not in final and "/tmp/deps" not in final  # build inputs stay in the builder
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    assert re.search(r"^USER bioeval$", final, flags=re.M)
    assert "HF_HOME=/hf-cache" in final and 'VOLUME ["/hf-cache"]' in final
    assert "HF_TOKEN" not in text
    assert b.GPU_BASE in text  # one pinned default, in both places


def test_locks_are_hash_locked_for_the_right_torch():
    cpu = (REPO / "containers/requirements-cpu.lock").read_text()
    gpu = (REPO / "containers/requirements-gpu.lock").read_text()
    assert re.search(r"^torch==2\.13\.0\+cpu \\\n\s+--hash=sha256:[0-9a-f]{64}", cpu, flags=re.M)
    assert re.search(r"^torch==2\.13\.0 \\\n\s+--hash=sha256:[0-9a-f]{64}", gpu, flags=re.M)
    assert re.search(r"^nvidia-cuda-runtime==", gpu, flags=re.M) and "nvidia-" not in cpu
    for lock in (cpu, gpu):
        pins = re.findall(r"^([a-z0-9._-]+)==(\S+) \\$", lock, flags=re.M)
        assert len(pins) > 40
        for name in ("transformers", "peft", "pydantic", "docker", "rich"):
            assert name in dict(pins)


def test_sif_command_is_exact(tmp_path):
    out = tmp_path / "bioeval.sif"
    assert sif_command(out, "bioeval:0.1.0-gpu-abc") == [
        "apptainer", "build", "--force", str(out.resolve()), "docker-daemon://bioeval:0.1.0-gpu-abc"]
    archive = tmp_path / "bioeval.tar"
    assert sif_command(out, "x", archive=archive)[-1] == f"docker-archive://{archive.resolve()}"


def test_rebuilt_wheel_of_unchanged_tree_hashes_the_same(tmp_path):
    """What makes a second `bioeval build` a no-op: the wheel is rebuilt each time, its content hash is not new."""
    first = b.build_wheel(tmp_path / "one")
    second = b.build_wheel(tmp_path / "two")
    assert b.wheel_content_sha256(first) == b.wheel_content_sha256(second)
    with zipfile.ZipFile(first) as z:
        names = set(z.namelist())
    assert {"bioeval/runtimes/docker.py", "bioeval/containers/build.py", "bioeval/cli/__init__.py"} <= names
    assert not any("__pycache__" in n for n in names)


def test_locks_cover_every_runtime_dependency():
    """A dependency added to pyproject.toml without recompiling the locks would fail `pip check` in the build."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for lock_name in ("requirements-cpu.lock", "requirements-gpu.lock"):
        lock = (REPO / "containers" / lock_name).read_text()
        pinned = {canonicalize_name(n): v for n, v in re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\$", lock, flags=re.M)}
        for dep in deps:
            req = Requirement(dep)
            name = canonicalize_name(req.name)
            assert name in pinned, f"{req.name} missing from {lock_name}: recompile (docs/containers.md)"
            assert req.specifier.contains(pinned[name], prereleases=True), f"{lock_name}: {name}=={pinned[name]} vs {req}"
