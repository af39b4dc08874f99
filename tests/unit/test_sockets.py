"""The local WebSocket API as API Gateway runs one: $connect through a REQUEST authorizer (IAM policy answers),
messages to the selected route, $disconnect after a close, and the @connections endpoint that botocore's
apigatewaymanagementapi client calls (GoneException for a connection that is not there).
The functions are fakes here; tests/e2e/test_websocket_stack.py runs real ones as the local stack's processes."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from devstack.sockets import SocketApi
from infra import WebSocketRoute

pytestmark = pytest.mark.service("tools")

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:local/local/$connect"
ROUTES = [
    WebSocketRoute("$connect", "connect", "authorizer", ("route.request.querystring.token",)),
    WebSocketRoute("$disconnect", "disconnect"),
    WebSocketRoute("$default", "default"),
    WebSocketRoute("hello", "hello"),
    WebSocketRoute("broken", "broken"),
]


def policy(effect: str, token: str, resource: str = METHOD_ARN) -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {"principalId": f"sub-{token}", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": {"sub": f"sub-{token}", "username": token, "admin": False}}  # fmt: skip


class Functions:
    """The authorizer (tokens alice, bob allowed; "denied" a Deny; "elsewhere" allowed on another ARN) and the
    routes' functions: each event they get is kept; $default and hello answer with what they saw."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, key: str, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.events.append((key, json.loads(json.dumps(event))))
        if key == "authorizer":
            token = (event.get("queryStringParameters") or {}).get("token")
            if token in ("alice", "bob"):
                return {"result": policy("Allow", token)}
            if token == "denied":
                return {"result": policy("Deny", token)}
            if token == "elsewhere":
                return {"result": policy("Allow", token, METHOD_ARN.replace("$connect", "$default"))}
            return {"error": {"type": "Exception", "message": "Unauthorized"}}
        if key == "connect":
            refuse = (event.get("queryStringParameters") or {}).get("refuse")
            return {"result": {"statusCode": int(refuse) if refuse else 200}}
        if key in ("default", "hello"):
            context = event["requestContext"]
            seen = {"route": context["routeKey"], "body": event["body"], "sub": context["authorizer"]["sub"]}
            return {"result": {"statusCode": 200, "body": json.dumps(seen)}}
        if key == "broken":
            return {"error": {"type": "KeyError", "message": "'x'"}}
        return {"result": {"statusCode": 200}}

    def of(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for called, event in self.events if called == key]

    def wait_for(self, key: str, count: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(key)) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.of(key)


@pytest.fixture
def functions() -> Functions:
    return Functions()


@pytest.fixture
def api(functions: Functions) -> Iterator[SocketApi]:
    server = SocketApi(functions, ROUTES, stage="local")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def management(api: SocketApi) -> Any:
    """The client the notifier makes: botocore's, pointed at the local endpoint (any credentials)."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=api.management_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def refused_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=5)
    return refused.value.response.status_code


def open_as(api: SocketApi, token: str) -> ClientConnection:
    return connect(f"{api.url}/?token={token}", open_timeout=5, user_agent_header="test-client/1.0")


def connection_id(functions: Functions, token: str) -> str:
    [event] = [e for e in functions.of("connect") if e["queryStringParameters"]["token"] == token]
    return str(event["requestContext"]["connectionId"])


def test_a_token_the_authorizer_refuses_or_none_at_all_cannot_connect(api: SocketApi, functions: Functions):
    # Given no token, then a token the authorizer answers with Unauthorized
    # When each tries to connect / Then the handshake is refused with 401 and $connect never runs
    assert refused_status(api.url) == 401
    assert functions.of("authorizer") == []  # identity source missing: the authorizer is not called
    assert refused_status(f"{api.url}/?token=mallory") == 401
    assert len(functions.of("authorizer")) == 1
    assert functions.of("connect") == []
    assert api.connections == []


def test_a_deny_policy_or_one_for_another_route_refuses_with_403(api: SocketApi, functions: Functions):
    assert refused_status(f"{api.url}/?token=denied") == 403
    assert refused_status(f"{api.url}/?token=elsewhere") == 403  # allowed, but not on this methodArn
    assert functions.of("connect") == []


def test_a_connect_function_answering_non_2xx_refuses_the_connection(api: SocketApi, functions: Functions):
    assert refused_status(f"{api.url}/?token=alice&refuse=403") == 403
    assert refused_status(f"{api.url}/?token=alice&refuse=500") == 500
    assert len(functions.of("connect")) == 2
    assert api.connections == []


def test_the_authorizer_gets_the_request_event_and_connect_the_proxy_event_with_its_context(
    api: SocketApi, functions: Functions
):
    # When alice connects with her token in the query string
    with open_as(api, "alice"):
        [authorizing] = functions.of("authorizer")
        [connecting] = functions.of("connect")

    # Then the authorizer got API Gateway's WebSocket REQUEST event
    assert authorizing["type"] == "REQUEST"
    assert authorizing["methodArn"] == METHOD_ARN
    assert authorizing["queryStringParameters"] == {"token": "alice"}
    assert authorizing["multiValueQueryStringParameters"] == {"token": ["alice"]}
    assert authorizing["headers"]["User-Agent"] == "test-client/1.0"
    assert authorizing["multiValueHeaders"]["User-Agent"] == ["test-client/1.0"]
    context = authorizing["requestContext"]
    assert (context["routeKey"], context["eventType"], context["stage"], context["apiId"]) == (
        "$connect", "CONNECT", "local", "local"
    )  # fmt: skip
    assert context["domainName"] == "127.0.0.1"
    assert isinstance(context["connectedAt"], int) and context["requestId"]
    # and $connect the proxy event of the same connection, with the authorizer's context and principalId
    assert connecting["requestContext"]["connectionId"] == context["connectionId"]
    assert connecting["requestContext"]["eventType"] == "CONNECT"
    authorizer = connecting["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "sub-alice"
    assert (authorizer["sub"], authorizer["username"], authorizer["admin"]) == ("sub-alice", "alice", "False")
    assert connecting["queryStringParameters"] == {"token": "alice"}
    assert "type" not in connecting and "methodArn" not in connecting
    assert connecting["isBase64Encoded"] is False


def test_a_message_goes_to_its_action_route_or_to_default_and_the_answer_comes_back(
    api: SocketApi, functions: Functions
):
    with open_as(api, "alice") as socket:
        # When alice sends a message without a known action, then one with action "hello"
        socket.send(json.dumps({"action": "nope", "n": 1}))
        first = json.loads(socket.recv(timeout=5))
        socket.send(json.dumps({"action": "hello"}))
        second = json.loads(socket.recv(timeout=5))
        socket.send("not json")
        third = json.loads(socket.recv(timeout=5))

    # Then $default got the first and the third, the hello route the second; each with alice's context
    assert first == {"route": "$default", "body": '{"action": "nope", "n": 1}', "sub": "sub-alice"}
    assert second == {"route": "hello", "body": '{"action": "hello"}', "sub": "sub-alice"}
    assert third["route"] == "$default" and third["body"] == "not json"
    [message] = functions.of("hello")
    assert message["requestContext"]["eventType"] == "MESSAGE"
    assert message["requestContext"]["connectionId"] == connection_id(functions, "alice")
    assert message["requestContext"]["messageId"]


def test_a_failing_route_sends_back_api_gateways_error_message(api: SocketApi, functions: Functions):
    with open_as(api, "alice") as socket:
        socket.send(json.dumps({"action": "broken"}))
        answer = json.loads(socket.recv(timeout=5))
    assert answer["message"] == "Internal server error"
    assert answer["connectionId"] == connection_id(functions, "alice")


def test_closing_calls_disconnect_with_the_connection(api: SocketApi, functions: Functions):
    with open_as(api, "alice"):
        pass
    [event] = functions.wait_for("disconnect")
    assert event["requestContext"]["connectionId"] == connection_id(functions, "alice")
    assert event["requestContext"]["eventType"] == "DISCONNECT"
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    assert event["requestContext"]["authorizer"]["sub"] == "sub-alice"
    assert api.connections == []


def test_a_post_reaches_only_its_own_socket(api: SocketApi, functions: Functions, management: Any):
    # Given alice and bob connected at once
    with open_as(api, "alice") as alice, open_as(api, "bob") as bob:
        alice_id, bob_id = connection_id(functions, "alice"), connection_id(functions, "bob")
        assert alice_id != bob_id and sorted(api.connections) == sorted([alice_id, bob_id])

        # When the notifier posts to each of them
        management.post_to_connection(ConnectionId=bob_id, Data=b'{"status": "READY"}')
        management.post_to_connection(ConnectionId=alice_id, Data="é".encode())

        # Then each socket gets its own message, as text
        assert bob.recv(timeout=5) == '{"status": "READY"}'
        assert alice.recv(timeout=5) == "é"
        # and nothing else: a marker posted to each after both posts is the next thing it gets
        # (a post is written to its socket before the call returns, so a stray copy would come first)
        management.post_to_connection(ConnectionId=bob_id, Data=b"marker for bob")
        management.post_to_connection(ConnectionId=alice_id, Data=b"marker for alice")
        assert bob.recv(timeout=5) == "marker for bob"
        assert alice.recv(timeout=5) == "marker for alice"
        # and their messages still reach their routes independently
        alice.send("from alice")
        bob.send("from bob")
        assert json.loads(bob.recv(timeout=5))["sub"] == "sub-bob"
        assert json.loads(alice.recv(timeout=5))["sub"] == "sub-alice"


def test_a_post_to_a_closed_or_unknown_connection_raises_gone(api: SocketApi, functions: Functions, management: Any):
    with pytest.raises(management.exceptions.GoneException) as gone:
        management.post_to_connection(ConnectionId="NoSuchConnId=", Data=b"x")
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    with open_as(api, "alice"):
        alice_id = connection_id(functions, "alice")
    functions.wait_for("disconnect")
    for call in (
        lambda: management.post_to_connection(ConnectionId=alice_id, Data=b"late"),
        lambda: management.get_connection(ConnectionId=alice_id),
        lambda: management.delete_connection(ConnectionId=alice_id),
    ):
        with pytest.raises(management.exceptions.GoneException):
            call()


def test_get_describes_a_connection_and_delete_closes_it(api: SocketApi, functions: Functions, management: Any):
    with open_as(api, "alice") as socket:
        alice_id = connection_id(functions, "alice")
        described = management.get_connection(ConnectionId=alice_id)
        assert described["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "test-client/1.0"}
        assert described["ConnectedAt"] <= described["LastActiveAt"]

        management.delete_connection(ConnectionId=alice_id)

        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=5)
    [event] = functions.wait_for("disconnect")
    assert event["requestContext"]["connectionId"] == alice_id
    assert api.connections == []


def test_a_post_larger_than_api_gateway_takes_is_refused(api: SocketApi, functions: Functions, management: Any):
    with open_as(api, "alice"):
        with pytest.raises(ClientError) as refused:
            management.post_to_connection(ConnectionId=connection_id(functions, "alice"), Data=b"x" * (128 * 1024 + 1))
        assert refused.value.response["Error"]["Code"] == "PayloadTooLargeException"


def test_a_token_in_the_subprotocol_header_and_the_subprotocol_connect_selects():
    # Given a $connect that reads the token from Sec-WebSocket-Protocol (browsers cannot set other headers)
    def functions(key: str, event: dict[str, Any]) -> dict[str, Any]:
        if key == "authorizer":
            token = event["headers"]["Sec-WebSocket-Protocol"].split(",")[-1].strip()
            return {"result": policy("Allow", token)}
        return {"result": {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "video24"}}}

    routes = [WebSocketRoute("$connect", "connect", "authorizer", ("route.request.header.Sec-WebSocket-Protocol",))]
    api = SocketApi(functions, routes)
    api.start()
    try:
        # When the client offers the protocol and its token / Then the handshake selects what $connect said
        with connect(api.url, subprotocols=["video24", "alice"], open_timeout=5) as socket:  # type: ignore[list-item]
            assert socket.subprotocol == "video24"
        assert refused_status(api.url) == 401  # no header: no identity source
    finally:
        api.stop()


def test_an_api_without_default_answers_forbidden_to_an_unrouted_message():
    api = SocketApi(lambda key, event: {"result": {"statusCode": 200}}, [WebSocketRoute("$connect", "connect")])
    api.start()
    try:
        with connect(api.url, open_timeout=5) as socket:
            socket.send("hi")
            assert json.loads(socket.recv(timeout=5))["message"] == "Forbidden"
    finally:
        api.stop()


def test_no_log_of_the_server_holds_a_token_even_at_debug(api: SocketApi, functions: Functions, caplog: Any):
    # Given someone debugging the stack: every logger at DEBUG (the websockets library's too, which a local stack
    # started earlier in this process turned down)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="websockets")
    # When alice connects with her token in the query string and talks, and a refused token is tried
    with open_as(api, "alice") as socket:
        socket.send("hi")
        socket.recv(timeout=5)
    assert refused_status(f"{api.url}/?token=mallory-secret") == 401
    # Then nothing the server logged holds either token (its request line and headers included)
    served = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.client")]
    assert served, "the server logged nothing: this test would see no leak"
    assert [line for line in served if "token=" in line or "mallory-secret" in line] == []
