"""What an API Gateway REQUEST authorizer reads and answers, for both APIs that use it.

An HTTP API route (payload 2.0, simple responses) sends the token as `Authorization: Bearer …` and
gets {"isAuthorized": true, "context": …}. A WebSocket API's $connect (its event has a `methodArn`)
sends it in the query string `token` (a browser cannot set headers on a WebSocket) and gets an IAM
policy allowing that one route, with the same context.
"""

from __future__ import annotations

from typing import Any

from identity.logic.tokens import Identity, Refused, bearer_token


def is_websocket(event: dict[str, Any]) -> bool:
    return "methodArn" in event


def token_of(event: dict[str, Any]) -> str:
    """The access token the request carries; Refused when it has none."""
    if is_websocket(event):
        token = (event.get("queryStringParameters") or {}).get("token")
        if not isinstance(token, str) or not token.strip():
            raise Refused("no token in the query string", code="NO_TOKEN")
        return token.strip()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return bearer_token(headers.get("authorization"))


def allowed(event: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """The answer that lets this request through, carrying only what the token proved."""
    if is_websocket(event):
        statement = {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
        return {
            "principalId": identity.sub,
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": identity.context(),
        }
    return {"isAuthorized": True, "context": identity.context()}
