"""`bioeval lock` through the real CLI against a real local HTTP server standing in for the Hub
(HF_ENDPOINT) and for plain URLs; no patched functions."""

from __future__ import annotations

import re

from bioeval.manifest import load_manifest
from conftest import write_manifest

PHEE_SHA = "a75587d5c00e2a03ae0d46dd2d865b688d37237c3c25616a776d1604ca1de29c"
BIORED_SHA = "f038d927f110c52369fbefc8a56891c9c48e7e03cc33371220730634a94f7b28"
MODEL_A = "a" * 40
MODEL_B = "b" * 40
DATA_COMMIT = "c" * 40
# an R1-distill-like repo: sampling on (model-b's repo has no generation_config.json)
GENERATION_CONFIG = b'{"_from_model_config": true, "bos_token_id": 1, "do_sample": true, "temperature": 0.6, "top_p": 0.95}'

MODELS = f"""\
models:
  # model A is on a branch until locked
  - key: model-a
    paper_name: "Model A"
    repo: org/model-a
    revision: main   # resolve me
  - key: model-b
    paper_name: "Model B"
    repo: org/model-b
    revision: {MODEL_B}
    license: MIT
"""


def datasets(hub) -> str:
    return f"""\
        - key: phee
          paper_name: PHEE
          task: EE
          splits:
            test: {{source: {{url: "{hub.url}/files/EE_phee_test.json", sha256: null}}, records: 968}}  # fill me
        - key: biored
          paper_name: BioRED
          task: RE
          splits:
            test:
              source:
                hf: {{repo: org/biored, revision: main, filename: RE_BioRED_test.json}}
                sha256: null
              records: 100
        """


def env(hub):
    return {"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1",
            "BIOEVAL_BACKOFF": "0.01", "BIOEVAL_RETRIES": "2"}


def serve_repos(hub, mirror):
    hub.add_repo("model", "org/model-a", {"main": MODEL_A}, {"generation_config.json": GENERATION_CONFIG})
    hub.add_repo("model", "org/model-b", {"main": MODEL_B})
    hub.add_repo("dataset", "org/biored", {"main": DATA_COMMIT},
                 {"RE_BioRED_test.json": (mirror / "RE_BioRED_test.json").read_bytes()})


def test_lock_check_then_lock_then_check_again(cli, hub, tmp_path, mirror):
    serve_repos(hub, mirror)
    path = write_manifest(tmp_path, datasets(hub), MODELS)
    original = path.read_text()

    check = cli("lock", str(path), "--check", env=env(hub))
    assert check.returncode == 1, check.stdout + check.stderr
    assert "would change" in check.stdout and path.read_text() == original

    r = cli("lock", str(path), env=env(hub))
    assert r.returncode == 0, r.stdout + r.stderr
    text = path.read_text()
    # comments and layout survive; only the pinned values changed
    for comment in ("# a test manifest (comments must survive `bioeval lock`)", "# inline comment",
                    "# model A is on a branch until locked", "# resolve me", "# fill me"):
        assert comment in text
    assert re.search(rf"\n    revision: {MODEL_A} +# resolve me\n", text)
    assert re.search(rf"sha256: {PHEE_SHA}}}, records: 968}} +# fill me", text)
    assert "\n  - key: model-b\n" in text and "\n  - key: biored\n" in text  # list indentation kept
    assert f"revision: {DATA_COMMIT}, filename: RE_BioRED_test.json}}" in text
    assert f"sha256: {BIORED_SHA}" in text
    assert [line for line in text.splitlines() if "verified: true" in line] == ["    verified: true"] * 2
    # two verified and two generation_config lines, nothing else
    assert len(text.splitlines()) == len(original.splitlines()) + 4
    m = load_manifest(path).manifest  # now validates: every revision is a commit
    assert [x.verified for x in m.models] == [True, True]
    # decoding per model as the repo's generation_config.json says at the pinned commit
    import hashlib
    assert m.models[0].generation_config == {
        "revision": MODEL_A, "file": "generation_config.json", "sha256": hashlib.sha256(GENERATION_CONFIG).hexdigest(),
        "do_sample": True, "temperature": 0.6, "top_p": 0.95}
    assert m.models[1].generation_config == {"revision": MODEL_B, "file": "absent"}
    assert hub.count(f"/org/model-a/resolve/{MODEL_A}/generation_config.json") >= 1
    assert hub.count("/api/models/org/model-a/revision/main") >= 1
    assert hub.count(f"/api/models/org/model-b/revision/{MODEL_B}") >= 1

    again = cli("lock", str(path), "--check", env=env(hub))
    assert again.returncode == 0 and "already locked" in again.stdout
    assert path.read_text() == text


def test_lock_reports_what_it_cannot_resolve_and_keeps_the_rest(cli, hub, tmp_path, mirror):
    serve_repos(hub, mirror)
    models = MODELS.replace("org/model-b", "org/missing")
    path = write_manifest(tmp_path, datasets(hub), models)
    r = cli("lock", str(path), env=env(hub))
    assert r.returncode == 3
    assert "not locked" in r.stdout and "org/missing" in r.stdout and "Traceback" not in r.stderr
    text = path.read_text()
    assert f"revision: {MODEL_A}" in text and PHEE_SHA in text  # what could be locked was written


def test_lock_offline_says_so(cli, tmp_path, hub, mirror):
    path = write_manifest(tmp_path, datasets(hub), MODELS)
    r = cli("lock", str(path), "--check", env={**env(hub), "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 3 and "not locked" in r.stdout and "offline" in r.stdout.lower()
