"""What `--runtime docker` asks Docker for: mounts, user, env (HF_TOKEN only at run time), GPUs,
and how a container's exit becomes the cell's status.  A dead DOCKER_HOST gives a clear error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bioeval.manifest import cells, load_manifest
from bioeval.manifest.resolve import run_id_of
from bioeval.runs import RunDir
from bioeval.runtimes import docker as rt
from bioeval.settings import Settings

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "manifests" / "smoke.yaml"


@pytest.fixture
def smoke():
    loaded = load_manifest(SMOKE)
    return loaded, cells(loaded)[0]


@pytest.fixture
def settings(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    return Settings(workdir=tmp_path / "runs", data_mirror=mirror, cache_dir=tmp_path / "cache")


def kwargs_for(loaded, cell, settings, environ, **options):
    return rt.run_kwargs(loaded, cell, settings, "bioeval:test", "sha256:" + "1" * 64, options, environ=environ)


def test_mounts_sit_under_host_prefix_with_the_right_modes(smoke, settings, tmp_path):
    loaded, cell = smoke
    kw = kwargs_for(loaded, cell, settings, {"HF_HOME": str(tmp_path / "hf")}, hf_cache=str(tmp_path / "hf"))
    vols = kw["volumes"]
    root = rt.source_root(loaded)
    # the manifest and every local path it names sit under the read-only source mount
    for p in rt.manifest_paths(loaded):
        assert Path(os.path.commonpath([p, root])) == root
    assert vols[str(root)] == {"bind": "/host" + str(root), "mode": "ro"}
    work = str(settings.workdir.resolve())
    assert vols[work] == {"bind": "/host" + work, "mode": "rw"}
    mirror = str(settings.data_mirror.resolve())
    assert vols[mirror] == {"bind": "/host" + mirror, "mode": "ro"}
    assert vols[str(tmp_path / "hf")] == {"bind": "/hf-cache", "mode": "rw"}
    cache = str(settings.cache_dir.resolve())
    assert vols[cache] == {"bind": "/host" + cache, "mode": "rw"}
    assert kw["environment"]["BIOEVAL_CACHE"] == "/host" + cache
    # the manifest is reached through the read-only mount, at the same relative place
    manifest_inside = kw["command"][kw["command"].index("run-cell") + 1]
    assert manifest_inside == "/host" + str(SMOKE.resolve())
    assert manifest_inside.startswith(vols[str(root)]["bind"] + "/")
    assert kw["environment"]["HF_HOME"] == "/hf-cache"


def test_command_runs_exactly_this_cell_inside(smoke, settings):
    loaded, cell = smoke
    cmd = kwargs_for(loaded, cell, settings, {})["command"]
    # the host checked the local paths; inside, only the mounts are visible
    assert cmd[:3] == ["--allow-outside-paths", "--workdir", "/host" + str(settings.workdir.resolve())]
    assert cmd[cmd.index("--data-mirror") + 1] == "/host" + str(settings.data_mirror.resolve())
    assert cmd[cmd.index("run-cell") + 1:] == ["/host" + str(SMOKE.resolve()), "--run-id", cell.run_id]
    forced = kwargs_for(loaded, cell, settings, {}, force=True)["command"]
    assert forced[-1] == "--force"


def test_runs_as_the_invoking_user_without_capabilities(smoke, settings):
    loaded, cell = smoke
    kw = kwargs_for(loaded, cell, settings, {})
    assert kw["user"] == f"{os.getuid()}:{os.getgid()}"  # files it writes are the user's; no chown needed
    assert kw["cap_drop"] == ["ALL"] and kw["security_opt"] == ["no-new-privileges"]
    assert kw["environment"]["HOME"] == "/tmp"  # writable for any uid


def test_hf_token_only_in_the_run_environment(smoke, settings):
    loaded, cell = smoke
    with_token = kwargs_for(loaded, cell, settings, {"HF_TOKEN": "hf_secret_canary"})
    assert with_token["environment"]["HF_TOKEN"] == "hf_secret_canary"
    # ...and nowhere else in the request: not in the command, labels or mounts
    rest = {k: v for k, v in with_token.items() if k != "environment"}
    assert "hf_secret_canary" not in repr(rest)
    without = kwargs_for(loaded, cell, settings, {})
    assert "HF_TOKEN" not in without["environment"]
    assert without["environment"]["BIOEVAL_IMAGE_ID"] == "sha256:" + "1" * 64


def test_redactor_masks_the_token():
    redact = rt.redactor({"HF_TOKEN": "hf_secret_canary"})
    assert redact("Authorization: Bearer hf_secret_canary ok") == "Authorization: Bearer *** ok"
    assert rt.redactor({})("hf_secret_canary") == "hf_secret_canary"


def test_gpus_and_shared_memory_follow_the_manifest(tmp_path, settings):
    text = SMOKE.read_text().replace("resources: {gpus: 0,", "resources: {gpus: 2,")
    assert "gpus: 2" in text
    manifest = tmp_path / "manifests" / "gpu.yaml"
    manifest.parent.mkdir()
    manifest.write_text(text)
    loaded = load_manifest(manifest)
    cell = cells(loaded)[0]
    settings.allow_outside_paths = True  # the copy's ../assets is not the checkout's shipped assets
    kw = kwargs_for(loaded, cell, settings, {})
    (req,) = kw["device_requests"]
    assert req["Count"] == 2 and req["Capabilities"] == [["gpu"]]
    assert kw["shm_size"] == "16g"
    cpu_loaded = load_manifest(SMOKE)
    cpu_kw = kwargs_for(cpu_loaded, cells(cpu_loaded)[0], settings, {})
    assert "device_requests" not in cpu_kw and cpu_kw["shm_size"] == "1g"


@pytest.mark.parametrize("code, done, state", [(0, True, "done"), (0, False, "failed"), (3, False, "failed"),
                                                (137, False, "failed")])
def test_exit_status_maps_to_cell_status(tmp_path, code, done, state):
    rundir = RunDir(tmp_path, run_id_of({"x": 1})).create({"x": 1})
    if done:
        rundir.scores.write_text("{}")
        rundir.set_status("done")
    log = rundir.path / "container.log"
    log.write_text("loading\nerror: data file x.json is missing. Run bioeval fetch.\n" if code == 3 else "")
    result = rt._map_exit(rundir, code, oom=(code == 137), seconds=1.0, log_path=log)
    assert result.state == state and rundir.status()["state"] == state
    if state == "failed":
        assert rundir.status()["exit_code"] == code
        assert ("out of memory" in result.message) == (code == 137)
        assert ("data file x.json is missing" in rundir.status()["error"]) == (code == 3)


def test_dead_docker_host_is_a_clear_environment_problem(cli, tmp_path):
    dead = f"unix://{tmp_path}/no-such-docker.sock"
    proc = cli("build", "manifests/smoke.yaml", env={"DOCKER_HOST": dead})
    assert proc.returncode == 3, proc.stderr
    assert "cannot reach a Docker daemon at " + dead in proc.stderr
    assert "Traceback" not in proc.stderr


def test_done_cells_are_skipped_without_a_daemon(smoke, settings, monkeypatch, tmp_path):
    loaded, cell = smoke
    rundir = RunDir(settings.workdir, cell.run_id).create(cell.spec)
    rundir.scores.write_text("{}")
    rundir.set_status("done")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")  # would fail if it were contacted
    (row,) = rt.run_cells(loaded, [cell], settings, {})
    assert row["state"] == "skipped" and row["run_id"] == cell.run_id


def test_runtime_with_dead_docker_host(smoke, settings, monkeypatch, tmp_path):
    from bioeval.errors import EnvironmentProblem

    loaded, cell = smoke
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/dead.sock")
    with pytest.raises(EnvironmentProblem, match="cannot reach a Docker daemon"):
        rt.run_cells(loaded, [cell], settings, {})


def test_local_data_outside_the_allowed_folders_is_never_mounted(tmp_path, settings):
    """The host checks local paths before mounting: `/etc`-like data would make the read-only
    source mount cover the whole disk."""
    from bioeval.errors import InputRefused

    text = SMOKE.read_text().replace("../assets/smoke-data/smoke_EE_test.json", "/etc/hostname")
    assert "/etc/hostname" in text
    manifest = REPO / "manifests" / f".outside-{os.getpid()}.yaml"  # beside smoke.yaml: its assets stay allowed
    manifest.write_text(text)
    try:
        loaded = load_manifest(manifest)
        with pytest.raises(InputRefused, match="outside the manifest's folder"):
            kwargs_for(loaded, cells(loaded)[0], settings, {})
        settings.allow_outside_paths = True  # the user's explicit opt-in
        assert "/" in kwargs_for(loaded, cells(loaded)[0], settings, {})["volumes"]
    finally:
        manifest.unlink()


def test_declared_data_location_is_mounted_read_only_and_its_variable_set(tmp_path, settings, monkeypatch):
    data = tmp_path / "restricted"
    data.mkdir()
    text = SMOKE.read_text().replace("schema_version: 1", "schema_version: 1\ndata_locations: [{var: SMOKE_DATA}]")
    text = text.replace("../assets/smoke-data/smoke_EE_test.json", "\"${SMOKE_DATA}/ee_test.json\"")
    manifest = REPO / "manifests" / f".location-{os.getpid()}.yaml"
    manifest.write_text(text)
    monkeypatch.setenv("SMOKE_DATA", str(data))
    try:
        loaded = load_manifest(manifest)
        kw = kwargs_for(loaded, cells(loaded)[0], settings, {})
    finally:
        manifest.unlink()
    assert kw["volumes"][str(data)] == {"bind": "/host" + str(data), "mode": "ro"}
    assert kw["environment"]["SMOKE_DATA"] == "/host" + str(data)
