"""The local WebSocket API: the services' `websocket` routes on one loopback port, and the @connections endpoint.

It behaves like an API Gateway WebSocket API with Lambda proxy integrations and a Lambda REQUEST authorizer
(IAM policy answers) on `$connect`:

- A connection attempt with an identity source missing is refused with 401, without calling the authorizer;
  the authorizer raising "Unauthorized" -> 401, any other authorizer failure or answer -> 500, a policy that
  denies `execute-api:Invoke` on the methodArn (or does not allow it) -> 403. Otherwise the `$connect` function
  gets the CONNECT event, `requestContext.authorizer` = the authorizer's context plus its principalId; a result
  without a 2xx statusCode refuses the connection with that status (an error: 500). A `Sec-WebSocket-Protocol`
  header in that result is the subprotocol the handshake selects, as API Gateway passes it on.
- Each message goes to the route the route selection expression (`$request.body.<field>`) names, else to
  `$default` (none: the client gets API Gateway's `Forbidden` message). The authorizer's context is in every
  route's event. A function's result `body` is sent back to the client (API Gateway does that only for routes
  with a route response; locally every route answers when its result has a body). An error sends back
  API Gateway's `Internal server error` message.
- After a close (by either side, or DELETE @connections), `$disconnect` gets the DISCONNECT event.
- The management endpoint (HTTP, another loopback port; `management_url`, with the stage as its path as
  in AWS): POST /@connections/{id} sends the body to that socket, DELETE closes it, GET describes it; an
  unknown or closed id answers 410 GoneException, as botocore expects it. Requests are not signature-checked.

Local differences: messages of one connection are handled one after another (API Gateway may invoke
concurrently); no idle timeout (10 min) or 2 h connection limit.

Nothing is logged at DEBUG, whatever the logging setup: the websockets library would log each request line and
header there, and the access token travels in the query string (as API Gateway keeps it out of its access log).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

from infra import ACCOUNT_ID, REGION, WebSocketRoute

Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]  # (function key, event) -> {"result"} | {"error"}
MAX_MESSAGE = 128 * 1024  # API Gateway's limit on a WebSocket message and on a PostToConnection payload
OPENING = 5.0  # seconds a post to a connection that $connect accepted waits for its handshake to end
_CONNECTIONS = re.compile(r"^(?:/[^/@]+)?/@connections/(?P<id>[^/]+)$")  # /{stage}/@connections/{id}, or without
_IDENTITY = re.compile(r"^route\.request\.(?P<where>header|querystring)\.(?P<name>.+)$")
_LOG = logging.getLogger("websockets.devstack")  # (the stack quiets "websockets": a client going away is no error)
_LOG.addFilter(lambda record: record.levelno > logging.DEBUG)  # request lines and headers: the token


@dataclass
class Connection:
    """An open connection, as API Gateway keeps it: the $connect request and what the authorizer said."""

    id: str
    headers: dict[str, str]
    multi_headers: dict[str, list[str]]
    query: list[tuple[str, str]] = field(repr=False)  # (the access token may be in it)
    domain_name: str
    source_ip: str
    user_agent: str
    connected_at: int  # epoch milliseconds
    authorizer: dict[str, Any] | None = None
    subprotocol: str | None = None
    last_active_at: int = 0
    socket: ServerConnection | None = field(default=None, repr=False)
    opened: threading.Event = field(default_factory=threading.Event, repr=False)  # the handshake's 101 is sent


def _iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_ms / 1000)) + f".{epoch_ms % 1000:03d}Z"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _connection_id() -> str:
    """An id of API Gateway's form (16 characters of base64, e.g. L0SM9cOFvHcCIhw=)."""
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


def _allows(policy: Any, method_arn: str) -> bool | None:
    """True if the policy allows execute-api:Invoke on the methodArn, False if it denies it, None if malformed."""
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        return None
    allowed = False
    for statement in policy["Statement"]:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return None
        actions, resources = statement.get("Action", []), statement.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else actions
        resources = [resources] if isinstance(resources, str) else resources
        if not any(fnmatchcase("execute-api:Invoke", str(a)) for a in actions):
            continue
        if any(fnmatchcase(method_arn, str(r)) for r in resources):
            if statement["Effect"] == "Deny":
                return False  # an explicit deny wins, as in IAM
            allowed = True
    return allowed


class Refused(Exception):
    """A connection attempt API Gateway refuses: the handshake's HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class SocketApi:
    """Start with `start()`; `url` is the ws:// URL clients connect to, `management_url` the @connections one."""

    def __init__(
        self,
        invoke: Invoke,
        routes: list[WebSocketRoute],
        *,
        route_selection: str = "$request.body.action",
        stage: str = "local",
        api_id: str = "local",
    ) -> None:
        self._invoke_function, self.stage, self.api_id = invoke, stage, api_id
        self._routes = {route.route_key: route for route in routes}
        if not route_selection.startswith("$request.body."):
            raise ValueError(f"route selection {route_selection!r}: only $request.body.<field> runs locally")
        self._selection = route_selection.removeprefix("$request.body.").split(".")
        for source in self._routes.get("$connect", WebSocketRoute("", "")).identity_source:
            if not _IDENTITY.match(source):
                raise ValueError(f"identity source {source!r}: only route.request.header.X / querystring.X run locally")
        self._opening: dict[ServerConnection, Connection] = {}  # handshakes the authorizer and $connect accepted
        self._open: dict[str, Connection] = {}  # by connection id
        self._lock = threading.Lock()
        self._stopping = False
        self._server: Server | None = None
        self._management: ThreadingHTTPServer | None = None
        self.url = self.management_url = ""

    # -- the servers ----------------------------------------------------------------------
    def start(self, port: int = 0, management_port: int = 0) -> str:
        self._stopping = False
        self._server = serve(
            self._serve_connection,
            "127.0.0.1",
            port,
            process_request=self._handshake,
            process_response=self._handshake_answered,
            select_subprotocol=self._subprotocol,
            max_size=MAX_MESSAGE,
            logger=_LOG,
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"
        self._management = ThreadingHTTPServer(("127.0.0.1", management_port), _management_handler(self))
        threading.Thread(target=self._management.serve_forever, args=(0.05,), daemon=True).start()
        self.management_url = f"http://127.0.0.1:{self._management.server_address[1]}/{self.stage}"
        return self.url

    def stop(self) -> None:
        self._stopping = True  # the functions are stopping too: no $disconnect for the stack's own shutdown
        if self._server:
            self._server.shutdown()
            self._server = None
        if self._management:
            self._management.shutdown()
            self._management.server_close()
            self._management = None

    def _invoke(self, key: str, event: dict[str, Any]) -> dict[str, Any]:
        """Invoke a function; a function that cannot be reached fails as a function error would."""
        try:
            return self._invoke_function(key, event)
        except Exception as exc:
            return {"error": {"type": type(exc).__name__, "message": str(exc)}}

    # -- a connection -------------------------------------------------------------------
    def _handshake(self, socket: ServerConnection, request: Request) -> Response | None:
        try:
            connection = self._connect(socket, request)
        except Refused as refused:
            return socket.respond(refused.status, json.dumps({"message": str(refused)}))
        with self._lock:  # known from now on: a post waits for the handshake to end (as the client does)
            self._opening[socket] = self._open[connection.id] = connection
        return None

    def _handshake_answered(self, socket: ServerConnection, request: Request, response: Response) -> None:
        if response.status_code != 101 and socket in self._opening:  # accepted by $connect, refused after all
            with self._lock:
                self._open.pop(self._opening.pop(socket).id, None)

    def _subprotocol(self, socket: ServerConnection, offered: Sequence[Subprotocol]) -> Subprotocol | None:
        chosen = self._opening[socket].subprotocol if socket in self._opening else None
        return Subprotocol(chosen) if chosen and chosen in offered else None

    def _connect(self, socket: ServerConnection, request: Request) -> Connection:
        headers, multi = _headers(request.headers, socket)
        host = next((v for k, v in headers.items() if k.lower() == "host"), "127.0.0.1")
        connection = Connection(
            id=_connection_id(),
            headers=headers,
            multi_headers=multi,
            query=parse_qsl(urlsplit(request.path).query),
            domain_name=urlsplit(f"//{host}").hostname or "127.0.0.1",
            source_ip=str(socket.remote_address[0]),
            user_agent=request.headers.get("User-Agent", ""),
            connected_at=_now_ms(),
        )
        connection.last_active_at = connection.connected_at
        route = self._routes.get("$connect")
        if route is None:
            return connection  # an API without $connect accepts every connection
        event = self._request(connection, "$connect", "CONNECT")
        if route.authorizer:
            connection.authorizer = self._authorize(route, connection, event)
            event["requestContext"]["authorizer"] = connection.authorizer
        answer = self._invoke(route.function, event)
        if "error" in answer:
            raise Refused(500, "Internal server error")
        result = answer["result"]
        status = result.get("statusCode") if isinstance(result, dict) else None
        if not isinstance(status, int) or not 200 <= status < 300:
            raise Refused(status if isinstance(status, int) and 400 <= status < 600 else 500, "Forbidden")
        answered = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        connection.subprotocol = answered.get("sec-websocket-protocol")
        return connection

    def _authorize(self, route: WebSocketRoute, connection: Connection, event: dict[str, Any]) -> dict[str, Any]:
        """The authorizer's context with its principalId, or Refused as API Gateway refuses the handshake."""
        identity = [self._identity(source, connection) for source in route.identity_source]
        if not all(identity):
            raise Refused(401, "Unauthorized")  # identity source missing: the authorizer is not called
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/$connect"
        request = {"type": "REQUEST", "methodArn": method_arn} | {k: event[k] for k in event if k != "isBase64Encoded"}
        request["stageVariables"] = None
        started = time.monotonic()
        answer = self._invoke(route.authorizer or "", request)
        if "error" in answer:
            if answer["error"].get("message") == "Unauthorized":
                raise Refused(401, "Unauthorized")
            raise Refused(500, "Internal server error")
        result = answer["result"]
        allows = _allows(result.get("policyDocument"), method_arn) if isinstance(result, dict) else None
        if allows is None or "principalId" not in result:
            raise Refused(500, "Internal server error")
        if not allows:
            raise Refused(403, "Forbidden")
        context = {k: str(v) for k, v in (result.get("context") or {}).items()}  # as API Gateway passes them on
        latency = int((time.monotonic() - started) * 1000)
        return context | {"principalId": str(result["principalId"]), "integrationLatency": latency}

    @staticmethod
    def _identity(source: str, connection: Connection) -> str | None:
        found = _IDENTITY.match(source)
        assert found  # checked when the server was made
        name = found["name"]
        if found["where"] == "header":
            return next((v for k, v in connection.headers.items() if k.lower() == name.lower()), None) or None
        return next((v for k, v in connection.query if k == name), None) or None

    def _serve_connection(self, socket: ServerConnection) -> None:
        with self._lock:
            connection = self._opening.pop(socket)
        connection.socket = socket
        connection.opened.set()
        try:
            for message in socket:
                connection.last_active_at = _now_ms()
                self._message(connection, message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._open.pop(connection.id, None)
            if not self._stopping:
                self._disconnect(connection, socket)

    def _message(self, connection: Connection, message: str | bytes) -> None:
        route = self._route_for(message)
        event = self._request(connection, route.route_key if route else "$default", "MESSAGE")
        context = event["requestContext"]
        if route is None:
            self._reply(connection, {"message": "Forbidden", "connectionId": connection.id,
                                     "requestId": context["requestId"]})  # fmt: skip
            return
        context["messageId"] = _connection_id()
        if isinstance(message, str):
            event["body"], event["isBase64Encoded"] = message, False
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(message).decode(), True
        answer = self._invoke(route.function, event)
        if "error" in answer:
            self._reply(connection, {"message": "Internal server error", "connectionId": connection.id,
                                     "requestId": context["requestId"]})  # fmt: skip
            return
        result = answer["result"]
        if isinstance(result, dict) and result.get("body") is not None:
            body = result["body"]
            self._send(connection, base64.b64decode(body) if result.get("isBase64Encoded") else str(body))

    def _route_for(self, message: str | bytes) -> WebSocketRoute | None:
        """The route the selection expression names in the message (a JSON object), else $default."""
        try:
            value: Any = json.loads(message)
        except ValueError:
            value = None
        for part in self._selection:
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, str) and value not in ("$connect", "$disconnect", "$default") and value in self._routes:
            return self._routes[value]
        return self._routes.get("$default")

    def _disconnect(self, connection: Connection, socket: ServerConnection) -> None:
        route = self._routes.get("$disconnect")
        if route is None:
            return
        event = self._request(connection, "$disconnect", "DISCONNECT")
        event["requestContext"]["disconnectStatusCode"] = socket.close_code
        event["requestContext"]["disconnectReason"] = socket.close_reason or ""
        self._invoke(route.function, event)  # its result and errors change nothing: the socket is gone

    def _reply(self, connection: Connection, message: dict[str, Any]) -> None:
        self._send(connection, json.dumps(message))

    @staticmethod
    def _send(connection: Connection, data: str | bytes) -> None:
        if connection.socket is not None:
            connection.socket.send(data)
            connection.last_active_at = _now_ms()

    def _request(self, connection: Connection, route_key: str, event_type: str) -> dict[str, Any]:
        """The proxy event of a route: the $connect request's headers (and query, on $connect), its context."""
        now = time.time()
        context: dict[str, Any] = {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": _connection_id(),
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": connection.connected_at,
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "requestId": str(uuid.uuid4()),
            "domainName": connection.domain_name,
            "connectionId": connection.id,
            "apiId": self.api_id,
        }
        if connection.authorizer is not None:
            context["authorizer"] = connection.authorizer
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if event_type == "MESSAGE":
            return event
        event["headers"], event["multiValueHeaders"] = connection.headers, connection.multi_headers
        if event_type == "CONNECT":
            multi: dict[str, list[str]] = {}
            for name, value in connection.query:
                multi.setdefault(name, []).append(value)
            event["queryStringParameters"] = {k: v[-1] for k, v in multi.items()} or None
            event["multiValueQueryStringParameters"] = multi or None
        return event

    # -- the management API (what the notifier's apigatewaymanagementapi client calls) ------------
    def manage(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One @connections request: (status, headers, body) as API Gateway answers it."""
        found = _CONNECTIONS.match(urlsplit(path).path)
        if not found:
            return _error(403, "ForbiddenException", "Forbidden")
        with self._lock:
            connection = self._open.get(unquote(found["id"]))
        if connection is None or not connection.opened.wait(OPENING) or connection.socket is None:
            return _error(410, "GoneException", None)
        try:
            if method == "POST":
                if len(body) > MAX_MESSAGE:
                    return _error(413, "PayloadTooLargeException", "Message too long")
                try:
                    self._send(connection, body.decode("utf-8"))
                except UnicodeDecodeError:
                    self._send(connection, body)
                return 200, {}, b""
            if method == "DELETE":
                connection.socket.close()
                return 204, {}, b""
            if method == "GET":
                described = {
                    "connectedAt": _iso(connection.connected_at),
                    "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                    "lastActiveAt": _iso(connection.last_active_at),
                }
                return 200, {"Content-Type": "application/json"}, json.dumps(described).encode()
        except ConnectionClosed:
            return _error(410, "GoneException", None)
        return _error(403, "ForbiddenException", "Forbidden")

    @property
    def connections(self) -> list[str]:
        """The ids of the connections $connect accepted and that have not closed since."""
        with self._lock:
            return list(self._open)


def _error(status: int, kind: str, message: str | None) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": kind}
    return status, headers, json.dumps({"message": message}).encode()


def _headers(sent: Headers, socket: ServerConnection) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The request's headers as API Gateway passes them (names as sent) with its X-Forwarded-* ones."""
    forwarded = {"X-Forwarded-For": str(socket.remote_address[0]), "X-Forwarded-Port": str(socket.local_address[1]),
                 "X-Forwarded-Proto": "http"}  # fmt: skip
    multi: dict[str, list[str]] = {}
    for name, value in sent.raw_items():
        if name.lower() not in {f.lower() for f in forwarded}:
            multi.setdefault(name, []).append(value)
    multi |= {name: [value] for name, value in forwarded.items()}
    return {name: ",".join(values) for name, values in multi.items()}, multi


def _management_handler(api: SocketApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, headers, body = api.manage(self.command, self.path, self.rfile.read(length) if length else b"")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler
