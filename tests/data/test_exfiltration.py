"""Inputs cannot exfiltrate: a canary secret in ${VAR} and in a `local:` path never reaches the
console or a file, and a local path outside the manifest's folder, the data mirror and the
declared data locations is refused unless the user opts in (--allow-outside-paths)."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import write_manifest

CANARY = "hf_canary_0123456789abcdefSECRET"
TINY_CSV = "text,label\nhello,1\nbye,0\nmaybe,1\n"


def _dataset(local: str, fmt: str = "text-label") -> str:
    return f"""\
        - key: d
          paper_name: D
          task: TC
          format: {fmt}
          splits:
            test: {{source: {{local: "{local}"}}, records: 3}}
        """


def test_secret_variable_in_a_local_path_is_refused_and_never_printed(tmp_path, cli):
    path = write_manifest(tmp_path, _dataset("${HF_TOKEN}/x.csv"))
    env = {"HF_TOKEN": CANARY}
    for args in (("validate", str(path)), ("plan", str(path)), ("fetch", "--data-only", str(path))):
        proc = cli(*args, env=env)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "looks like a secret" in proc.stderr
        assert CANARY not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr


def test_undeclared_variable_is_refused_with_its_line(tmp_path, cli):
    path = write_manifest(tmp_path, _dataset("${HOME_DATA}/x.csv"))
    proc = cli("validate", str(path), env={"HOME_DATA": str(tmp_path)})
    assert proc.returncode == 2
    assert f"{path}:" in proc.stderr and "not a declared data location" in proc.stderr


def test_declared_data_location_is_expanded_and_confined(tmp_path, cli):
    data = tmp_path / "restricted"
    data.mkdir()
    (data / "x.csv").write_text(TINY_CSV)
    (tmp_path / "outside.csv").write_text(TINY_CSV)
    manifests = tmp_path / "m"
    manifests.mkdir()
    ok = write_manifest(manifests, _dataset("${MY_DATA}/x.csv"))
    ok.write_text(ok.read_text().replace("schema_version: 1", "schema_version: 1\ndata_locations: [{var: MY_DATA}]"))
    proc = cli("fetch", "--data-only", str(ok), env={"MY_DATA": str(data)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # ${VAR}/.. must not climb out of the data location
    escape = write_manifest(manifests, _dataset("${MY_DATA}/../outside.csv"), name="escape.yaml")
    escape.write_text(escape.read_text().replace("schema_version: 1",
                                                 "schema_version: 1\ndata_locations: [{var: MY_DATA}]"))
    proc = cli("fetch", "--data-only", str(escape), env={"MY_DATA": str(data)})
    assert proc.returncode == 2 and "outside the data location" in proc.stderr, proc.stderr


def test_local_path_outside_the_manifest_folder_needs_the_opt_in(tmp_path, cli):
    home = tmp_path / "home"
    home.mkdir()
    creds = home / "creds.csv"  # a private file with a secret in it, not meant as data
    creds.write_text("text,label\nhello," + "x" * 45 + CANARY + "\n")
    manifests = tmp_path / "project"
    manifests.mkdir()
    for local in ("../home/creds.csv", str(creds)):
        path = write_manifest(manifests, _dataset(local, fmt="ade-classification"))
        proc = cli("fetch", "--data-only", str(path))
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "outside the manifest's folder" in proc.stderr and "--allow-outside-paths" in proc.stderr
        assert CANARY not in proc.stdout + proc.stderr
    # the user's explicit opt-in reads it; the converter's error still quotes no more than an excerpt
    proc = cli("--allow-outside-paths", "fetch", "--data-only", str(path))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "record 0 has label" in proc.stdout + proc.stderr
    assert "canary" not in proc.stdout + proc.stderr


def test_a_symlink_out_of_the_manifest_folder_is_refused(tmp_path, cli):
    secret = tmp_path / "secret.csv"
    secret.write_text(TINY_CSV)
    manifests = tmp_path / "project"
    manifests.mkdir()
    (manifests / "data.csv").symlink_to(secret)
    path = write_manifest(manifests, _dataset("./data.csv"))
    proc = cli("fetch", "--data-only", str(path))
    assert proc.returncode == 2 and "outside the manifest's folder" in proc.stderr


def test_secret_values_are_scrubbed_from_console_and_files(tmp_path, cli):
    """Whatever carries a secret value (here the manifest's own title) is printed and saved masked."""
    path = write_manifest(tmp_path, _dataset("./x.csv"))
    path.write_text(path.read_text().replace('title: "data tests"', f'title: "data tests {CANARY}"'))
    env = {"HF_TOKEN": CANARY, "MY_SERVICE_API_KEY": CANARY[::-1]}
    proc = cli("plan", "--json", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert CANARY not in proc.stdout and "***" in proc.stdout
    json.loads(proc.stdout)  # still valid JSON
    from bioeval.runs import write_json

    import os
    os.environ["MY_SERVICE_API_KEY"] = CANARY[::-1]
    try:
        write_json(tmp_path / "receipt.json", {"note": f"key {CANARY[::-1]} used"})
    finally:
        del os.environ["MY_SERVICE_API_KEY"]
    saved = (tmp_path / "receipt.json").read_text()
    assert CANARY[::-1] not in saved and json.loads(saved)["note"] == "key *** used"


local_values = st.one_of(
    st.text(alphabet=st.sampled_from(list("$/{}._~-aZ9 \\")) | st.characters(), max_size=30),
    st.builds(lambda a, b: f"{a}${{{b}}}/x", st.sampled_from(["", "./", "/"]),
              st.sampled_from(["MY_DATA", "HF_TOKEN", "HOME", "", "MY_DATA}/..", "X"])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(local=local_values)
def test_any_local_value_is_loaded_or_refused_never_a_crash(tmp_path, local):
    """Whatever a `local:` says, loading and fetching give a located error or a file inside the
    allowed folders; the secret canary is never expanded."""
    from bioeval.data.sources import fetch_source
    from bioeval.errors import BioevalError, ManifestError
    from bioeval.manifest import load_manifest
    from bioeval.settings import Settings

    path = write_manifest(tmp_path, _dataset("x.csv"))
    text = path.read_text().replace('local: "x.csv"', "local: " + json.dumps(local))
    path.write_text(text.replace("schema_version: 1", "schema_version: 1\ndata_locations: [{var: MY_DATA}]"))
    try:
        loaded = load_manifest(path)
    except ManifestError:
        return
    source = loaded.manifest.datasets[0].splits["test"].source
    os.environ["HF_TOKEN"], os.environ["MY_DATA"] = CANARY, str(tmp_path / "data")
    try:
        fetched = fetch_source(source, loaded.base_dir, Settings(cache_dir=tmp_path / "cache"),
                               data_locations=("MY_DATA",))
    except BioevalError as exc:
        assert CANARY not in str(exc)
        return
    finally:
        del os.environ["HF_TOKEN"], os.environ["MY_DATA"]
    assert tmp_path in fetched.path.resolve().parents
