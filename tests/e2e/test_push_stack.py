"""Live status on the local stack with the real services: the notify WebSocket API behind the auth service's
authorizer, the catalog announcing each change, the notifier pushing it to the owner's sockets.

Uploads are real (S3 -> transcode workflow with ffmpeg -> catalog); where a test needs a change at a moment of
its choosing it publishes a VideoTranscodeProgress to the transcoder's `video-events` topic, as the workflow
does after each chunk, so the catalog and the notifier still run their own code on it. Each test uses users of
its own (the stack is shared by the module), so one test's sockets never see another's pushes.

What tests/integration/test_notify.py proves already, on moto with a fake @connections client: the handler's
retry-then-DLQ of a change whose post to a live connection keeps failing, with the other connections served.
Here the same failure path is taken on the stack's own worker and queues (redrive as serverless.yml declares it)
by a message the notifier cannot read, sent in one batch with a good change.
"""

from __future__ import annotations

import json
import socket
import struct
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from contracts import (
    SourceObject,
    StatusPush,
    VideoStatusChanged,
    VideoTranscodeProgress,
    stable_event_id,
    status_push,
)
from contracts.delivery import sns_message
from contracts.events import status_sequence, utc_now
from contracts.keys import upload_key
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.service("notify", "metadata", "auth")]

FINAL = ("READY", "FAILED")


def user(name: str) -> str:
    """A user name of this test alone (its token's sub is `sub-{name}`)."""
    return f"{name}-{uuid.uuid4().hex[:6]}"


def owner(name: str) -> str:
    return f"sub-{name}"  # the sub of the forge's tokens: the authorizer's principal, the upload key's owner


def open_socket(stack: Stack, name: str) -> ClientConnection:
    return connect(f"{stack.websocket}/?token={stack.forge.token(name)}", open_timeout=15)


def connections(stack: Stack) -> dict[str, str]:
    """The notify ConnectionsTable: connection id -> owner."""
    table = stack.session.resource("dynamodb", endpoint_url=stack.endpoint).Table(
        stack.name("notify", "ConnectionsTable")
    )
    return {str(item["connection_id"]): str(item["owner"]) for item in table.scan(ConsistentRead=True)["Items"]}


def rows_of(stack: Stack, name: str) -> set[str]:
    return {connection for connection, who in connections(stack).items() if who == owner(name)}


def receive(ws: ClientConnection, until: Any, timeout: float = 90) -> list[StatusPush]:
    """Every push on the socket (each must be a StatusPush) until `until(pushes)` is true."""
    pushes: list[StatusPush] = []
    deadline = time.monotonic() + timeout
    while not until(pushes):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; pushes so far: {[(p.status, p.progress) for p in pushes]}")
        try:
            pushes.append(StatusPush.model_validate_json(ws.recv(timeout=left)))
        except TimeoutError:
            continue
    return pushes


def final_of(video_id: str) -> Any:
    return lambda pushes: any(p.video_id == video_id and p.status in FINAL for p in pushes)


def left_over(stack: Stack, sockets: dict[ClientConnection, str], timeout: float = 30) -> dict[ClientConnection, list]:
    """What else each socket (-> its user) got before a marker: a change of a video of its user's own, sent to the
    notifier's queue once the stack is idle. A socket's pushes arrive in the order they are posted, so anything
    still due to it comes before its marker; the marker arriving is the sign that nothing else is on its way."""
    queue = stack.queue_url(stack.name("notify", "NotifierQueue"))
    markers = {}
    for name in dict.fromkeys(sockets.values()):
        marker = VideoStatusChanged(
            event_id=uuid.uuid4().hex, correlation_id="marker", occurred_at=utc_now(), video_id=uuid.uuid4().hex,
            owner=owner(name), status="UPLOADED", rank=1, progress=None, reason=None, title="marker.mp4",
            sequence=status_sequence(1, None),
        )  # fmt: skip
        stack.sqs.send_message(QueueUrl=queue, MessageBody=marker.model_dump_json())
        markers[name] = status_push(marker)
    extra: dict[ClientConnection, list] = {}
    for ws, name in sockets.items():
        extra[ws], deadline = [], time.monotonic() + timeout
        while True:
            try:
                text = str(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            except TimeoutError:
                raise AssertionError(f"{name}'s marker did not arrive in {timeout}s; before it: {extra[ws]}") from None
            try:
                if StatusPush.model_validate_json(text) == markers[name]:
                    break
            except ValueError:  # not a StatusPush at all: something else the socket got
                pass
            extra[ws].append(text)
    return extra


def progress_change(stack: Stack, name: str, video_id: str, done: int, total: int) -> None:
    """What the transcode workflow publishes after a chunk: the catalog makes it PROCESSING with that progress."""
    source = SourceObject(
        bucket=stack.name("upload", "UploadsBucket"), key=upload_key(owner(name), video_id, "clip.mp4"), version="e1"
    )
    event = VideoTranscodeProgress(
        event_id=stable_event_id("VideoTranscodeProgress", video_id, str(done)),
        occurred_at=utc_now(),
        correlation_id=uuid.uuid4().hex,
        video_id=video_id,
        owner=owner(name),
        source=source,
        chunks_done=done,
        chunks_total=total,
    )
    stack.client("sns").publish(TopicArn=stack.name("transcode", "VideoEventsTopic"), **sns_message(event))


def test_two_users_each_get_only_their_own_videos_pushes_in_order(stack: Stack, small_clip: Path):
    # Given alice on two pages and bob on one, through the authorizer and $connect
    alice, bob = user("alice"), user("bob")
    with open_socket(stack, alice) as alice_1, open_socket(stack, alice) as alice_2, open_socket(stack, bob) as bob_1:
        stack.wait_for("three connection rows", lambda: len(rows_of(stack, alice)) == 2 and rows_of(stack, bob))

        # When each uploads a real clip at the same time
        videos = {alice: stack.upload(small_clip, "alice.mp4", owner(alice)),
                  bob: stack.upload(small_clip, "bob.mp4", owner(bob))}  # fmt: skip

        # Then every socket gets its owner's video's changes, each a StatusPush, until READY
        received = {ws: receive(ws, final_of(videos[who])) for ws, who in ((alice_1, alice), (alice_2, alice),
                                                                           (bob_1, bob))}  # fmt: skip
        stack.idle()
        extra = left_over(stack, {alice_1: alice, alice_2: alice, bob_1: bob})
        for (ws, pushes), who in zip(received.items(), (alice, alice, bob), strict=True):
            assert extra[ws] == [], f"{who} got more than their video's changes"
            assert {p.video_id for p in pushes} == {videos[who]}, f"{who} got another user's push"
            # in order: the sequence strictly grows, UPLOADED -> PROCESSING (with progress) -> READY, READY last
            sequences = [p.sequence for p in pushes]
            assert sequences == sorted(set(sequences)), sequences
            statuses = [p.status for p in pushes]
            processing = [p for p in pushes if p.status == "PROCESSING"]
            # (a change the catalog saw after a later one is never announced: status only moves forward, so under
            # load UPLOADED may be skipped when the first progress is recorded before the upload event)
            assert statuses[-1] == "READY" and len(statuses) >= 2, statuses
            assert statuses in (["UPLOADED", *["PROCESSING"] * len(processing), "READY"],
                                [*["PROCESSING"] * len(processing), "READY"]), statuses  # fmt: skip
            assert all(p.progress is not None and 0 < p.progress <= 1 for p in processing)
            assert all(p.title == f"{'alice' if who == alice else 'bob'}.mp4" for p in pushes)
            assert pushes[-1].progress is None and pushes[-1].reason is None
        assert stack.item(videos[alice])["status"] == stack.item(videos[bob])["status"] == "READY"
    stack.wait_for("the rows gone once the pages closed", lambda: not rows_of(stack, alice) | rows_of(stack, bob))


def test_refused_tokens_cannot_connect_and_leave_no_connection(stack: Stack):
    # Given tokens the authorizer must refuse: none, garbage, expired (beyond its leeway), another issuer's key
    mallory = user("mallory")
    now = int(time.time())
    expired = stack.forge.token(mallory, iat=now - 600, exp=now - 120)
    forged = type(stack.forge).generate(kid=stack.forge.kid, issuer=stack.forge.issuer).token(mallory)
    before = connections(stack)
    for label, query in (("no token", ""), ("garbage", "?token=garbage"), ("expired", f"?token={expired}"),
                         ("another key", f"?token={forged}")):  # fmt: skip
        # When each tries to open the socket
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{stack.websocket}/{query}", open_timeout=15)
        # Then the handshake is refused as API Gateway refuses it: 401, the authorizer never allows it
        assert refused.value.response.status_code == 401, label

    # And no connection was stored; the same user with a valid token does connect, and is stored
    assert set(connections(stack)) - set(before) == set()
    with open_socket(stack, mallory):
        stack.wait_for("mallory's connection row", lambda: rows_of(stack, mallory))
    stack.wait_for("mallory's row gone after the close", lambda: not rows_of(stack, mallory), timeout=15)


def test_a_socket_opened_with_a_short_lived_token_gets_nothing_after_it_expires_and_is_closed(stack: Stack):
    # Given alice on a page whose token expires in 6 seconds
    alice, now = user("alice"), int(time.time())
    token = stack.forge.token(alice, iat=now, exp=now + 6)
    queue = stack.queue_url(stack.name("notify", "NotifierQueue"))

    def change() -> VideoStatusChanged:
        return VideoStatusChanged(
            event_id=uuid.uuid4().hex, correlation_id="c", occurred_at=utc_now(), video_id=uuid.uuid4().hex,
            owner=owner(alice), status="UPLOADED", rank=1, progress=None, reason=None, title="a.mp4",
            sequence=status_sequence(1, None),
        )  # fmt: skip

    with connect(f"{stack.websocket}/?token={token}", open_timeout=15) as ws:
        stack.wait_for("alice's row", lambda: rows_of(stack, alice))
        # Then her connection is kept until her token expires, and a change before then reaches her
        table = stack.session.resource("dynamodb", endpoint_url=stack.endpoint).Table(
            stack.name("notify", "ConnectionsTable")
        )
        [row] = [item for item in table.scan(ConsistentRead=True)["Items"] if item["owner"] == owner(alice)]
        assert int(row["expires_at"]) == now + 6
        before = change()
        stack.sqs.send_message(QueueUrl=queue, MessageBody=before.model_dump_json())
        assert receive(ws, lambda pushes: pushes, timeout=5) == [status_push(before)]

        # When her token has expired and another change of hers comes
        time.sleep(max(0.0, now + 7 - time.time()))
        stack.sqs.send_message(QueueUrl=queue, MessageBody=change().model_dump_json())
        # Then the server closes her socket without sending it (the site connects again with its fresh token)
        with pytest.raises(ConnectionClosed):
            got = ws.recv(timeout=30)
            raise AssertionError(f"a push after the token expired: {got}")
    stack.wait_for("alice's row gone", lambda: not rows_of(stack, alice), timeout=15)


def kill(ws: ClientConnection) -> None:
    """The client's network goes away: the TCP connection is reset, no WebSocket close frame is sent."""
    ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close() sends a RST
    ws.socket.close()


def test_a_dropped_connection_is_forgotten_and_a_reconnect_gets_the_next_change(stack: Stack):
    # Given alice connected on two pages, and one of her videos being transcoded (1 of 4 chunks, pushed)
    alice, video_id = user("alice"), uuid.uuid4().hex
    with open_socket(stack, alice) as closing, open_socket(stack, alice) as killed:
        stack.wait_for("alice's two rows", lambda: len(rows_of(stack, alice)) == 2)
        progress_change(stack, alice, video_id, 1, 4)
        [first] = receive(closing, lambda pushes: pushes)
        assert (first.video_id, first.status, first.progress) == (video_id, "PROCESSING", 0.25)

        # When one page closes its socket and the other's network drops
        closing.close()
        kill(killed)
        # Then $disconnect forgets both
        stack.wait_for("alice's rows gone after the close and the reset", lambda: not rows_of(stack, alice), timeout=20)

    # Given a row whose connection API Gateway no longer knows (its $disconnect never came)
    table = stack.session.resource("dynamodb", endpoint_url=stack.endpoint).Table(
        stack.name("notify", "ConnectionsTable")
    )
    stale = f"stale{uuid.uuid4().hex[:11]}="
    table.put_item(Item={"connection_id": stale, "owner": owner(alice), "connected_at": utc_now().isoformat(),
                         "expires_at": int(time.time()) + 3600})  # fmt: skip
    # When the video changes again: the notifier's post to it is a 410, and the row is removed
    progress_change(stack, alice, video_id, 2, 4)
    stack.wait_for("the stale row removed on its 410", lambda: stale not in connections(stack), timeout=30)
    stack.idle()  # and a gone connection is no failure: nothing of this video was dead-lettered
    assert not [body for body in stack.dlq_bodies()[stack.name("notify", "NotifierDLQ")] if video_id in body]

    # And alice, back on a page, gets the next change of her video, with a higher sequence
    with open_socket(stack, alice) as again:
        stack.wait_for("alice's row after the reconnect", lambda: rows_of(stack, alice))
        progress_change(stack, alice, video_id, 3, 4)
        [pushed] = receive(again, lambda pushes: pushes)
        assert (pushed.video_id, pushed.status, pushed.progress) == (video_id, "PROCESSING", 0.75)
        assert pushed.sequence > first.sequence


def test_a_message_the_notifier_cannot_read_ends_in_its_dlq_and_the_change_beside_it_is_pushed(stack: Stack):
    # Given alice on two pages, bob on one, and a change of alice's video as the catalog announces it
    alice, bob, video_id = user("alice"), user("bob"), uuid.uuid4().hex
    change = VideoStatusChanged(
        event_id=stable_event_id("VideoStatusChanged", video_id, "1"), correlation_id="c1", occurred_at=utc_now(),
        video_id=video_id, owner=owner(alice), status="UPLOADED", rank=1, progress=None, reason=None,
        title="a.mp4", sequence=status_sequence(1, None),
    )  # fmt: skip
    # and a change from a catalog ahead of this notifier (a schema_version it does not know): the handler raises
    ahead = json.loads(change.model_dump_json()) | {"schema_version": 99, "video_id": uuid.uuid4().hex}
    queue = stack.queue_url(stack.name("notify", "NotifierQueue"))
    dlq = stack.name("notify", "NotifierDLQ")
    with open_socket(stack, alice) as alice_1, open_socket(stack, alice) as alice_2, open_socket(stack, bob) as bob_1:
        stack.wait_for("the three rows", lambda: len(rows_of(stack, alice)) == 2 and rows_of(stack, bob))

        # When both reach the notifier's queue in one batch
        sent = stack.sqs.send_message_batch(QueueUrl=queue, Entries=[
            {"Id": "ahead", "MessageBody": json.dumps(ahead)}, {"Id": "good", "MessageBody": change.model_dump_json()},
        ])  # fmt: skip
        ahead_id = next(m["MessageId"] for m in sent["Successful"] if m["Id"] == "ahead")

        # Then the good change reached both of alice's pages (once each) and not bob's
        for ws in (alice_1, alice_2):
            [pushed] = receive(ws, lambda pushes: pushes, timeout=30)
            assert pushed == status_push(change)
        # And the unreadable one was received maxReceiveCount (5) times, then moved to the notifier's DLQ alone
        dead = stack.wait_for("the notifier DLQ to hold it", lambda: stack.dlq_bodies()[dlq], timeout=60)
        assert [json.loads(body) for body in dead] == [ahead]
        assert stack.take_dead_letters(dlq, json.dumps(ahead)) == dead  # (the stack is shared: every DLQ empty again)
        records = [r for r in failure_records(stack, "notify-notify") if r["message_id"] == ahead_id]
        assert [(r["code"], r["receive_count"]) for r in records] == [("UNREADABLE_MESSAGE", n) for n in range(1, 6)]
        stack.idle()
        assert left_over(stack, {alice_1: alice, alice_2: alice, bob_1: bob}) == {alice_1: [], alice_2: [], bob_1: []}


def failure_records(stack: Stack, function: str) -> list[dict[str, Any]]:
    """The failure records a function logged (one per message it gave up on, per receive)."""
    records = []
    for line in Path(stack.ready["logs"][function]).read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("message") == "failure_record":
            records.append(entry["failure"])
    return records
