"""WebSocket $disconnect: forget the connection (API Gateway sends it on a best-effort basis; the TTL is the rest)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from push import deps
from push.logic.connections import disconnect
from push.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    connection_id = (event.get("requestContext") or {}).get("connectionId", "")
    disconnect(connection_id, deps.disconnect())
    logger.info("disconnected", extra={"connection_id": connection_id})
    return {"statusCode": 200}
