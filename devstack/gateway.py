"""The local HTTP API: every service's httpApi routes on one loopback port, through their authorizer.

It behaves like API Gateway HTTP APIs with a Lambda REQUEST authorizer (payload 2.0,
simple responses): no identity source -> 401 without calling the authorizer; the
authorizer raising "Unauthorized" -> 401; returning isAuthorized false -> 403; any
other authorizer failure -> 500; otherwise the route's function gets a payload 2.0
event with `requestContext.authorizer.lambda` set to the authorizer's context.
Like API Gateway, it puts the domain name (no port) in `requestContext.domainName`, says how the
caller reached it in X-Forwarded-Proto / -Port / -For, and gives path parameters decoded; a greedy
`{name+}` (the last segment of a path) takes the rest of the path, slashes included.
It also serves JSON documents at fixed paths: the local issuer's JWKS at
/.well-known/jwks.json and the API's OpenAPI document at /openapi.json; and pages, local
endpoints that answer a path whatever the method (the local issuer's sign-in, devstack/signin.py,
which answers its own CORS).

CORS is each route's API's (`Route.cors`, from the service's `provider.httpApi.cors`), applied as
API Gateway does: a preflight (OPTIONS with Origin and Access-Control-Request-Method) to a path that
has a route is answered 204 by the gateway itself, without the authorizer or a function (unless a
route takes OPTIONS itself); a request with an Origin gets Access-Control-Allow-Origin (and the
exposed headers) on every answer, the gateway's own 401, 403, 404 and 500 included, and the
function's own CORS headers are dropped. The fixed documents are public: `*` for any origin.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from infra import Cors, Route

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]  # (function key, event) -> {"result"} | {"error"}
JWKS_PATH = "/.well-known/jwks.json"
OPENAPI_PATH = "/openapi.json"
Document = Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


Page = Callable[[str, str, dict[str, str], bytes], Response]  # (method, query string, headers, body) -> response


def _json(status: int, message: str) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps({"message": message}).encode())


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _is_preflight(method: str, headers: dict[str, str]) -> bool:
    return (
        method == "OPTIONS"
        and bool(_header(headers, "origin"))
        and bool(_header(headers, "access-control-request-method"))
    )


def _allowed_origin(cors: Cors, origin: str | None) -> str | None:
    """What Access-Control-Allow-Origin says to this origin, or None when the API does not allow it."""
    if not origin:
        return None  # not a CORS request: API Gateway adds nothing
    if "*" in cors.allow_origins and not cors.allow_credentials:
        return "*"
    for allowed in cors.allow_origins:
        scheme_wide = allowed.endswith("://*") and origin.lower().startswith(allowed[:-1].lower())
        if allowed == "*" or scheme_wide or allowed.lower() == origin.lower():
            return origin
    return None


def _with_cors(response: Response, cors: Cors | None, origin: str | None) -> Response:
    """The answer as API Gateway sends it: the API's CORS headers instead of any the function set."""
    if cors is None:
        return response
    headers = {k: v for k, v in response.headers.items() if not k.lower().startswith("access-control-")}
    allowed = _allowed_origin(cors, origin)
    if allowed:
        headers["access-control-allow-origin"] = allowed
        if allowed != "*":
            headers["vary"] = "Origin"
        if cors.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        if cors.expose_headers:
            headers["access-control-expose-headers"] = ",".join(cors.expose_headers)
    return Response(response.status, headers, response.body)


def _preflight(cors: Cors, origin: str | None) -> Response:
    """API Gateway's own answer to a preflight; the browser compares it with what it is about to send."""
    allowed = _allowed_origin(cors, origin)
    if not allowed:
        return Response(204, {}, b"")
    headers = {
        "access-control-allow-origin": allowed,
        "access-control-allow-methods": ",".join(cors.allow_methods),
        "access-control-allow-headers": ",".join(cors.allow_headers),
    }
    if allowed != "*":
        headers["vary"] = "Origin"
    if cors.max_age is not None:
        headers["access-control-max-age"] = str(cors.max_age)
    if cors.allow_credentials:
        headers["access-control-allow-credentials"] = "true"
    return Response(204, headers, b"")


# the fixed documents (the JWKS the browser's OIDC library fetches, the OpenAPI document) are public
PUBLIC = Cors(allow_origins=("*",), allow_headers=("Content-Type",), allow_methods=("GET", "OPTIONS"), max_age=3600)


def _pattern(path: str) -> re.Pattern[str]:
    regex = re.sub(r"\\{(\w+)\\\+\\}", r"(?P<\1>.+)", re.escape(path))
    regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", regex)
    return re.compile(f"^{regex}$")


class Gateway:
    def __init__(
        self, invoke: Invoke, documents: dict[str, Document] | None = None, pages: dict[str, Page] | None = None
    ) -> None:
        self._invoke, self._documents = invoke, dict(documents or {})  # GET path -> its JSON
        self._pages = dict(pages or {})  # path -> its handler, for every method
        self._routes: list[tuple[Route, re.Pattern[str]]] = []
        self._unrouted_cors: Cors | None = None
        self._server: ThreadingHTTPServer | None = None

    def set_routes(self, routes: list[Route]) -> None:
        self._routes = [(route, _pattern(route.path)) for route in routes]
        # a path no route has belongs to no API: it gets the CORS every API agrees on, if they all do
        answers = {(r.cors.allow_origins, r.cors.expose_headers, r.cors.allow_credentials) if r.cors else None
                   for r in routes}  # fmt: skip
        self._unrouted_cors = routes[0].cors if len(answers) == 1 else None

    # -- the server ---------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                forwarded = {
                    "X-Forwarded-Proto": "http",
                    "X-Forwarded-Port": str(self.connection.getsockname()[1]),
                    "X-Forwarded-For": self.client_address[0],
                }
                # API Gateway's own, whatever the client sent
                sent = {k: v for k, v in self.headers.items() if k.lower() not in {f.lower() for f in forwarded}}
                headers = sent | forwarded
                response = gateway.handle(self.command, self.path, headers, body)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- one request --------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        url = urlsplit(target)
        if url.path in self._pages:
            return self._pages[url.path](method, url.query, headers, body)
        origin = _header(headers, "origin")
        if url.path in self._documents and (method == "GET" or _is_preflight(method, headers)):
            if method != "GET":
                return _preflight(PUBLIC, origin)
            document = json.dumps(self._documents[url.path]()).encode()
            return Response(200, {"content-type": "application/json", "access-control-allow-origin": "*"}, document)
        routes = [route for route, pattern in self._routes if pattern.match(url.path)]  # any method
        cors = routes[0].cors if routes else self._unrouted_cors
        takes_options = any(route.method in ("OPTIONS", "*", "ANY") for route in routes)
        if routes and cors and _is_preflight(method, headers) and not takes_options:
            return _preflight(cors, origin)
        return _with_cors(self._route(method, url, headers, body), cors, origin)

    def _route(self, method: str, url: SplitResult, headers: dict[str, str], body: bytes) -> Response:
        matched = self._match(method, url.path)
        if matched is None:
            return _json(404, "Not Found")
        route, path_parameters = matched
        event = self._event(route, method, url.path, url.query, headers, body, path_parameters)
        if route.authorizer:
            denied = self._authorize(route, event)
            if isinstance(denied, Response):
                return denied
            event["requestContext"]["authorizer"] = {"lambda": denied}
        answer = self._invoke(route.function, event)
        if "error" in answer:
            return _json(500, "Internal Server Error")
        return self._response(answer["result"])

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in self._routes:
            found = pattern.match(path)
            if found and route.method in (method, "*", "ANY"):
                return route, {name: unquote(value) for name, value in found.groupdict().items()}
        return None

    def _event(
        self, route: Route, method: str, path: str, query: str, headers: dict[str, str], body: bytes, params: dict
    ) -> dict[str, Any]:
        lowered: dict[str, str] = {}
        for name, value in headers.items():
            lowered[name.lower()] = f"{lowered[name.lower()]},{value}" if name.lower() in lowered else value
        text_body: str | None = None
        encoded = False
        if body:
            try:
                text_body = body.decode("utf-8")
            except UnicodeDecodeError:
                text_body, encoded = base64.b64encode(body).decode(), True
        now = time.time()
        return {
            "version": "2.0",
            "routeKey": f"{route.method} {route.path}",
            "rawPath": path,
            "rawQueryString": query,
            "cookies": [c.strip() for c in lowered.get("cookie", "").split(";") if c.strip()] or None,
            "headers": lowered,
            "queryStringParameters": dict(parse_qsl(query)) or None,
            "pathParameters": params or None,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": urlsplit(f"//{lowered.get('host', '127.0.0.1')}").hostname or "127.0.0.1",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": lowered.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": f"{route.method} {route.path}",
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "body": text_body,
            "isBase64Encoded": encoded,
        }

    def _authorize(self, route: Route, event: dict[str, Any]) -> Response | dict[str, Any]:
        """The authorizer's context, or the response API Gateway gives instead of calling the route."""
        header = (route.identity_source or "$request.header.Authorization").rsplit(".", 1)[-1].lower()
        value = event["headers"].get(header)
        if not value:
            return _json(401, "Unauthorized")  # identity source missing: the authorizer is not called
        shared = ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
                  "queryStringParameters", "pathParameters", "requestContext")  # fmt: skip
        request = {key: event[key] for key in shared}
        request |= {"type": "REQUEST", "identitySource": [value], "routeArn": f"arn:local:{route.method}{route.path}"}
        answer = self._invoke(route.authorizer or "", request)
        if "error" in answer:
            unauthorized = answer["error"].get("message") == "Unauthorized"
            return _json(401, "Unauthorized") if unauthorized else _json(500, "Internal Server Error")
        result = answer["result"]
        if not isinstance(result, dict) or not isinstance(result.get("isAuthorized"), bool):
            return _json(500, "Internal Server Error")
        if not result["isAuthorized"]:
            return _json(403, "Forbidden")
        return {k: str(v) for k, v in (result.get("context") or {}).items()}

    @staticmethod
    def _response(result: Any) -> Response:
        """A payload 2.0 function result as HTTP: a dict with statusCode, or any JSON value as 200."""
        if not isinstance(result, dict) or "statusCode" not in result:
            return Response(200, {"content-type": "application/json"}, json.dumps(result).encode())
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        return Response(int(result["statusCode"]), headers, raw)
