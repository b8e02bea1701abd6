"""`bioeval fetch` through the real CLI (subprocess) against the real local HTTP server."""

from __future__ import annotations


from conftest import write_manifest

PHEE_SHA = "a75587d5c00e2a03ae0d46dd2d865b688d37237c3c25616a776d1604ca1de29c"
BIORED_SHA = "f038d927f110c52369fbefc8a56891c9c48e7e03cc33371220730634a94f7b28"
FAST = {"BIOEVAL_BACKOFF": "0.01", "BIOEVAL_RETRIES": "2"}


def phee(url: str, sha: str | None = PHEE_SHA) -> str:
    return f"""\
        - key: phee
          paper_name: PHEE
          task: EE
          splits:
            test: {{source: {{url: "{url}", sha256: {sha or 'null'}}}, records: 968}}
        """


def test_fetch_table_and_cache_reuse(cli, hub, tmp_path):
    path = write_manifest(tmp_path, phee(f"{hub.url}/files/EE_phee_test.json"))
    first = cli("fetch", "--data-only", str(path), env=FAST)
    assert first.returncode == 0, first.stderr
    assert "url" in first.stdout and "ok" in first.stdout and "968" in first.stdout
    second = cli("fetch", "--data-only", str(path), env=FAST)
    assert second.returncode == 0 and "cache" in second.stdout
    assert hub.count("/files/EE_phee_test.json") == 1


def test_fetch_refuses_a_corrupted_download_with_exit_3(cli, hub, tmp_path):
    path = write_manifest(tmp_path, phee(f"{hub.url}/bad/EE_phee_test.json"))
    r = cli("fetch", "--data-only", str(path), env=FAST)
    assert r.returncode == 3
    assert "refused" in r.stdout and "sha256 mismatch" in r.stdout and PHEE_SHA in r.stdout.replace("\n", "")
    assert "Traceback" not in r.stderr


def test_fetch_reports_missing_files_as_unavailable_exit_3(cli, hub, tmp_path, mirror):
    path = write_manifest(tmp_path, phee(f"{hub.url}/files/does-not-exist.json"))
    r = cli("--data-mirror", str(mirror), "fetch", "--data-only", str(path), env=FAST)
    assert r.returncode == 3 and "unavailable" in r.stdout and "HTTP 404" in r.stdout.replace("\n", "")
    assert "Traceback" not in r.stderr


def test_fetch_only_unknown_dataset_is_a_usage_error(cli, tmp_path):
    path = write_manifest(tmp_path, phee("http://127.0.0.1:9/EE_phee_test.json"))
    r = cli("fetch", str(path), "--only", "dataset=nope")
    assert r.returncode == 2 and "unknown dataset nope" in r.stderr


def test_fetch_offline_from_mirror_only(cli, mirror, tmp_path):
    path = write_manifest(tmp_path, phee("https://raw.githubusercontent.invalid/x/EE_phee_test.json"))
    r = cli("--data-mirror", str(mirror), "fetch", "--data-only", str(path), env=FAST)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mirror" in r.stdout


def test_fetch_hf_source_through_huggingface_hub(cli, hub, tmp_path, mirror):
    commit = "1" * 40
    hub.add_repo("dataset", "org/biored", {"main": commit},
                 {"RE_BioRED_test.json": (mirror / "RE_BioRED_test.json").read_bytes()})
    path = write_manifest(tmp_path, f"""\
        - key: biored
          paper_name: BioRED
          task: RE
          splits:
            test:
              source: {{hf: {{repo: org/biored, revision: "{commit}", filename: RE_BioRED_test.json}}, sha256: {BIORED_SHA}}}
              records: 100
        """)
    env = {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1", **FAST}
    r = cli("fetch", "--data-only", str(path), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " hf " in r.stdout and "ok" in r.stdout
    assert hub.count("/datasets/org/biored/resolve/" + commit + "/RE_BioRED_test.json", "GET") == 1
    wrong = path.with_name("wrong.yaml")
    wrong.write_text(path.read_text().replace("filename: RE_BioRED_test.json", "filename: nope.json"))
    missing = cli("fetch", "--data-only", str(wrong), env=env)
    assert missing.returncode == 3 and "EntryNotFoundError" in missing.stdout and "Traceback" not in missing.stderr
    # HF_HUB_OFFLINE=1 then serves it from the HF cache (HF_HOME) without the server
    before = len(hub.requests)
    off = cli("fetch", "--data-only", str(path), env={**env, "HF_HUB_OFFLINE": "1"})
    assert off.returncode == 0, off.stdout + off.stderr
    assert len(hub.requests) == before


def test_fetch_includes_the_shipped_model(cli):
    r = cli("fetch", "manifests/smoke.yaml")
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(x for x in r.stdout.splitlines() if "tiny-llama" in x)
    assert "model" in line and "local" in line


def test_fetch_exits_3_when_a_split_cannot_be_parsed(cli, tmp_path):
    (tmp_path / "broken.json").write_text('[{"instruction": "x", "inputsentence": "y", "response": ')  # truncated
    path = write_manifest(tmp_path, """\
        - key: broken
          paper_name: Broken
          task: EE
          splits:
            test: {source: {local: ./broken.json}}
        """)
    r = cli("fetch", "--data-only", str(path))
    assert r.returncode == 3, r.stdout + r.stderr
    out = " ".join((r.stdout + r.stderr).split())
    assert "unreadable" in out and "broken.json: not valid JSON (line 1" in out
    assert "Traceback" not in r.stderr
