"""A real HTTP server on 127.0.0.1 that replays recorded API responses (one JSON body per path).

``routes`` maps a URL path to a JSON body, or to ``{"pages": [{"match": {param: value}, "body": ...}]}``
to choose among bodies by query parameters (the first page whose ``match`` fits wins; a page without
``match`` fits any request). Unknown paths answer 404 with a JSON error, as the services do.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ReplayServer:
    def __init__(self, routes: dict[str, Any]):
        self.routes = routes
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                server.requests.append(self.path)
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                route = server.routes.get(parts.path)
                body = route
                if isinstance(route, dict) and "pages" in route:
                    body = next((p["body"] for p in route["pages"]
                                 if all(query.get(k) == v for k, v in p.get("match", {}).items())), None)
                status = 200 if body is not None else 404
                data = json.dumps(body if body is not None else {"error": "NotFound"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "ReplayServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
