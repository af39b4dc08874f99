"""WebSocket $connect (after the auth service's authorizer accepted the token): remember whose connection it is."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from push import deps
from push.logic.connections import NoOwner, connect
from push.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    proved = request.get("authorizer") or {}  # the authorizer's context, and its principalId
    try:
        connection = connect(
            request.get("connectionId", ""), proved.get("sub") or proved.get("principalId"), deps.connect()
        )
    except NoOwner:
        logger.warning("connect without a verified user refused")
        return {"statusCode": 403}
    logger.info("connected", extra={"connection_id": connection.connection_id, "owner": connection.owner})
    return {"statusCode": 200}
