"""Keep the open WebSockets of each user: stored on $connect for the user the authorizer proved, dropped on
$disconnect (and by the table's TTL if a disconnect is never seen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts.events import utc_now
from push.logic.ports import Connection, Connections


class NoOwner(Exception):
    """The connect request carries no verified user: it must not open."""


@dataclass
class ConnectDeps:
    connections: Connections
    lifetime: timedelta
    clock: Callable[[], datetime] = utc_now


@dataclass
class DisconnectDeps:
    connections: Connections


def connect(connection_id: str, owner: str | None, deps: ConnectDeps) -> Connection:
    """Remember the connection as the owner's, until it can be open no longer."""
    if not owner or not connection_id:
        raise NoOwner("no verified user for this connection")
    now = deps.clock()
    connection = Connection(connection_id, owner, connected_at=now, expires_at=now + deps.lifetime)
    deps.connections.put(connection)
    return connection


def disconnect(connection_id: str, deps: DisconnectDeps) -> None:
    deps.connections.delete(connection_id)
