"""The edge every HTTP API handler shares (API Gateway HTTP API, payload 2.0).

`api` turns a function of (event, caller) into a Lambda handler: the caller comes from
the authorizer's context (never from the request), bodies are parsed into pydantic
models, `HttpError` becomes its status with a JSON message, and anything unexpected a
500 whose details stay in the logs. The API request id is the correlation id of every
log line (and of the events the route publishes).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer verified it."""

    sub: str
    email: str | None = None
    username: str | None = None


def json_response(status: int, body: Any) -> dict[str, Any]:
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": "" if payload is None else json.dumps(payload),
    }


def caller_of(event: dict[str, Any]) -> Caller:
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if not context.get("sub"):
        raise HttpError(401, "Unauthorized")
    return Caller(sub=context["sub"], email=context.get("email"), username=context.get("username"))


def body_as(event: dict[str, Any], model: type[M]) -> M:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", "replace")
    try:
        document = json.loads(raw)
    except ValueError:
        raise HttpError(400, "the body must be a JSON object") from None
    if not isinstance(document, dict):
        raise HttpError(400, "the body must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise HttpError(400, problems) from None


def api(route: Callable[[dict[str, Any], Caller], dict[str, Any]]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @functools.wraps(route)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.set_correlation_id((event.get("requestContext") or {}).get("requestId"))
        try:
            response = route(event, caller_of(event))
        except HttpError as exc:
            logger.info("refused", extra={"route": event.get("routeKey"), "status": exc.status, "reason": exc.message})
            return json_response(exc.status, {"message": exc.message})
        except Exception:
            logger.exception("unhandled error", extra={"route": event.get("routeKey")})
            return json_response(500, {"message": "Internal Server Error"})
        logger.info("answered", extra={"route": event.get("routeKey"), "status": response["statusCode"]})
        return response

    return handler
