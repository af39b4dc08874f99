"""The local issuer's OpenID Connect endpoints over HTTP: a plain sign-in page, and JSON for oidc-client-ts.

Development only, and the pages say so. The HTML pages run no script and every value in them is
escaped; they are served under a strict CSP (the style by its hash), never framed, never cached.
Discovery, token and userinfo answer cross-origin fetches (`*`: a public client, no cookies).
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any

from devstack.gateway import Page, Response
from devstack.oidc import (
    AUTHORIZE_PATH,
    DEFAULT_TOKEN_TTL,
    DISCOVERY_PATH,
    LOGOUT_PATH,
    MAX_TOKEN_TTL,
    TOKEN_PATH,
    USER_NAME_RULE,
    USERINFO_PATH,
    AuthorizationError,
    AuthorizationRequest,
    NotRedirectable,
    Provider,
    SignInRefused,
    TokenError,
    parse,
)

TITLE = "Local sign-in (development only)"
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;color:#222}"
    ".dev{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem .75rem}"
    ".error{color:#a00;font-weight:bold}label{display:block;margin-top:1rem}"
    "input{font:inherit;padding:.25rem;width:100%;box-sizing:border-box}"
    "button{font:inherit;margin-top:1rem;padding:.4rem 1.2rem}code{word-break:break-all}"
)
STYLE_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'"
FORM = "application/x-www-form-urlencoded"
CORS = {"access-control-allow-origin": "*"}
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def pages(provider: Provider) -> dict[str, Page]:
    """The provider's endpoints by path, for `Gateway(pages=...)`."""
    endpoints = Endpoints(provider)
    return {
        DISCOVERY_PATH: endpoints.discovery,
        AUTHORIZE_PATH: endpoints.authorize,
        TOKEN_PATH: endpoints.token,
        USERINFO_PATH: endpoints.userinfo,
        LOGOUT_PATH: endpoints.logout,
    }


def _header(headers: dict[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _is_form(headers: dict[str, str]) -> bool:
    return _header(headers, "content-type").split(";")[0].strip().lower() == FORM


def _json(status: int, document: Any, **headers: str) -> Response:
    return Response(status, {"content-type": "application/json"} | CORS | headers, json.dumps(document).encode())


def _preflight(methods: str) -> Response:
    allowed = {"access-control-allow-methods": methods, "access-control-allow-headers": "authorization, content-type"}
    return Response(204, CORS | allowed | {"access-control-max-age": "600"}, b"")


def _redirect(location: str) -> Response:
    return Response(302, {"location": location, "referrer-policy": "no-referrer"} | NO_STORE, b"")


def _html(status: int, content: str, *, form_targets: str = "'none'") -> Response:
    """A page under a CSP that allows no script, this one style, and forms only to `form_targets`."""
    policy = (
        f"default-src 'none'; style-src {STYLE_SOURCE}; form-action {form_targets}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    headers = {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": policy,
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }
    document = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{TITLE}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{TITLE}</h1>\n"
        '<p class="dev">The local stack\'s stand-in for Cognito or Auth0: any user name signs in, '
        "with no password. A development tool: never expose it beyond this machine.</p>\n"
        f"{content}</main>\n</body>\n</html>\n"
    )
    return Response(status, headers | NO_STORE, document.encode())


def _sign_in_form(request: AuthorizationRequest, *, user: str = "", ttl: str = "", message: str = "") -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">\n'
        for name, value in request.fields().items()
    )
    alert = f'<p class="error" role="alert">{escape(message)}</p>\n' if message else ""
    content = (
        f"<p>Signing in to <strong>{escape(request.client_id)}</strong>, then back to "
        f"<code>{escape(request.redirect_uri)}</code>.</p>\n{alert}"
        f'<form method="post" action="{AUTHORIZE_PATH}">\n{hidden}'
        '<label for="username">User name</label>\n'
        f'<input id="username" name="username" value="{escape(user)}" required autocomplete="username" '
        f'autofocus aria-describedby="username-rule">\n<small id="username-rule">{escape(USER_NAME_RULE)}</small>\n'
        '<label for="ttl">Token lifetime (seconds)</label>\n'
        f'<input id="ttl" name="ttl" type="number" min="1" max="{MAX_TOKEN_TTL}" step="1" required '
        f'value="{escape(ttl or str(DEFAULT_TOKEN_TTL))}">\n'
        '<button type="submit">Sign in</button>\n</form>\n'
    )
    # Chrome checks form-action against the redirect a submission ends in too: allow the (registered) redirect's origin
    return _html(400 if message else 200, content, form_targets=f"'self' {request.redirect_origin}")


def _refused_page(problem: NotRedirectable, provider: Provider) -> Response:
    known = "".join(
        f"<li><code>{escape(uri)}</code> ({escape(client.client_id)})</li>\n"
        for client in provider.clients
        for uri in client.redirect_uris
    )
    registered = f"<ul>\n{known}</ul>\n" if known else "<p>None is registered.</p>\n"
    content = (
        f'<h2>This sign-in request is refused</h2>\n<p role="alert">{escape(str(problem))}.</p>\n'
        f"<p>Registered redirect URIs:</p>\n{registered}"
        "<p>Start the stack with <code>python -m devstack up --site-origin ORIGIN</code> "
        "to register <code>ORIGIN/callback</code>.</p>\n"
    )
    return _html(400, content)


def _single(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name, [])
    return values[0] if len(values) == 1 else ""


class Endpoints:
    """Each endpoint as a gateway page: (method, query, headers, body) -> Response."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def discovery(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        if method == "OPTIONS":
            return _preflight("GET, OPTIONS")
        if method != "GET":
            return _json(405, {"error": "invalid_request"}, allow="GET, OPTIONS")
        return _json(200, self.provider.discovery())

    def authorize(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        if method not in ("GET", "POST"):
            return _html(405, "<p>Only GET and POST.</p>\n")
        if method == "POST" and not _is_form(headers):
            return _html(400, f"<p>The sign-in form is posted as {FORM}.</p>\n")
        try:
            params = parse(query if method == "GET" else body.decode("utf-8", "replace"))
        except ValueError:  # too many fields
            return _html(400, "<p>This is not a sign-in request.</p>\n")
        try:
            request = self.provider.authorization_request(params)
        except NotRedirectable as problem:
            return _refused_page(problem, self.provider)
        except AuthorizationError as problem:
            return _redirect(problem.location)
        if method == "GET":
            return _sign_in_form(request)
        user, ttl = _single(params, "username").strip(), _single(params, "ttl").strip()
        try:
            return _redirect(self.provider.sign_in(request, user, ttl))
        except SignInRefused as problem:
            return _sign_in_form(request, user=user, ttl=ttl, message=str(problem))

    def token(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        if method == "OPTIONS":
            return _preflight("POST, OPTIONS")
        try:
            if method != "POST":
                raise TokenError("invalid_request", "the token endpoint takes POST", status=405)
            if not _is_form(headers):
                raise TokenError("invalid_request", f"the token request is {FORM}")
            try:
                form = parse(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise TokenError("invalid_request", "the body is not a form") from None
            tokens = self.provider.exchange(form)
        except TokenError as problem:
            return _json(problem.status, problem.body(), **NO_STORE)
        return _json(200, tokens, **NO_STORE)

    def userinfo(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        if method == "OPTIONS":
            return _preflight("GET, OPTIONS")
        try:
            if method != "GET":
                raise TokenError("invalid_request", "userinfo takes GET", status=405)
            claims = self.provider.userinfo(_header(headers, "authorization"))
        except TokenError as problem:
            challenge = {"www-authenticate": f'Bearer error="{problem.error}"'} if problem.status == 401 else {}
            return _json(problem.status, problem.body(), **NO_STORE, **challenge)
        return _json(200, claims, **NO_STORE)

    def logout(self, method: str, query: str, headers: dict[str, str], body: bytes) -> Response:
        if method not in ("GET", "POST"):
            return _html(405, "<p>Only GET and POST.</p>\n")
        try:
            params = parse(query if method == "GET" else body.decode("utf-8", "replace"))
        except ValueError:  # too many fields
            params = {}
        target = self.provider.logout_redirect(params)
        if target:
            return _redirect(target)
        asked = _single(params, "post_logout_redirect_uri")
        note = (
            f"<p>Not returning to <code>{escape(asked)}</code>: it is not a registered sign-out address.</p>\n"
            if asked
            else ""
        )
        content = (
            '<h2>Signed out</h2>\n<p role="status">You are signed out. The local issuer keeps no session, '
            f"so there was nothing more to end here.</p>\n{note}"
        )
        return _html(200, content)
