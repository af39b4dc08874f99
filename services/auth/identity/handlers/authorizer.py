"""Lambda REQUEST authorizer for HTTP APIs (payload 2.0, simple responses) and the WebSocket API's $connect.

A verified token gives {"isAuthorized": true, "context": {sub, email, username}}: only
what the token proved. A WebSocket $connect (its event has a `methodArn`, the token in the
query string `token`, since a browser cannot set headers on a WebSocket) gets the same
verification and an IAM policy allowing that one route, with the same context. Anything else
raises exactly "Unauthorized", which API Gateway turns into a 401 (any other error would be a
500). No boto3, no pydantic: this runs before every API call, so its cold start is kept to
PyJWT and the standard library.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from identity import deps
from identity.logic.tokens import Refused, bearer_token

log = logging.getLogger("authorizer")
log.setLevel(logging.INFO)


class Unauthorized(Exception):
    def __init__(self) -> None:
        super().__init__("Unauthorized")  # the exact message API Gateway maps to 401


def _token(event: dict[str, Any]) -> str:
    if "methodArn" in event:  # the WebSocket API's $connect
        token = (event.get("queryStringParameters") or {}).get("token")
        if not isinstance(token, str) or not token.strip():
            raise Refused("no token in the query string")
        return token.strip()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return bearer_token(headers.get("authorization"))


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    try:
        identity = deps.authorizer().verify(_token(event))
    except Refused as exc:
        route = event.get("routeKey") or (event.get("requestContext") or {}).get("routeKey")
        log.info(json.dumps({"message": "token refused", "reason": str(exc), "route": route}))
        raise Unauthorized() from None
    if "methodArn" in event:
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
        return {
            "principalId": identity.sub,
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": identity.context(),
        }
    return {"isAuthorized": True, "context": identity.context()}
