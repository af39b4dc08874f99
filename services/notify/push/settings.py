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


@cache
def settings() -> NotifySettings:
    return NotifySettings()
