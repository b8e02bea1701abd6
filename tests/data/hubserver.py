"""A real HTTP server on 127.0.0.1 for the data tests: static files plus the few Hub endpoints
huggingface_hub calls (repo info by revision, file resolve).  It counts requests and can be
told to fail a path N times (503) to exercise retries."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


class HubServer:
    def __init__(self):
        self.roots: dict[str, Path] = {}  # url prefix -> folder, e.g. "files" -> mirror dir
        self.repos: dict[tuple[str, str], dict] = {}  # (type, repo) -> {"refs": {rev: sha}, "files": {name: bytes}}
        self.fail: Counter = Counter()  # path -> remaining 503 answers
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                server._answer(self, head=True)

            def do_GET(self):
                server._answer(self, head=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def count(self, suffix: str = "", method: str | None = None) -> int:
        return sum(1 for m, p in self.requests if p.endswith(suffix) and (method is None or m == method))

    def add_repo(self, repo_type: str, repo: str, refs: dict[str, str], files: dict[str, bytes] | None = None):
        self.repos[(repo_type, repo)] = {"refs": refs, "files": files or {}}

    # ------------------------------------------------------------------ answering
    def _answer(self, h: BaseHTTPRequestHandler, head: bool):
        path = unquote(h.path.split("?", 1)[0])
        with self._lock:
            self.requests.append((h.command, path))
            if self.fail[path] > 0:
                self.fail[path] -= 1
                return self._send(h, 503, b"try later", head)
        if path.startswith("/api/"):
            return self._api(h, path, head)
        if "/resolve/" in path:
            return self._resolve(h, path, head)
        prefix, _, rest = path.lstrip("/").partition("/")
        root = self.roots.get(prefix)
        if root is not None and rest and ".." not in rest and (root / rest).is_file():
            return self._send(h, 200, (root / rest).read_bytes(), head)
        return self._send(h, 404, b"not found", head)

    def _repo(self, repo_type: str, repo: str, rev: str):
        entry = self.repos.get((repo_type, repo))
        if entry is None:
            return None, None
        refs = entry["refs"]
        sha = refs.get(rev) or (rev if rev in refs.values() else None)
        return entry, sha

    def _api(self, h, path: str, head: bool):
        # /api/{models|datasets}/{org}/{name}/revision/{rev}
        parts = path.split("/")
        if len(parts) >= 7 and parts[5] == "revision":
            repo_type = parts[2].rstrip("s")
            repo = f"{parts[3]}/{parts[4]}"
            entry, sha = self._repo(repo_type, repo, "/".join(parts[6:]))
            if entry is None:
                return self._send(h, 404, b'{"error":"Repository not found"}', head, {"X-Error-Code": "RepoNotFound"})
            if sha is None:
                return self._send(h, 404, b'{"error":"Invalid rev id"}', head, {"X-Error-Code": "RevisionNotFound"})
            body = json.dumps({"id": repo, "sha": sha, "siblings": [{"rfilename": f} for f in entry["files"]]})
            return self._send(h, 200, body.encode(), head, {"Content-Type": "application/json"})
        return self._send(h, 404, b"{}", head)

    def _resolve(self, h, path: str, head: bool):
        # /{repo} or /datasets/{repo} + /resolve/{rev}/{filename}
        before, _, after = path.lstrip("/").partition("/resolve/")
        repo_type = "dataset" if before.startswith("datasets/") else "model"
        repo = before.removeprefix("datasets/")
        rev, _, filename = after.partition("/")
        entry, sha = self._repo(repo_type, repo, rev)
        if entry is None or sha is None:
            return self._send(h, 404, b"", head, {"X-Error-Code": "RepoNotFound" if entry is None else "RevisionNotFound"})
        data = entry["files"].get(filename)
        if data is None:
            return self._send(h, 404, b"", head, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha})
        etag = hashlib.sha256(data).hexdigest()
        return self._send(h, 200, data, head, {"X-Repo-Commit": sha, "ETag": f'"{etag}"'})

    @staticmethod
    def _send(h, code: int, body: bytes, head: bool, headers: dict | None = None):
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)
