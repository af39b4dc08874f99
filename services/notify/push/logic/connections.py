"""Keep the open WebSockets of each user: stored on $connect for the user the authorizer proved, until the token
it was opened with expires (2 hours at most); dropped on $disconnect (and by the table's TTL if a disconnect is
never seen)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.events import utc_now
from push.logic.ports import Connection, Connections


class NoOwner(Exception):
    """The connect request carries no verified user: it must not open."""


class TokenExpired(Exception):
    """The token the connect request was verified with has expired (within the authorizer's leeway), or its expiry
    is not known: the connection must not open (the page connects again with a fresh token)."""


@dataclass
class ConnectDeps:
    connections: Connections
    lifetime: timedelta
    clock: Callable[[], datetime] = utc_now


@dataclass
class DisconnectDeps:
    connections: Connections


def token_expiry(said: object) -> datetime | None:
    """The token's expiry the authorizer's context says (`exp`, epoch seconds, as a string); None if it says none."""
    if isinstance(said, bool) or not isinstance(said, (str, int)):
        return None
    try:
        return datetime.fromtimestamp(int(said), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def connect(connection_id: str, owner: str | None, token_expires: datetime | None, deps: ConnectDeps) -> Connection:
    """Remember the connection as the owner's, until its token expires or it can be open no longer."""
    if not owner or not connection_id:
        raise NoOwner("no verified user for this connection")
    now = deps.clock()
    if token_expires is None or token_expires <= now:
        raise TokenExpired(f"the token expired at {token_expires}" if token_expires else "no token expiry")
    expires_at = min(now + deps.lifetime, token_expires)
    connection = Connection(connection_id, owner, connected_at=now, expires_at=expires_at)
    deps.connections.put(connection)
    return connection


def disconnect(connection_id: str, deps: DisconnectDeps) -> None:
    deps.connections.delete(connection_id)
