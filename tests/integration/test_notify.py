"""The notify service's handlers against moto: connections in DynamoDB, the catalog's status changes reaching the
notifier's queue through its subscription filter, pushes per owner, 410s, retries and the DLQ.

moto's apigatewaymanagementapi only records posts, so the management API is a fake boto3 client here (the real
adapter around it translates its GoneException); everything else is moto.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from contracts import FailureReason, VideoStatus, VideoStatusChanged, status_sequence
from contracts.delivery import sns_message
from contracts.events import utc_now
from contracts.readable import UNKNOWN_FAILURE, failure_sentence
from infra.event_source import EventSourceMapping
from push.adapters.sockets import ManagementApiSockets
from tests.integration.conftest import Aws, Context, sqs_event, use_function_env
from tests.integration.pipeline import DownloadingProber, catalog_handlers, s3_upload_event
from tests.unit import shapes

pytestmark = pytest.mark.service("notify", "metadata")


class FakeManagementApi:
    """boto3's apigatewaymanagementapi client as API Gateway answers: 410 for a closed connection."""

    def __init__(self) -> None:
        self.posted: dict[str, list[dict[str, Any]]] = {}
        self.closed: set[str] = set()
        self.failing: set[str] = set()
        self.deleted: list[str] = []  # DeleteConnection calls, in order

    def delete_connection(self, *, ConnectionId: str) -> None:
        if ConnectionId in self.closed:
            raise ClientError(
                {"Error": {"Code": "GoneException"}, "ResponseMetadata": {"HTTPStatusCode": 410}}, "DeleteConnection"
            )
        self.deleted.append(ConnectionId)
        self.closed.add(ConnectionId)

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:
        if ConnectionId in self.closed:
            raise ClientError(
                {"Error": {"Code": "GoneException"}, "ResponseMetadata": {"HTTPStatusCode": 410}}, "PostToConnection"
            )
        if ConnectionId in self.failing:
            raise ClientError(
                {"Error": {"Code": "LimitExceededException"}, "ResponseMetadata": {"HTTPStatusCode": 429}},
                "PostToConnection",
            )
        self.posted.setdefault(ConnectionId, []).append(json.loads(Data))


@pytest.fixture
def notify(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeManagementApi]:
    """The notify functions' environment, with the management API faked under the real adapter."""
    from push import deps

    functions = [
        aws.function("notify-notify"),
        *(aws.topology.invocables[f"notify-{n}"] for n in ("connect", "disconnect")),
    ]
    use_function_env(monkeypatch, *functions, WEBSOCKET_MANAGEMENT_URL="http://127.0.0.1:9/local")
    api = FakeManagementApi()
    deps.notify().sockets = ManagementApiSockets(api)
    yield api


@pytest.fixture
def catalog(aws: Aws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    yield from catalog_handlers(aws, monkeypatch, DownloadingProber(aws.client("s3"), tmp_path))


def websocket(route: str, connection_id: str, owner: str | None = None, exp: int | None = None) -> dict[str, Any]:
    """An API Gateway WebSocket proxy event; on $connect, the authorizer's context (a token valid for 3 hours unless
    `exp` says otherwise; as API Gateway passes it on, in strings) and principalId."""
    kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    context: dict[str, Any] = {"routeKey": route, "eventType": kind, "connectionId": connection_id, "stage": "test"}
    if owner:
        expires = str(exp if exp is not None else int(time.time()) + 3 * 3600)
        context["authorizer"] = {"principalId": owner, "sub": owner, "username": owner, "exp": expires}
    return {"requestContext": context, "isBase64Encoded": False}


def connect(connection_id: str, owner: str, exp: int | None = None) -> None:
    from push.handlers import connect as handler

    assert handler.handler(websocket("$connect", connection_id, owner, exp), Context()) == {"statusCode": 200}


def expiry_of(aws: Aws, connection_id: str) -> int:
    table = aws.name("notify", "ConnectionsTable")
    item = aws.client("dynamodb").get_item(TableName=table, Key={"connection_id": {"S": connection_id}})["Item"]
    return int(item["expires_at"]["N"])


def notifier(aws: Aws) -> EventSourceMapping:
    from push.handlers import notify as handler

    return EventSourceMapping(aws.client("sqs"), aws.function("notify-notify"), handler.handler, retry_delay=0)


def run(mapping: EventSourceMapping) -> list[dict[str, int]]:
    polls = []
    while (poll := mapping.poll(wait_seconds=0)) is not None:
        polls.append(poll)
    return polls


def connections(aws: Aws) -> dict[str, str]:
    table = aws.client("dynamodb")
    items = table.scan(TableName=aws.name("notify", "ConnectionsTable"))["Items"]
    return {item["connection_id"]["S"]: item["owner"]["S"] for item in items}


def test_connect_stores_the_owner_with_a_ttl_and_disconnect_removes_it(aws: Aws, notify: FakeManagementApi):
    from push.handlers import connect as on_connect
    from push.handlers import disconnect as on_disconnect

    # When alice connects, and a connect without a verified user is tried
    connect("a1", "alice")
    assert on_connect.handler(websocket("$connect", "x1"), Context()) == {"statusCode": 403}
    # Then only hers is kept, with when it connected and when it expires (two hours on)
    item = aws.client("dynamodb").get_item(
        TableName=aws.name("notify", "ConnectionsTable"), Key={"connection_id": {"S": "a1"}}
    )["Item"]
    assert item["owner"]["S"] == "alice" and item["connected_at"]["S"]
    assert 7100 < int(item["expires_at"]["N"]) - time.time() <= 7200
    assert connections(aws) == {"a1": "alice"}
    # And a disconnect forgets it
    assert on_disconnect.handler(websocket("$disconnect", "a1"), Context()) == {"statusCode": 200}
    assert connections(aws) == {}


def test_a_connection_is_kept_until_its_token_expires_and_an_expired_token_cannot_connect(
    aws: Aws, notify: FakeManagementApi
):
    from push.handlers import connect as on_connect

    # When alice connects with a token valid for ten more minutes, and bob with one that has just expired (the
    # authorizer lets it through within its leeway)
    exp = int(time.time()) + 600
    connect("a1", "alice", exp=exp)
    refused = on_connect.handler(websocket("$connect", "b1", "bob", exp=int(time.time()) - 5), Context())
    # Then alice's connection is kept until her token expires, and bob's is refused (401: a fresh token will do)
    assert expiry_of(aws, "a1") == exp
    assert refused == {"statusCode": 401} and connections(aws) == {"a1": "alice"}


def test_a_connection_past_its_tokens_expiry_is_closed_gets_nothing_and_is_forgotten(
    aws: Aws, catalog, notify: FakeManagementApi, monkeypatch: pytest.MonkeyPatch
):
    from push import deps

    # Given alice on two pages: one opened with a token that expires in a minute, one with a fresh token
    connect("a1", "alice", exp=int(time.time()) + 60)
    connect("a2", "alice", exp=int(time.time()) + 3600)
    # When one of her videos changes five minutes later
    monkeypatch.setattr(deps.notify(), "clock", lambda: utc_now() + timedelta(minutes=5))
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{uuid.uuid4().hex}/c.mp4")), Context())
    polls = run(notifier(aws))
    # Then the expired page got nothing: it was closed (DeleteConnection) and forgotten; the other got the change
    assert "a1" not in notify.posted and [p["status"] for p in notify.posted["a2"]] == ["UPLOADED"]
    assert notify.deleted == ["a1"] and connections(aws) == {"a2": "alice"}
    assert sum(p["failed"] for p in polls) == 0


def test_a_ping_is_answered():
    from push.handlers import ping

    answer = ping.handler({"requestContext": {"routeKey": "$default", "connectionId": "a1"}, "body": "ping"}, None)
    assert answer["statusCode"] == 200 and json.loads(answer["body"]) == {"type": "pong"}


def _life_of_a_video(aws: Aws, catalog, owner: str) -> str:
    """Upload, progress 1/2 and 2/2 (each delivered twice), FAILED (twice): what the catalog sees of one video."""
    video_id = uuid.uuid4().hex
    body = s3_upload_event(aws, f"uploads/{owner}/{video_id}/{owner}'s clip.mp4")
    for _ in range(2):
        catalog.on_upload(sqs_event(body), Context())
    for done in (1, 1, 2, 2):
        progress = shapes.progress(video_id, done, 2, owner=owner)
        catalog.on_video_event(sqs_event(progress.model_dump_json()), Context())
    for _ in range(2):
        catalog.on_video_event(sqs_event(shapes.failed(video_id).model_dump_json()), Context())
    return video_id


def test_two_users_each_get_only_their_own_videos_changes_in_order_once_each(
    aws: Aws, catalog, notify: FakeManagementApi
):
    # Given alice on two pages and bob on one
    for connection_id, owner in (("a1", "alice"), ("a2", "alice"), ("b1", "bob")):
        connect(connection_id, owner)

    # When each has a video go through the catalog (every event delivered twice), and the notifier runs
    videos = {owner: _life_of_a_video(aws, catalog, owner) for owner in ("alice", "bob")}
    run(notifier(aws))

    # Then each connection got its owner's changes only, once each, in order, with what a card needs
    expected = [("UPLOADED", None), ("PROCESSING", 0.5), ("PROCESSING", 1.0), ("FAILED", None)]
    for connection_id, owner in (("a1", "alice"), ("a2", "alice"), ("b1", "bob")):
        pushes = notify.posted[connection_id]
        assert {p["video_id"] for p in pushes} == {videos[owner]}
        assert [(p["status"], p["progress"]) for p in pushes] == expected
        assert [p["sequence"] for p in pushes] == sorted({p["sequence"] for p in pushes})
        assert pushes[-1]["reason"] and pushes[0]["title"] == f"{owner}'s clip.mp4"
        assert set(pushes[0]) == {
            "type", "schema_version", "event_id", "video_id", "status", "rank", "progress", "reason", "title",
            "sequence", "occurred_at", "playable_seconds",
        }  # fmt: skip
        assert [p["playable_seconds"] for p in pushes] == [None] * len(expected)  # no growing stream was stored


def test_a_gone_connection_is_removed_and_the_others_still_get_the_change(aws: Aws, catalog, notify: FakeManagementApi):
    # Given alice on three pages, one of them closed without a $disconnect
    for connection_id in ("a1", "a2", "a3"):
        connect(connection_id, "alice")
    notify.closed.add("a2")

    # When one of her videos changes
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/c.mp4")), Context())
    polls = run(notifier(aws))

    # Then the closed one is forgotten, the others got the change, and nothing is retried
    assert connections(aws) == {"a1": "alice", "a3": "alice"}
    assert [p["status"] for p in notify.posted["a1"]] == [p["status"] for p in notify.posted["a3"]] == ["UPLOADED"]
    assert sum(p["failed"] for p in polls) == 0

    # And after a reconnect the next change reaches the new connection too
    connect("a4", "alice")
    catalog.on_video_event(sqs_event(shapes.progress(video_id, 1, 2).model_dump_json()), Context())
    run(notifier(aws))
    assert [p["status"] for p in notify.posted["a4"]] == ["PROCESSING"]


def test_a_failing_post_is_retried_then_ends_in_the_dlq_and_the_other_connections_got_it(
    aws: Aws, catalog, notify: FakeManagementApi
):
    # Given alice on two pages, one failing every post (not gone: throttled)
    connect("a1", "alice")
    connect("a2", "alice")
    notify.failing.add("a2")

    # When one of her videos changes and the notifier keeps trying
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/c.mp4")), Context())
    polls = run(notifier(aws))

    # Then the message failed on each of its 5 receives and then went to the DLQ
    assert [p["failed"] for p in polls] == [1] * 5
    dlq = aws.queue_url(aws.name("notify", "NotifierDLQ"))
    [dead] = aws.drain(dlq)
    assert (dead["event_type"], dead["video_id"], dead["status"]) == ("VideoStatusChanged", video_id, "UPLOADED")
    # And the live connection had the change at every try (at least once: the page keeps the highest sequence)
    assert [p["sequence"] for p in notify.posted["a1"]] == [notify.posted["a1"][0]["sequence"]] * 5
    assert connections(aws) == {"a1": "alice", "a2": "alice"}


def test_only_status_changes_reach_the_notifier_and_the_deletion_consumers_get_none(aws: Aws, catalog, notify):
    # Given a video the catalog recorded (one status change)
    video_id = uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/c.mp4")), Context())
    # Then the notifier's queue has it, and the deletions queues of upload and transcode nothing
    assert [e["event_type"] for e in aws.drain(aws.queue_url(aws.name("notify", "NotifierQueue")))] == [
        "VideoStatusChanged"
    ]
    for service in ("upload", "transcode"):
        assert aws.drain(aws.queue_url(f"video24-{service}-test-deletions")) == []


def test_a_failure_is_pushed_as_a_sentence_never_as_ffmpegs_words(aws: Aws, catalog, notify: FakeManagementApi):
    # Given alice on a page
    connect("a1", "alice")
    # When one of her videos fails with a VideoTranscodeFailed whose reason is ffmpeg's text (sent before reasons
    # were sentences), and a FAILED change of another video, published before then with that text, is redriven
    video_id, older = uuid.uuid4().hex, uuid.uuid4().hex
    catalog.on_upload(sqs_event(s3_upload_event(aws, f"uploads/alice/{video_id}/clip.mp4")), Context())
    failed = shapes.failed(video_id, reason=shapes.FFMPEG_WORDS)
    catalog.on_video_event(sqs_event(failed.model_dump_json()), Context())
    redriven = VideoStatusChanged(
        correlation_id="c", video_id=older, owner="alice", status=VideoStatus.FAILED, rank=3, progress=None,
        reason=shapes.FFMPEG_WORDS, title="old.mp4", sequence=status_sequence(3, None),
    )  # fmt: skip
    aws.client("sns").publish(TopicArn=aws.name("metadata", "CatalogEventsTopic"), **sns_message(redriven))
    run(notifier(aws))

    # Then her page reads the sentence of the code, and for the older change a general one: no ffmpeg words
    reasons = {p["video_id"]: p["reason"] for p in notify.posted["a1"] if p["status"] == "FAILED"}
    assert reasons == {video_id: failure_sentence(FailureReason.NO_VIDEO_STREAM), older: UNKNOWN_FAILURE}
    assert [mark for mark in ("0x", "@", "[", "whitelist") if mark in "".join(reasons.values())] == []
