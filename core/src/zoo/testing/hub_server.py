"""A local Hugging Face Hub on 127.0.0.1 for tests: enough of the Hub's HTTP API for the real
``huggingface_hub`` client to create repos, commit files, resolve revisions and download.

    with LocalHub() as hub:            # or the ``local_hub`` pytest fixture
        os.environ["HF_ENDPOINT"] = hub.url
        ...

Repos live in memory with their full commit history, so pinned revisions keep working after a
new commit. Uploads are always answered "regular" (inline base64), so no LFS or Xet server is
needed. ``hub.requests`` logs every request, so a test can assert that a warm-cache load made none;
``hub.tamper(repo_id, path, data)`` makes the server serve other bytes for a file, as a corrupted
mirror would.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ZERO_COMMIT = "0" * 40


@dataclass
class Commit:
    oid: str
    files: dict[str, bytes]
    message: str = ""


@dataclass
class Repo:
    repo_id: str
    commits: list[Commit] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> Commit | None:
        oid = self.branches.get(revision, revision)
        return next((c for c in self.commits if c.oid == oid), None)


class LocalHub:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.tampered: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()
        hub = self

        class Handler(_Handler):
            owner = hub

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> LocalHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- direct access for tests -------------------------------------------------------------
    def create_repo(self, repo_id: str) -> Repo:
        with self._lock:
            return self.repos.setdefault(repo_id, Repo(repo_id))

    def commit(self, repo_id: str, files: dict[str, bytes], message: str = "", branch: str = "main") -> str:
        """Add or replace files on ``branch`` as one commit; returns the 40-hex commit id."""
        repo = self.create_repo(repo_id)
        with self._lock:
            parent = repo.resolve(branch)
            merged = dict(parent.files if parent else {})
            merged.update(files)
            digest = hashlib.sha1((parent.oid if parent else ZERO_COMMIT).encode() + message.encode())
            for path in sorted(merged):
                digest.update(path.encode() + b"\0" + hashlib.sha256(merged[path]).digest())
            commit = Commit(digest.hexdigest(), merged, message)
            repo.commits.append(commit)
            repo.branches[branch] = commit.oid
            return commit.oid

    def tamper(self, repo_id: str, path: str, data: bytes | None) -> None:
        """Serve ``data`` instead of the committed bytes of ``path`` (None restores them)."""
        with self._lock:
            if data is None:
                self.tampered.pop((repo_id, path), None)
            else:
                self.tampered[(repo_id, path)] = data

    def count(self, method: str | None = None, contains: str = "") -> int:
        return sum(1 for m, p in self.requests if (method is None or m == method) and contains in p)


class _Handler(BaseHTTPRequestHandler):
    owner: LocalHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean; requests are in owner.requests
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, *, head: bool = False):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _json(self, status: int, payload, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, code: str, message: str, *, head: bool = False, commit: str | None = None):
        headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
        if commit:
            headers["X-Repo-Commit"] = commit
        self._send(status, json.dumps({"error": message}).encode(), headers, head=head)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self) -> str:
        path = urlsplit(self.path).path
        self.owner.requests.append((self.command, path))
        return path

    def do_HEAD(self) -> None:
        self._resolve(self._record(), head=True)

    def do_GET(self) -> None:
        path = self._record()
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            return self._api_model(parts[2] + "/" + parts[3], parts[4:])
        return self._resolve(path, head=False)

    def do_POST(self) -> None:
        path = self._record()
        parts = [unquote(p) for p in path.strip("/").split("/")]
        body = self._body()
        if parts == ["api", "repos", "create"]:
            payload = json.loads(body or b"{}")
            repo_id = f"{payload.get('organization') or 'user'}/{payload['name']}"
            if repo_id in self.owner.repos:  # the Hub's 409 still carries the url, which the client reads
                return self._json(409, {"error": f"{repo_id} already exists", "url": f"{self.owner.url}/{repo_id}"})
            self.owner.create_repo(repo_id)
            return self._json(200, {"url": f"{self.owner.url}/{repo_id}", "name": repo_id})
        if parts == ["api", "validate-yaml"]:
            return self._json(200, {"errors": [], "warnings": []})
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in {"preupload", "commit"}:
            repo_id, revision = parts[2] + "/" + parts[3], "/".join(parts[5:])
            repo = self.owner.repos.get(repo_id)
            if repo is None:
                return self._error(404, "RepoNotFound", f"{repo_id} not found")
            if parts[4] == "preupload":
                files = json.loads(body)["files"]
                return self._json(200, {"files": [{"path": f["path"], "uploadMode": "regular",
                                                   "shouldIgnore": False, "oid": None} for f in files]})
            return self._commit(repo_id, revision, body)
        return self._error(404, "NotFound", f"no route for POST {path}")

    def _commit(self, repo_id: str, revision: str, body: bytes) -> None:
        files, message = {}, ""
        for line in body.splitlines():
            item = json.loads(line)
            if item["key"] == "header":
                message = item["value"].get("summary", "")
            elif item["key"] == "file":
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            else:
                return self._error(400, "Unsupported", f"the local hub does not support {item['key']!r} operations")
        oid = self.owner.commit(repo_id, files, message, branch=revision)
        self._json(200, {"commitUrl": f"{self.owner.url}/{repo_id}/commit/{oid}", "commitOid": oid,
                         "pullRequestUrl": None})

    def _api_model(self, repo_id: str, rest: list[str]) -> None:
        repo = self.owner.repos.get(repo_id)
        if repo is None:
            return self._error(404, "RepoNotFound", f"{repo_id} not found")
        revision = "main"
        if rest[:1] in (["revision"], ["tree"]) and len(rest) >= 2:
            revision = rest[1]
        commit = repo.resolve(revision)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"{repo_id}@{revision} not found")
        if rest[:1] == ["tree"]:
            entries = [{"type": "file", "path": p, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                       for p, d in sorted(commit.files.items())]
            return self._json(200, entries)
        return self._json(200, {"id": repo_id, "modelId": repo_id, "sha": commit.oid, "private": False,
                                "siblings": [{"rfilename": p} for p in sorted(commit.files)]})

    def _resolve(self, path: str, *, head: bool) -> None:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) < 5 or parts[2] != "resolve":
            return self._error(404, "NotFound", f"no route for {path}", head=head)
        repo_id, revision, filename = parts[0] + "/" + parts[1], parts[3], "/".join(parts[4:])
        repo = self.owner.repos.get(repo_id)
        if repo is None:
            return self._error(404, "RepoNotFound", f"{repo_id} not found", head=head)
        commit = repo.resolve(revision)
        if commit is None:
            return self._error(404, "RevisionNotFound", f"{repo_id}@{revision} not found", head=head)
        if filename not in commit.files:
            return self._error(404, "EntryNotFound", f"{filename} not in {repo_id}@{revision}", head=head,
                               commit=commit.oid)
        data = self.owner.tampered.get((repo_id, filename), commit.files[filename])
        etag = hashlib.sha256(commit.files[filename]).hexdigest()
        headers = {"X-Repo-Commit": commit.oid, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream",
                   "Accept-Ranges": "bytes"}
        status, start = 200, 0
        if not head and (requested := self.headers.get("Range", "")).startswith("bytes="):
            start = int(requested[6:].split("-")[0] or 0)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        self._send(status, body, headers, head=head)
