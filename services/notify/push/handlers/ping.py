"""WebSocket $default: any message from a page (a keep-alive ping) is answered, so an idle socket stays open."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    # The route's response goes back on the socket (routeResponseSelectionExpression: $default)
    return {"statusCode": 200, "body": json.dumps({"type": "pong"})}
