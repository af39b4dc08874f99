"""The notify service's collaborators: one cached builder per function (named after it), given only what that
function uses. Clients are made on first use, so importing a handler costs no boto3."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from push.logic.connections import ConnectDeps, DisconnectDeps
from push.logic.notify import NotifyDeps
from push.settings import settings


@cache
def _connections() -> Any:
    import boto3

    from push.adapters.connections import DynamoConnections

    return DynamoConnections(boto3.resource("dynamodb").Table(settings().connections_table))


@cache
def connect() -> ConnectDeps:
    return ConnectDeps(connections=_connections(), lifetime=timedelta(seconds=settings().connection_ttl_seconds))


@cache
def disconnect() -> DisconnectDeps:
    return DisconnectDeps(connections=_connections())


def ping() -> None:
    """Answering a ping needs nothing."""


@cache
def notify() -> NotifyDeps:
    import boto3
    from botocore.config import Config

    from push.adapters.sockets import ManagementApiSockets

    # A short timeout and few retries: one slow socket must not hold up the owner's other pages for long
    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
    client = boto3.client("apigatewaymanagementapi", endpoint_url=settings().websocket_management_url, config=config)
    return NotifyDeps(connections=_connections(), sockets=ManagementApiSockets(client))
