"""CloudFront's side of the declarations: the headers a response headers policy adds to every answer,
written as CloudFront writes them, and which cache behaviour's answers a path gets, so that a local server can
send the same ones."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


def _set(value: Any) -> bool:
    """A policy flag: true in YAML, or "true" when a stage param gave it."""
    return value is True or str(value).lower() == "true"


def response_headers(policy: dict[str, Any]) -> dict[str, str]:
    """The headers of a ResponseHeadersPolicyConfig (its security headers, then its custom ones), by name."""
    security = policy.get("SecurityHeadersConfig") or {}
    headers: dict[str, str] = {}
    if csp := security.get("ContentSecurityPolicy"):
        headers["Content-Security-Policy"] = str(csp["ContentSecurityPolicy"])
    if hsts := security.get("StrictTransportSecurity"):
        value = f"max-age={int(hsts['AccessControlMaxAgeSec'])}"
        value += "; includeSubDomains" if _set(hsts.get("IncludeSubdomains")) else ""
        value += "; preload" if _set(hsts.get("Preload")) else ""
        headers["Strict-Transport-Security"] = value
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if frame := security.get("FrameOptions"):
        headers["X-Frame-Options"] = str(frame["FrameOption"])
    if referrer := security.get("ReferrerPolicy"):
        headers["Referrer-Policy"] = str(referrer["ReferrerPolicy"])
    if xss := security.get("XSSProtection"):
        value = "1" if _set(xss.get("Protection")) else "0"
        value += "; mode=block" if value == "1" and _set(xss.get("ModeBlock")) else ""
        value += f"; report={xss['ReportUri']}" if value.startswith("1") and xss.get("ReportUri") else ""
        headers["X-XSS-Protection"] = value
    for item in (policy.get("CustomHeadersConfig") or {}).get("Items") or []:
        headers[str(item["Header"])] = str(item["Value"])
    return headers


def path_matches(pattern: str, path: str) -> bool:
    """A cache behaviour's PathPattern against a request's path, as CloudFront matches them: `*` any characters
    (slashes too), `?` one, case-sensitive, the query not part of it, a leading / optional in the pattern."""
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lstrip("/"))
    return re.fullmatch(expression, path.split("?", 1)[0].lstrip("/"), re.DOTALL) is not None


def headers_for(path: str, default: dict[str, str], behaviours: Sequence[tuple[str, dict[str, str]]]) -> dict[str, str]:
    """The headers of the answer to a request for `path` (as asked: before a viewer-request function rewrites it):
    the first behaviour whose pattern matches, else the default behaviour's."""
    return next((headers for pattern, headers in behaviours if path_matches(pattern, path)), default)
