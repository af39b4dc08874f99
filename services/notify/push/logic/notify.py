"""Post each change of a video to its owner's open WebSockets, and to no one else's.

At least once: a change whose post to a live connection failed is retried as a whole (the SQS message comes
back), so connections that already had it get it again; the page keeps the highest `sequence` per video and
ignores the rest (contracts.push.StatusPush). A closed connection (410) is forgotten and is not a failure.

Only until the token a connection was opened with expires: a connection past it gets nothing, and is closed and
forgotten when the owner's next change comes (the page connects again with its fresh token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from contracts import VideoStatusChanged, VideoStatusChangedV1, status_push
from contracts.events import utc_now
from lambdakit.metrics import CONNECTIONS_GONE, PUSHES_SENT, Meter, NoMeter
from push.logic.ports import ConnectionGone, Connections, PostFailed, Sockets


@dataclass
class NotifyDeps:
    connections: Connections
    sockets: Sockets
    clock: Callable[[], datetime] = utc_now
    meter: Meter = field(default_factory=NoMeter)


@dataclass
class Delivery:
    """What became of one change: the connections that got it, were gone (and forgotten), or failed; and those past
    their token's expiry, which got nothing: closed (and forgotten), or not closed yet (kept, to close next time)."""

    sent: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    unclosed: list[str] = field(default_factory=list)


class DeliveryFailed(Exception):
    """A live connection did not get the change: the message is retried (then its DLQ keeps it)."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(f"{len(delivery.failed)} of the owner's connections did not get the change")
        self.delivery = delivery


def push_change(change: VideoStatusChanged | VideoStatusChangedV1, deps: NotifyDeps) -> Delivery:
    """Post the change to every open connection of the video's owner whose token has not expired, and close those
    whose token has; one failing never stops the others.

    Raises DeliveryFailed, after trying every connection, if a post to a live one failed (a connection that could
    not be closed is no failure of the change: it gets nothing, and is closed at the next one).
    """
    delivery = Delivery()
    if not change.owner:
        return delivery  # nobody to tell
    data = status_push(change).model_dump_json().encode()
    now = deps.clock()
    for lease in deps.connections.of_owner(change.owner):
        connection_id = lease.connection_id
        if lease.expires_at <= now:
            _close(connection_id, deps, delivery)
            continue
        try:
            deps.sockets.post(connection_id, data)
        except ConnectionGone:
            deps.connections.delete(connection_id)
            delivery.gone.append(connection_id)
        except PostFailed:
            delivery.failed.append(connection_id)
        else:
            delivery.sent.append(connection_id)
    for metric, connections in ((PUSHES_SENT, delivery.sent), (CONNECTIONS_GONE, delivery.gone)):
        if connections:
            deps.meter.record(metric, len(connections))
    if delivery.failed:
        raise DeliveryFailed(delivery)
    return delivery


def _close(connection_id: str, deps: NotifyDeps, delivery: Delivery) -> None:
    try:
        deps.sockets.close(connection_id)
    except ConnectionGone:
        pass  # closed already: forgotten all the same
    except PostFailed:
        delivery.unclosed.append(connection_id)
        return
    deps.connections.delete(connection_id)
    delivery.expired.append(connection_id)
