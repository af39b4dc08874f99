"""The notify service's settings: every variable it knows, each read when a function first uses it."""

from __future__ import annotations

from functools import cache

from lambdakit.settings import Setting, Settings, positive


class NotifySettings(Settings):
    connections_table = Setting("CONNECTIONS_TABLE")
    # The WebSocket API's @connections endpoint (https://{api}.execute-api.{region}.amazonaws.com/{stage})
    websocket_management_url = Setting("WEBSOCKET_MANAGEMENT_URL")
    # API Gateway closes a WebSocket after 2 hours at most: a connection's record outlives it no longer
    connection_ttl_seconds = Setting("CONNECTION_TTL_SECONDS", int, default=2 * 3600, check=positive)
    recipients_table = Setting("RECIPIENTS_TABLE")  # who wants e-mail about their videos (MailPreferenceChanged)
    mail_once_table = Setting("MAIL_ONCE_TABLE")  # the idempotency records: one mail per (video, final status)
    # Records outlive any redelivery: SQS keeps a message 14 days, its DLQ 14 more before a redrive
    mail_once_seconds = Setting("MAIL_ONCE_SECONDS", int, default=30 * 86400, check=positive)
    mail_sender = Setting("MAIL_SENDER", str, default="")  # a verified SES identity; "": no mail is sent
    website_url = Setting("WEBSITE_URL", str, default="")  # the watch links' site; "": mail without a link


@cache
def settings() -> NotifySettings:
    return NotifySettings()
