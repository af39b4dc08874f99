"""Lambda REQUEST authorizer for the HTTP APIs and the WebSocket API's $connect (identity.logic.authorization).

A verified token lets the request through with only what the token proved; anything else raises
exactly "Unauthorized", which API Gateway turns into a 401 (any other error would be a 500). No boto3,
no pydantic: this runs before every API call, so its cold start is kept to PyJWT and the standard library
(its metric, AuthorizerRefusals by reason code, is the EMF line lambdakit.metrics writes by hand).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from identity import deps
from identity.logic.authorization import allowed, token_of
from identity.logic.tokens import Refused
from lambdakit.metrics import AUTHORIZER_REFUSALS, emf_line  # standard library only

log = logging.getLogger("authorizer")
log.setLevel(logging.INFO)
SERVICE = "auth"


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")  # the exact message API Gateway maps to 401


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    try:
        identity = deps.authorizer().verify(token_of(event))
    except Refused as exc:
        route = event.get("routeKey") or (event.get("requestContext") or {}).get("routeKey")
        request_id = getattr(context, "aws_request_id", None)
        said = {"message": "token refused", "reason": str(exc), "code": exc.code, "route": route}
        log.info(json.dumps(said | {"function_request_id": request_id}))
        print(emf_line(AUTHORIZER_REFUSALS, service=SERVICE, reason=exc.code), flush=True)  # EMF: a line of its own
        raise Unauthorized() from None
    return allowed(event, identity)
