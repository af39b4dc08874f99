"""The notifier's logic with fakes: connections by owner, a push per change, 410 forgets, a failure retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from contracts import ChunkRef, FailureReason, StatusPush, VideoStatus, VideoStatusChanged, status_sequence
from contracts.readable import UNKNOWN_FAILURE, failure_sentence
from push.logic.connections import (
    ConnectDeps,
    DisconnectDeps,
    NoOwner,
    TokenExpired,
    connect,
    disconnect,
    token_expiry,
)
from push.logic.notify import DeliveryFailed, NotifyDeps, push_change
from push.logic.ports import Connection, ConnectionGone, Lease, PostFailed
from tests.unit.fakes import FakeMeter
from tests.unit.shapes import FFMPEG_WORDS, TOOL_WORDS

pytestmark = pytest.mark.service("notify")

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SENTENCE_WITH_PART = failure_sentence(
    FailureReason.TRANSCODE_FAILED, ChunkRef(index=61, start_seconds=3660, end_seconds=3720)
)


class FakeConnections:
    def __init__(self) -> None:
        self.items: dict[str, Connection] = {}

    def put(self, connection: Connection) -> None:
        self.items[connection.connection_id] = connection

    def delete(self, connection_id: str) -> None:
        self.items.pop(connection_id, None)

    def of_owner(self, owner: str) -> list[Lease]:
        return sorted(
            (Lease(c.connection_id, c.expires_at) for c in self.items.values() if c.owner == owner),
            key=lambda lease: lease.connection_id,
        )


class FakeSockets:
    """Records each post and close; `gone` connections answer 410, `failing` ones fail (each time)."""

    def __init__(self, gone: set[str] = frozenset(), failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.gone, self.failing = set(gone), set(failing)
        self.posted: list[tuple[str, dict]] = []
        self.closed: list[str] = []

    def post(self, connection_id: str, data: bytes) -> None:
        self._reach(connection_id)
        self.posted.append((connection_id, json.loads(data)))

    def close(self, connection_id: str) -> None:
        self._reach(connection_id)
        self.closed.append(connection_id)
        self.gone.add(connection_id)

    def _reach(self, connection_id: str) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        if connection_id in self.failing:
            raise PostFailed(connection_id)


def change(owner: str, video_id: str = "vid00001", status: str = "PROCESSING", progress: float | None = 0.5):
    rank = {"UPLOADED": 1, "PROCESSING": 2, "FAILED": 3, "READY": 4, "DELETED": 5}[status]
    return VideoStatusChanged(
        correlation_id="c",
        video_id=video_id,
        owner=owner,
        status=VideoStatus(status),
        rank=rank,
        progress=progress,
        reason="the file has no video stream" if status == "FAILED" else None,
        title="a b.mp4",
        sequence=status_sequence(rank, progress),
    )


TOKEN_HOUR = NOW + timedelta(hours=1)  # when the tokens of these tests expire, unless one says otherwise


def _connected(*pairs: tuple[str, str], token_expires: datetime = TOKEN_HOUR) -> FakeConnections:
    connections = FakeConnections()
    deps = ConnectDeps(connections, lifetime=timedelta(hours=2), clock=lambda: NOW)
    for connection_id, owner in pairs:
        connect(connection_id, owner, token_expires, deps)
    return connections


def test_connect_keeps_the_owner_until_its_token_expires():
    # When alice's socket connects with a token valid for another hour
    connections = _connected(("c1", "alice"))
    # Then it is hers, until her token expires
    assert connections.items["c1"] == Connection("c1", "alice", NOW, TOKEN_HOUR)


def test_connect_with_a_longer_lived_token_expires_after_two_hours():
    # When alice connects with a token valid for a day
    connections = _connected(("c1", "alice"), token_expires=NOW + timedelta(days=1))
    # Then the connection is hers until API Gateway would have closed it anyway
    assert connections.items["c1"] == Connection("c1", "alice", NOW, NOW + timedelta(hours=2))


@pytest.mark.parametrize("owner", [None, ""])
def test_connect_without_a_verified_user_is_refused(owner):
    with pytest.raises(NoOwner):
        connect("c1", owner, TOKEN_HOUR, ConnectDeps(FakeConnections(), lifetime=timedelta(hours=2)))


@pytest.mark.parametrize("expires", [NOW, NOW - timedelta(seconds=20), None], ids=["now", "in the leeway", "unsaid"])
def test_connect_with_a_token_expired_or_without_an_expiry_is_refused(expires):
    # Given a token the authorizer let through within its leeway, or a context that says no expiry
    connections = FakeConnections()
    # When it connects, then it is refused and nothing is kept
    with pytest.raises(TokenExpired):
        connect("c1", "alice", expires, ConnectDeps(connections, lifetime=timedelta(hours=2), clock=lambda: NOW))
    assert connections.items == {}


@pytest.mark.parametrize(
    ("said", "expiry"),
    [
        ("1796040000", datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        (1796040000, datetime(2026, 11, 30, 12, 0, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("soon", None),
        ("1e30", None),
        (True, None),
    ],
)
def test_the_token_expiry_is_read_from_the_authorizers_context(said, expiry):
    assert token_expiry(said) == expiry


def test_disconnect_forgets_the_connection_and_an_unknown_one_is_fine():
    connections = _connected(("c1", "alice"))
    disconnect("c1", DisconnectDeps(connections))
    disconnect("c1", DisconnectDeps(connections))
    assert connections.items == {}


def test_a_change_goes_only_to_its_owners_connections_as_a_status_push():
    # Given two sockets of alice and one of bob
    connections, sockets = _connected(("a1", "alice"), ("a2", "alice"), ("b1", "bob")), FakeSockets()
    # When one of alice's videos changes
    delivery = push_change(change("alice"), NotifyDeps(connections, sockets, clock=lambda: NOW))
    # Then both of alice's sockets get the StatusPush, and bob's nothing
    assert delivery.sent == ["a1", "a2"] and delivery.gone == delivery.failed == []
    assert [c for c, _ in sockets.posted] == ["a1", "a2"]
    push = StatusPush.model_validate(sockets.posted[0][1])
    assert (push.video_id, push.status, push.progress, push.rank, push.title) == (
        "vid00001",
        "PROCESSING",
        0.5,
        2,
        "a b.mp4",
    )
    assert push.sequence == status_sequence(2, 0.5) and "owner" not in sockets.posted[0][1]


def test_an_expired_connection_gets_nothing():
    connections = _connected(("a1", "alice"))
    sockets = FakeSockets()
    push_change(change("alice"), NotifyDeps(connections, sockets, clock=lambda: NOW + timedelta(hours=3)))
    assert sockets.posted == []


def test_a_connection_past_its_tokens_expiry_is_closed_and_forgotten_and_the_others_still_get_the_change():
    # Given alice on two pages: one opened with a token that expired a minute ago, one with a fresh token
    connections = _connected(("a1", "alice"), token_expires=NOW + timedelta(minutes=5))
    connect("a2", "alice", NOW + timedelta(hours=1), ConnectDeps(connections, timedelta(hours=2), lambda: NOW))
    sockets = FakeSockets()
    # When a change of hers is pushed six minutes later
    later = NOW + timedelta(minutes=6)
    delivery = push_change(change("alice"), NotifyDeps(connections, sockets, clock=lambda: later))
    # Then the expired page gets nothing: it is closed (the site reconnects with its fresh token) and forgotten
    assert [c for c, _ in sockets.posted] == ["a2"] and sockets.closed == ["a1"]
    assert (delivery.sent, delivery.expired, delivery.unclosed) == (["a2"], ["a1"], [])
    assert sorted(connections.items) == ["a2"]


def test_an_expired_connection_already_gone_is_forgotten_and_one_that_cannot_be_closed_yet_is_kept():
    # Given three of alice's pages whose token has expired: one closed already, one that fails to close (throttled)
    connections = _connected(("a1", "alice"), ("a2", "alice"), ("a3", "alice"))
    sockets = FakeSockets(gone={"a1"}, failing={"a2"})
    # When a change is pushed after the expiry
    delivery = push_change(change("alice"), NotifyDeps(connections, sockets, clock=lambda: TOKEN_HOUR))
    # Then no page got it; the gone one and the closed one are forgotten, and that is no failure of the change
    assert sockets.posted == [] and sockets.closed == ["a3"]
    assert (delivery.sent, delivery.expired, delivery.unclosed, delivery.failed) == ([], ["a1", "a3"], ["a2"], [])
    # And the one that could not be closed is kept, to be closed at the next change (it gets nothing meanwhile)
    assert sorted(connections.items) == ["a2"]


def test_a_gone_connection_is_forgotten_and_the_others_still_get_the_change():
    # Given alice's three sockets, the first closed without a $disconnect
    connections = _connected(("a1", "alice"), ("a2", "alice"), ("a3", "alice"))
    sockets = FakeSockets(gone={"a1"})
    # When a change is pushed
    meter = FakeMeter()
    delivery = push_change(change("alice"), NotifyDeps(connections, sockets, clock=lambda: NOW, meter=meter))
    # Then a1 is forgotten, the others got it, and that is no failure
    assert (delivery.gone, delivery.sent) == (["a1"], ["a2", "a3"])
    assert sorted(connections.items) == ["a2", "a3"]
    # And the metrics say so: two pushes sent, one page gone
    assert meter.recorded == [("PushesSent", 2, {}), ("ConnectionsGone", 1, {})]


def test_a_failing_connection_does_not_stop_the_others_and_fails_the_change():
    # Given alice's three sockets, the middle one failing (throttled, say)
    connections = _connected(("a1", "alice"), ("a2", "alice"), ("a3", "alice"))
    sockets = FakeSockets(failing={"a2"}, gone={"a3"})
    # When a change is pushed
    meter = FakeMeter()
    with pytest.raises(DeliveryFailed) as failed:
        push_change(change("alice"), NotifyDeps(connections, sockets, clock=lambda: NOW, meter=meter))
    # Then every connection was tried, the gone one forgotten, and the failure says which one failed
    assert [c for c, _ in sockets.posted] == ["a1"]
    assert (failed.value.delivery.sent, failed.value.delivery.failed, failed.value.delivery.gone) == (
        ["a1"],
        ["a2"],
        ["a3"],
    )
    assert sorted(connections.items) == ["a1", "a2"]
    assert meter.recorded == [("PushesSent", 1, {}), ("ConnectionsGone", 1, {})]  # what did happen is counted


@pytest.mark.parametrize(
    ("reason", "pushed"),
    [
        (failure_sentence(FailureReason.NO_VIDEO_STREAM), failure_sentence(FailureReason.NO_VIDEO_STREAM)),
        (SENTENCE_WITH_PART, SENTENCE_WITH_PART),
        (FFMPEG_WORDS, UNKNOWN_FAILURE),
        (None, UNKNOWN_FAILURE),
    ],
    ids=["sentence", "sentence with the part", "ffmpeg's words", "no reason"],
)
def test_a_failed_video_is_pushed_with_a_sentence_for_its_owner(reason: str | None, pushed: str):
    # Given alice's socket, and a FAILED change of hers: a sentence, or (published before reasons were sentences,
    # redriven from a DLQ) ffmpeg's text or nothing
    connections, sockets = _connected(("a1", "alice")), FakeSockets()
    failed = change("alice", status="FAILED", progress=None).model_copy(update={"reason": reason})
    # When it is pushed
    push_change(failed, NotifyDeps(connections, sockets, clock=lambda: NOW))
    # Then the page reads a sentence of ours, never the tool's words
    [(_, message)] = sockets.posted
    assert message["reason"] == pushed
    assert [word for word in TOOL_WORDS if word in message["reason"]] == []


def test_a_change_without_an_owner_goes_nowhere():
    connections, sockets = _connected(("a1", "alice")), FakeSockets()
    assert push_change(change(None), NotifyDeps(connections, sockets)).sent == []  # type: ignore[arg-type]
    assert sockets.posted == []


def test_sequence_orders_a_videos_life_and_never_repeats():
    # Given every state a video can be announced in, in the order the catalog allows
    life = [(1, None), (2, None), (2, 0.0), (2, 0.3333), (2, 0.6667), (2, 1.0), (3, None), (4, None), (5, None)]
    # Then their sequence numbers only grow
    numbers = [status_sequence(rank, progress) for rank, progress in life]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
