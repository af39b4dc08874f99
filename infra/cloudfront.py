"""CloudFront's side of the declarations: the headers a response headers policy adds to every answer,
written as CloudFront writes them, so that a local server can send the same ones."""

from __future__ import annotations

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
