"""The local stack serving a WebSocket API from a service's own declarations (tests/websocket_service.py, a
test-only repository): the exported authorizer and the route functions run as the stack's processes, and a
queue-fed notifier reaches the sockets through the WEBSOCKET_MANAGEMENT_URL the stack gives it, with boto3."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from devstack.stack import LocalStack
from tests.websocket_service import write_repo

pytestmark = [pytest.mark.e2e, pytest.mark.service("tools")]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("events")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, events: Path) -> Iterator[LocalStack]:
    """A stack of its own: it serves a test-only repository's services (tests/websocket_service.py), not ours."""
    root = write_repo(tmp_path_factory.mktemp("repo"), events)
    with LocalStack(root=root, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def recorded(events: Path, pattern: str, timeout: float = 10) -> list[dict[str, Any]]:
    """The events the fixture's handlers wrote whose file names match, once there is one."""
    deadline = time.monotonic() + timeout
    while not (found := sorted(events.glob(pattern))) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [json.loads(path.read_text()) for path in found]


def connection_of(events: Path, username: str) -> str:
    for event in recorded(events, "*.CONNECT.*.json"):
        if event["requestContext"]["authorizer"]["username"] == username:
            return str(event["requestContext"]["connectionId"])
    raise AssertionError(f"no $connect of {username}")


def push(stack: LocalStack, connection: str, data: str) -> None:
    sqs = stack.session.client("sqs", endpoint_url=stack.endpoint)
    url = sqs.get_queue_url(QueueName="video24-push-local-notify")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"connection": connection, "data": data}))


def test_the_stack_describes_its_websocket_api_and_gives_the_notifier_its_management_url(stack: LocalStack):
    assert stack.websocket.startswith("ws://127.0.0.1:")
    assert stack.websocket_management.startswith("http://127.0.0.1:") and stack.websocket_management.endswith("/local")
    described = stack.description()
    assert (described["websocket"], described["websocket_management"]) == (stack.websocket, stack.websocket_management)
    notifier = stack.topology.invocables["push-notify"]
    assert stack.function_environment(notifier)["WEBSOCKET_MANAGEMENT_URL"] == stack.websocket_management
    assert {f.key for f in stack.invoked_directly()} == {"auth-authorizer", "push-connect", "push-disconnect",
                                                         "push-ping"}  # fmt: skip


def test_refused_tokens_cannot_connect(stack: LocalStack, events: Path):
    for url, status in ((stack.websocket, 401), (f"{stack.websocket}/?token=mallory", 401),
                        (f"{stack.websocket}/?token=denied", 403)):  # fmt: skip
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=10)
        assert refused.value.response.status_code == status, url
    # Then $connect never ran for them: a connection allowed after them is the first $connect recorded
    # ($connect runs inside the handshake, before its answer: a refused one's record would be there already)
    with connect(f"{stack.websocket}/?token=alice", open_timeout=10):
        connects = sorted(events.glob("*.CONNECT.*.json"))
    assert [json.loads(path.read_text())["requestContext"]["authorizer"]["username"] for path in connects] == ["alice"]
    connects[0].unlink()  # (the next tests find alice's connection by her name: only theirs is hers)


def test_two_users_each_get_their_own_pushes_through_the_notifier(stack: LocalStack, events: Path):
    # Given alice and bob connected, through the authorizer process and $connect
    with (
        connect(f"{stack.websocket}/?token=alice", open_timeout=10) as alice,
        connect(f"{stack.websocket}/?token=bob", open_timeout=10) as bob,
    ):
        alice_id, bob_id = connection_of(events, "alice"), connection_of(events, "bob")

        # When the notifier gets a change for each from its queue
        push(stack, bob_id, '{"to": "bob"}')
        push(stack, alice_id, '{"to": "alice"}')

        # Then each socket receives its own, and messages go to $default with the sender's identity
        assert json.loads(bob.recv(timeout=10)) == {"to": "bob"}
        assert json.loads(alice.recv(timeout=10)) == {"to": "alice"}
        alice.send("ping")
        assert json.loads(alice.recv(timeout=10)) == {"pong": "ping", "sub": "sub-alice"}

    # and once closed, $disconnect ran, and a push to the gone connection is GoneException to the notifier
    assert recorded(events, f"{alice_id}.DISCONNECT.*.json")
    push(stack, alice_id, "too late")
    assert recorded(events, f"{alice_id}.GONE.json") == [{}]
