"""The notify service's collaborators: one cached builder per function (named after it), given only what that
function uses. Clients are made on first use, so importing a handler costs no boto3."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from push.logic.connections import ConnectDeps, DisconnectDeps
from push.logic.notify import NotifyDeps
from push.observability import meter
from push.settings import settings

if TYPE_CHECKING:
    from push.adapters.once import Once
    from push.logic.mail import MailDeps, Recipients


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
    return NotifyDeps(connections=_connections(), sockets=ManagementApiSockets(client), meter=meter)


@cache
def _recipients() -> Recipients:
    import boto3

    from push.adapters.recipients import DynamoRecipients

    return DynamoRecipients(boto3.resource("dynamodb").Table(settings().recipients_table))


@cache
def preferences() -> Recipients:
    return _recipients()


@cache
def mail_deps() -> MailDeps:
    import boto3

    from push.adapters.mailer import SesMailer
    from push.logic.mail import MailDeps

    config = settings()
    mailer = SesMailer(boto3.client("sesv2"), config.mail_sender)
    return MailDeps(recipients=_recipients(), mailer=mailer, website_url=config.website_url, meter=meter)


@cache
def mail() -> Once | None:
    """`tell_owner`, run once per (video, final status); None when the stage names no sender."""
    import boto3

    from push.adapters.once import Once
    from push.logic.mail import tell_owner

    config, told = settings(), mail_deps()
    table_name = config.mail_once_table
    if not config.mail_sender:
        return None
    return Once(
        lambda change: asdict(tell_owner(change, told)),
        table_name=table_name,
        key="[video_id, status]",
        keep_seconds=config.mail_once_seconds,
        client=boto3.client("dynamodb"),
    )
