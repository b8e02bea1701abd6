"""Model snapshots at pinned revisions through huggingface_hub, against a real local HTTP Hub."""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from tests.data.hubserver import HubServer
from tests.engine.conftest import REPO, TINY

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SECRET = "hf_notarealtoken_1234567890"

FETCH = """
import json, sys
from bioeval.engine.model_fetch import fetch_model
from bioeval.errors import BioevalError
from bioeval.manifest.schema import Model
m = Model(key="m", paper_name="M", repo=sys.argv[1], revision=sys.argv[2])
try:
    print(json.dumps({"path": str(fetch_model(m, cache_dir=sys.argv[3]))}))
except BioevalError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


class GatedHub(HubServer):
    """The Hub's answer for a gated repo the caller has no access to: 403 + X-Error-Code GatedRepo."""

    gated = {"org/gated"}

    def _api(self, h, path, head):
        if any(f"/api/models/{repo}/" in path for repo in self.gated):
            return self._send(h, 403, b'{"error":"Access to model org/gated is restricted."}', head,
                              {"X-Error-Code": "GatedRepo"})
        parts = path.split("/")  # /api/models/{org}/{name}/tree/{rev}: the file list snapshot_download reads
        if len(parts) >= 7 and parts[5] == "tree":
            entry, sha = self._repo("model", f"{parts[3]}/{parts[4]}", parts[6])
            if entry is None or sha is None:
                return self._send(h, 404, b"{}", head, {"X-Error-Code": "RevisionNotFound"})
            tree = [{"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                    for name, data in entry["files"].items()]
            return self._send(h, 200, json.dumps(tree).encode(), head, {"Content-Type": "application/json"})
        return super()._api(h, path, head)

    def _resolve(self, h, path, head):
        if any(path.lstrip("/").startswith(f"{repo}/") for repo in self.gated):
            return self._send(h, 403, b"", head, {"X-Error-Code": "GatedRepo"})
        return super()._resolve(h, path, head)


@pytest.fixture
def hub():
    server = GatedHub().start()
    files = {p.name: p.read_bytes() for p in TINY.iterdir() if p.is_file()}
    server.add_repo("model", "org/tiny", {"main": COMMIT}, files)
    server.add_repo("model", "org/gated", {"main": COMMIT}, files)
    yield server
    server.stop()


def fetch(hub, repo, tmp_path, offline=False, token=None):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "1" if offline else "0",
           "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "5"}
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    res = subprocess.run([sys.executable, "-c", FETCH, repo, COMMIT, str(tmp_path / "cache")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert SECRET not in res.stdout + res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_snapshot_at_the_pinned_revision(hub, tmp_path):
    out = fetch(hub, "org/tiny", tmp_path, token=SECRET)
    path = out["path"]
    assert COMMIT in path  # the snapshot folder is named by the commit
    assert json.loads(open(os.path.join(path, "config.json")).read())["architectures"] == ["LlamaForCausalLM"]
    assert (TINY / "model.safetensors").read_bytes() == open(os.path.join(path, "model.safetensors"), "rb").read()
    again = fetch(hub, "org/tiny", tmp_path, offline=True)  # cached: works offline
    assert again["path"] == path


def test_gated_repo_without_access_is_a_clear_error(hub, tmp_path):
    out = fetch(hub, "org/gated", tmp_path, token=SECRET)
    assert out["error"] == "ModelError"
    assert "gated repository" in out["message"] and "has no access" in out["message"]
    assert "huggingface.co/org/gated" in out["message"]
    out = fetch(hub, "org/gated", tmp_path)
    assert "no HF_TOKEN is set" in out["message"] and "export HF_TOKEN" in out["message"]


def test_offline_and_not_cached(hub, tmp_path):
    out = fetch(hub, "org/tiny", tmp_path, offline=True)
    assert out["error"] == "ModelError" and "not cached" in out["message"]
