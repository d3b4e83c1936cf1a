"""A small Hugging Face Hub on 127.0.0.1, speaking the wire format huggingface_hub's HfApi uses for
``whoami``, ``create_repo``, ``create_commit`` (preupload + ndjson commit), ``delete_repo`` and the
README metadata check.

Every file is accepted as a "regular" upload (base64 inside the commit); the real Hub sends large files
to Xet storage instead, which this server does not speak. Requests to anything else answer 404 and are
recorded in ``unhandled``, so a test can assert that the client asked for nothing unexpected.

    with FakeHub(tokens={"hf_test": "tester"}) as hub:
        HfApi(endpoint=hub.url, token="hf_test").whoami()["name"]  # -> "tester"
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml


@dataclass
class Repo:
    repo_id: str
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)


class FakeHub:
    def __init__(self, tokens: dict[str, str] | None = None, orgs: dict[str, list[str]] | None = None):
        self.tokens = dict(tokens or {"hf_fake_token_for_tests": "tester"})
        self.orgs = dict(orgs or {})
        self.repos: dict[str, Repo] = {}
        self.requests: list[dict[str, Any]] = []
        self.unhandled: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeHub":
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _dispatch(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with hub._lock:
                    hub.requests.append({"method": method, "path": self.path,
                                         "auth": self.headers.get("Authorization"), "body": body})
                    status, payload, headers = hub.handle(method, self.path, self.headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._dispatch("GET")

            def do_POST(self) -> None:
                self._dispatch("POST")

            def do_DELETE(self) -> None:
                self._dispatch("DELETE")

            def do_PUT(self) -> None:
                self._dispatch("PUT")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the API ---------------------------------------------------------------------------------

    def _user(self, headers: Any) -> str | None:
        auth = headers.get("Authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        return self.tokens.get(token) if token else None

    @staticmethod
    def _error(status: int, message: str, code: str | None = None) -> tuple[int, dict, dict]:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        return status, {"error": message}, headers

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, Any, dict]:
        path = path.split("?")[0]
        user = self._user(headers)
        if method == "GET" and path == "/api/whoami-v2":
            if not user:
                return self._error(401, "Invalid credentials in Authorization header")
            return 200, {"type": "user", "name": user, "orgs": [{"name": o} for o in self.orgs.get(user, [])],
                         "auth": {"type": "access_token", "accessToken": {"role": "write"}}}, {}
        if method == "POST" and path == "/api/validate-yaml":
            return self._validate_yaml(json.loads(body or b"{}"))
        if not user:
            return self._error(401, "Invalid credentials in Authorization header")
        if method == "POST" and path == "/api/repos/create":
            return self._create(user, json.loads(body))
        if method == "DELETE" and path == "/api/repos/delete":
            return self._delete(user, json.loads(body))
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?", path)
        if method == "GET" and m:
            repo = self.repos.get(m.group(1))
            if repo is None or (repo.private and not self._may_write(user, repo.repo_id)):
                return self._error(404, "Repository not found", "RepoNotFound")
            sha = repo.commits[-1]["oid"] if repo.commits else "0" * 40
            return 200, {"id": repo.repo_id, "modelId": repo.repo_id, "private": repo.private, "sha": sha,
                         "siblings": [{"rfilename": f} for f in sorted(repo.files)]}, {}
        m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(preupload|commit)/([^/]+)", path)
        if method == "POST" and m:
            repo = self.repos.get(m.group(1))
            if repo is None:
                return self._error(404, "Repository not found", "RepoNotFound")
            if not self._may_write(user, repo.repo_id):
                return self._error(403, "You don't have the rights to write to this repo")
            if m.group(2) == "preupload":
                files = json.loads(body)["files"]
                return 200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                        "oid": None} for f in files]}, {}
            return self._commit(repo, body)
        self.unhandled.append(f"{method} {path}")
        return self._error(404, f"not handled by the fake Hub: {method} {path}")

    def _may_write(self, user: str, repo_id: str) -> bool:
        ns = repo_id.split("/")[0]
        return ns == user or ns in self.orgs.get(user, [])

    def _create(self, user: str, payload: dict) -> tuple[int, Any, dict]:
        ns = payload.get("organization") or user
        repo_id = f"{ns}/{payload['name']}"
        if payload.get("type") not in (None, "model"):
            return self._error(400, "only model repos here")
        if not self._may_write(user, repo_id):
            return self._error(403, f"You don't have the rights to create a model under the namespace {ns!r}")
        if repo_id in self.repos:
            return 409, {"error": "You already created this model repo", "url": f"{self.url}/{repo_id}"}, {}
        private = payload.get("visibility") == "private" or bool(payload.get("private"))
        self.repos[repo_id] = Repo(repo_id, private)
        return 200, {"url": f"{self.url}/{repo_id}", "name": repo_id, "id": repo_id}, {}

    def _delete(self, user: str, payload: dict) -> tuple[int, Any, dict]:
        repo_id = f"{payload.get('organization') or user}/{payload['name']}"
        if repo_id not in self.repos:
            return self._error(404, "Repository not found", "RepoNotFound")
        if not self._may_write(user, repo_id):
            return self._error(403, "You don't have the rights to delete this repo")
        del self.repos[repo_id]
        return 200, {}, {}

    def _commit(self, repo: Repo, body: bytes) -> tuple[int, Any, dict]:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            return self._error(400, "commit payload must start with a header line")
        added: dict[str, bytes] = {}
        for item in lines[1:]:
            value = item["value"]
            if item["key"] == "file":
                if value.get("encoding") != "base64":
                    return self._error(400, "file content must be base64")
                added[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] == "deletedFile":
                repo.files.pop(value["path"], None)
            else:
                return self._error(400, f"the fake Hub does not accept {item['key']} operations")
        repo.files.update(added)
        oid = hashlib.sha1(body).hexdigest()
        repo.commits.append({"summary": lines[0]["value"].get("summary"), "files": sorted(added), "oid": oid})
        return 200, {"success": True, "commitOid": oid, "commitUrl": f"{self.url}/{repo.repo_id}/commit/{oid}"}, {}

    @staticmethod
    def _validate_yaml(payload: dict) -> tuple[int, Any, dict]:
        content = payload.get("content", "")
        m = re.match(r"^---\s*\n(.*?)\n---\s*\n", content, re.S)
        if not m:
            return 200, {"warnings": [{"message": "empty or missing yaml metadata in repo card"}]}, {}
        try:
            meta = yaml.safe_load(m.group(1))
        except yaml.YAMLError as e:
            return 400, {"errors": [{"message": f"invalid YAML: {e}"}]}, {}
        errors = []
        if not isinstance(meta, dict):
            errors.append("metadata must be a mapping")
        else:
            lic = meta.get("license")
            if lic is not None and not re.fullmatch(r"[a-z0-9.+-]+", str(lic)):
                errors.append(f'"license" must be a license id, not {lic!r}')
            base = meta.get("base_model")
            if base is not None and not (isinstance(base, str) and re.fullmatch(r"[\w.-]+/[\w.-]+", base)):
                errors.append('"base_model" must be a repo id')
            if not isinstance(meta.get("tags", []), list):
                errors.append('"tags" must be a list')
        if errors:
            return 400, {"errors": [{"message": e} for e in errors]}, {}
        return 200, {"warnings": []}, {}
