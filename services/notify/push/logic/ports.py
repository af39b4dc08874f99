"""What the push logic needs from the outside world; adapters/ implements it, tests fake it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Connection:
    """An open WebSocket of one signed-in user, kept until it closes or `expires_at` (the table's TTL): when the
    token it was opened with expires, or API Gateway's 2 hours, whichever comes first."""

    connection_id: str
    owner: str
    connected_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Lease:
    """One of an owner's connections as kept: it may get pushes until `expires_at`, and must be closed after."""

    connection_id: str
    expires_at: datetime


class Connections(Protocol):
    def put(self, connection: Connection) -> None: ...

    def delete(self, connection_id: str) -> None:
        """Forget the connection (nothing happens if it is not known)."""
        ...

    def of_owner(self, owner: str) -> list[Lease]:
        """Every connection of the owner still kept, expired ones too (the table's TTL removes them only later)."""
        ...


class ConnectionGone(Exception):
    """The connection is closed (API Gateway's 410): it will never take a message again."""


class PostFailed(Exception):
    """A message could not be posted to a live connection (throttled, unreachable...): worth retrying."""


class Sockets(Protocol):
    def post(self, connection_id: str, data: bytes) -> None:
        """Send one message; raises ConnectionGone or PostFailed."""
        ...

    def close(self, connection_id: str) -> None:
        """Close the connection from the server's side; raises ConnectionGone (closed already) or PostFailed."""
        ...
