"""WebSocket $connect (after the auth service's authorizer accepted the token): remember whose connection it is,
until when (the token's `exp`, in the authorizer's context)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from push import deps
from push.logic.connections import NoOwner, TokenExpired, connect, token_expiry
from push.observability import logger


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext") or {}
    proved = request.get("authorizer") or {}  # the authorizer's context, and its principalId
    owner, expires = proved.get("sub") or proved.get("principalId"), token_expiry(proved.get("exp"))
    try:
        connection = connect(request.get("connectionId", ""), owner, expires, deps.connect())
    except NoOwner:
        logger.warning("connect without a verified user refused")
        return {"statusCode": 403}
    except TokenExpired as expired:
        logger.info("connect with an expired token refused", extra={"owner": owner, "reason": str(expired)})
        return {"statusCode": 401}
    said = {"connection_id": connection.connection_id, "owner": connection.owner}
    logger.info("connected", extra=said | {"until": connection.expires_at.isoformat()})
    return {"statusCode": 200}
