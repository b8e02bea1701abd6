"""Issue 23, finding 5: a variable is secret by the words anywhere in its name, not only between
`_`s; a secret or URL variable is never a data location, and messages about a ${VAR}/... path
print it unexpanded, never the variable's value."""

from __future__ import annotations

import pytest

from conftest import write_manifest

CANARY = "canary-0123456789-value"
SECRET_NAMES = ["PGPASSWORD", "MYSQL_PWD", "GH_PAT", "GITHUB_TOKEN2", "HFTOKEN", "SECRETKEY", "APITOKEN",
                "SENTRY_DSN", "DB_PASS", "AWS_SECRET_ACCESS_KEY", "MY_CREDENTIALS"]
# every ${VAR} the shipped manifests and docs use, and common names that only look alike
PLAIN_NAMES = ["GUO_SARKER_DATA", "MY_DATA", "PRIVATE_DATA", "SOME_DATA", "SMOKE_DATA", "HOME_DATA",
               "PATIENT_DATA", "PATHOLOGY_DATA", "CUDA_VISIBLE_DEVICES", "SLURM_ARRAY_TASK_ID"]


def _manifest(tmp_path, var: str, file: str = "x.csv"):
    path = write_manifest(tmp_path, f"""\
        - key: d
          paper_name: D
          task: TC
          format: text-label
          splits:
            test: {{source: {{local: "${{{var}}}/{file}"}}, records: 3}}
        """)
    path.write_text(path.read_text().replace("schema_version: 1", f"schema_version: 1\ndata_locations: [{{var: {var}}}]"))
    return path


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_are_found_by_their_words(name):
    from bioeval.redact import looks_secret, scrub

    assert looks_secret(name)
    assert scrub(f"x {CANARY} y", {name: CANARY}) == "x *** y"


@pytest.mark.parametrize("name", PLAIN_NAMES + ["PWD", "OLDPWD", "PATH", "HOME"])
def test_the_names_the_manifests_and_docs_use_are_not_secret(name):
    from bioeval.redact import looks_secret

    assert not looks_secret(name)


def test_a_url_with_a_password_is_scrubbed_whatever_its_name():
    from bioeval.redact import scrub

    url = "postgres://user:hunter2hunter2@db.example/x"
    text = scrub(f"connect {url}; password hunter2hunter2", {"DATABASE_URL": url})
    assert "hunter2hunter2" not in text and text == "connect ***; password ***"


@pytest.mark.parametrize("name", ["PGPASSWORD", "MYSQL_PWD", "GH_PAT", "HFTOKEN", "DATABASE_URL"])
def test_a_secret_or_url_variable_is_never_a_data_location(tmp_path, cli, name):
    value = "postgres://u:" + CANARY + "@h" if name == "DATABASE_URL" else CANARY
    path = _manifest(tmp_path, name)
    for args in (("validate", str(path)), ("fetch", "--data-only", str(path))):
        proc = cli(*args, env={name: value})
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert f"{path}:" in proc.stderr and name in proc.stderr
        assert CANARY not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_missing_file_under_a_data_location_is_named_unexpanded(tmp_path, cli):
    folder = tmp_path / f"private-{CANARY}"
    folder.mkdir()
    path = _manifest(tmp_path, "MY_DATA", "missing.csv")
    proc = cli("fetch", "--data-only", str(path), env={"MY_DATA": str(folder)})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "${MY_DATA}/missing.csv" in out.replace("\n", "") and CANARY not in out
    # and `..` out of it is refused without printing where it leads
    escape = _manifest(tmp_path, "MY_DATA", "../../x.csv")
    proc = cli("fetch", "--data-only", str(escape), env={"MY_DATA": str(folder)})
    assert proc.returncode == 2 and "outside the data location ${MY_DATA}" in proc.stderr
    assert CANARY not in proc.stdout + proc.stderr


def _smoke_with_location(tmp_path, var: str):
    import shutil
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    for part in ("manifests", "assets"):
        shutil.copytree(repo / part, tmp_path / part, ignore=shutil.ignore_patterns("*.py"))
    path = tmp_path / "manifests" / "smoke.yaml"
    text = path.read_text().replace("local: ../assets/smoke-data/smoke_TC_test.json",
                                    f'local: "${{{var}}}/smoke_TC_test.json"')
    path.write_text(text.replace("schema_version: 1", f"schema_version: 1\ndata_locations: [{{var: {var}}}]", 1))
    return path


def test_a_failed_cell_records_the_path_unexpanded_in_status_and_log(tmp_path, cli):
    folder = tmp_path / f"private-{CANARY}"
    folder.mkdir()
    path = _smoke_with_location(tmp_path, "MY_DATA")
    workdir = tmp_path / "w"
    proc = cli("--workdir", str(workdir), "run", str(path), "--only", "dataset=smoke-tc", env={"MY_DATA": str(folder)})
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (status,) = workdir.glob("*/status.json")
    log = status.parent / "log.txt"
    assert "${MY_DATA}/smoke_TC_test.json" in status.read_text() and "${MY_DATA}" in log.read_text()
    for f in workdir.rglob("*"):
        if f.is_file():
            assert CANARY not in f.read_text(errors="replace"), f
    assert CANARY not in proc.stdout + proc.stderr


def test_a_secret_data_location_never_reaches_a_run_folder(tmp_path, cli):
    path = _smoke_with_location(tmp_path, "PGPASSWORD")
    workdir = tmp_path / "w"
    proc = cli("--workdir", str(workdir), "run", str(path), "--only", "dataset=smoke-tc", env={"PGPASSWORD": CANARY})
    assert proc.returncode == 2 and "PGPASSWORD" in proc.stderr, proc.stdout + proc.stderr
    assert CANARY not in proc.stdout + proc.stderr
    assert not any(CANARY in f.read_text(errors="replace") for f in workdir.rglob("*") if f.is_file())
