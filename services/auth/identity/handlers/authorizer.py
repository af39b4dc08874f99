"""Lambda REQUEST authorizer for HTTP APIs (payload 2.0, simple responses).

A verified token gives {"isAuthorized": true, "context": {sub, email, username}}: only
what the token proved. Anything else raises exactly "Unauthorized", which API Gateway
turns into a 401 (any other error would be a 500). No boto3, no pydantic: this runs
before every API call, so its cold start is kept to PyJWT and the standard library.
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


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        identity = deps.authorizer().verify(bearer_token(headers.get("authorization")))
    except Refused as exc:
        log.info(json.dumps({"message": "token refused", "reason": str(exc), "route": event.get("routeKey")}))
        raise Unauthorized() from None
    return {"isAuthorized": True, "context": identity.context()}
