"""What the push logic needs from the outside world; adapters/ implements it, tests fake it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Connection:
    """An open WebSocket of one signed-in user, kept until it closes or `expires_at` (the table's TTL)."""

    connection_id: str
    owner: str
    connected_at: datetime
    expires_at: datetime


class Connections(Protocol):
    def put(self, connection: Connection) -> None: ...

    def delete(self, connection_id: str) -> None:
        """Forget the connection (nothing happens if it is not known)."""
        ...

    def of_owner(self, owner: str, now: datetime) -> list[str]:
        """The ids of the owner's connections that have not expired at `now`."""
        ...


class ConnectionGone(Exception):
    """The connection is closed (API Gateway's 410): it will never take a message again."""


class PostFailed(Exception):
    """A message could not be posted to a live connection (throttled, unreachable...): worth retrying."""


class Sockets(Protocol):
    def post(self, connection_id: str, data: bytes) -> None:
        """Send one message; raises ConnectionGone or PostFailed."""
        ...
