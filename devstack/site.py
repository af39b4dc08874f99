"""The website on the local stack: services/web/dist served the way CloudFront serves it.

Same routing as the distribution's viewer-request function (a path without a file extension is the
single-page app's index.html, or under /embed/ the embed page's embed.html; a missing file is a 404), the
same security headers as its response headers policies (read from services/web/serverless.yml with the
local origins in the CSP: the embed page's on /embed/*, which any site may frame, the site's on every other
path), and a `/config.json` generated for the running stack, as the deploy writes one for a stage.
tools.website builds dist/ from the TypeScript sources.
"""

from __future__ import annotations

import json
import mimetypes
import posixpath
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from infra import ROOT
from infra.cloudfront import headers_for

WEB_DIR = ROOT / "services" / "web"
DIST = WEB_DIR / "dist"
CLIENT_ID = "video24-web"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


def site_config(api: str, *, client_id: str = CLIENT_ID, push_url: str | None = None) -> dict[str, Any]:
    """config.json for the local stack: every service's routes are on the one local API, which is also the issuer."""
    return {
        "apis": {"upload": api, "videos": api, "me": api},
        "oidc": {
            "authority": api,
            "client_id": client_id,
            "scope": "openid profile email",
            "extra_query_params": {},
            "metadata_seed": {},
        },
        "push_url": push_url,
    }


def route(path: str) -> str:
    """The file a request path is served from (as the distribution's viewer-request function rewrites it)."""
    asked = urlsplit(path).path
    clean = posixpath.normpath(unquote(asked))
    if clean in ("/", ".") or "." not in clean.rsplit("/", 1)[-1]:
        return "/embed.html" if asked.startswith("/embed/") else "/index.html"
    return clean


class SiteServer:
    """Serves `root` on loopback with `headers` on every response (or those of the first of `behaviours`, path
    pattern and headers, whose pattern matches the path asked for: CloudFront's cache behaviours) and `config` at
    /config.json."""

    def __init__(
        self,
        root: Path,
        headers: dict[str, str] | None = None,
        behaviours: tuple[tuple[str, dict[str, str]], ...] = (),
    ) -> None:
        self.root = root.resolve()
        self.headers = dict(headers or {})
        self.behaviours = behaviours
        self.config: dict[str, Any] = {}
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self, port: int = 0) -> str:
        if not (self.root / "index.html").is_file():
            raise FileNotFoundError(f"{self.root} has no index.html: build the website first (make web)")
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer(body=True)

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def _answer(self, *, body: bool) -> None:
                status, headers, content = site.respond(self.path)
                self.send_response(status)
                for name, value in (site.headers_for(self.path) | headers).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if body:
                    self.wfile.write(content)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def headers_for(self, path: str) -> dict[str, str]:
        """The security headers of the answer to `path` (its cache behaviour's, as asked: before routing)."""
        return headers_for(urlsplit(path).path, self.headers, self.behaviours)

    def respond(self, path: str) -> tuple[int, dict[str, str], bytes]:
        target = route(path)
        if target == "/config.json":
            return 200, {"Content-Type": _TYPES[".json"], "Cache-Control": "no-store"}, json.dumps(self.config).encode()
        file = (self.root / target.lstrip("/")).resolve()
        if not file.is_relative_to(self.root) or not file.is_file():
            return 404, {"Content-Type": _TYPES[".txt"]}, b"Not Found"
        suffix = file.suffix.lower()
        kind = _TYPES.get(suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        hashed = target.startswith("/assets/")
        cache = "public, max-age=31536000, immutable" if hashed else "no-cache"
        return 200, {"Content-Type": kind, "Cache-Control": cache}, file.read_bytes()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
