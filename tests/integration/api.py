"""API Gateway HTTP API (payload 2.0) events for calling API handlers directly in tests."""

from __future__ import annotations

import json
from typing import Any


def api_event(
    method: str,
    path: str,
    *,
    sub: str | None = "user-alice",
    body: Any = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"http": {"method": method, "path": path}, "requestId": "r", "stage": "$default"}
    if sub is not None:
        context["authorizer"] = {"lambda": {"sub": sub, "username": sub, "email": f"{sub}@example.com"}}
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "headers": {"content-type": "application/json"},
        "queryStringParameters": query,
        "pathParameters": path_parameters,
        "requestContext": context,
        "body": raw_body if raw_body is not None else (None if body is None else json.dumps(body)),
        "isBase64Encoded": False,
    }


def answer(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None
