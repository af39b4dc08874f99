"""The website's sign-in against the local issuer over real HTTP, as oidc-client-ts does it (Authorization Code + PKCE).

A Gateway with the issuer's pages on loopback: discovery, the sign-in page, the posted form's redirect,
the token request from another origin, then the access token checked by the authorizer's own code.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.__main__ import main
from devstack.gateway import JWKS_PATH, Gateway
from devstack.issuer import Issuer
from devstack.oidc import CLIENT_ID, Provider, code_challenge, web_client
from devstack.signin import pages
from devstack.stack import LocalStack
from identity.logic.keys import KeyRing
from identity.logic.tokens import TokenPolicy, Verifier

pytestmark = pytest.mark.service("tools", "auth")

ISSUER = Issuer(rsa.generate_private_key(public_exponent=65537, key_size=2048))
SITE = "http://127.0.0.1:5173"  # the website's origin: only ever named, nothing listens there
CALLBACK = f"{SITE}/callback"


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 302 comes back as it is, as the browser sees it before following


OPENER = urllib.request.build_opener(NoRedirects)


def fetch(url: str, *, method: str = "GET", data: dict[str, str] | None = None, **headers: str) -> tuple:
    """(status, headers, body) of one request; error statuses are answers too."""
    body = urlencode(data).encode() if data is not None else None
    if body is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read()


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    provider = Provider(ISSUER, [web_client([SITE])])

    def no_routes(key: str, event: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError(f"the sign-in reached a function ({key})")

    gateway = Gateway(no_routes, documents={JWKS_PATH: ISSUER.jwks}, pages=pages(provider))
    provider.base_url = gateway.start()
    yield provider.base_url
    gateway.stop()


def hidden_fields(html: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html)
    return {unescape(name): unescape(value) for name, value in found}


def test_a_browser_signs_in_with_pkce_and_the_authorizer_accepts_the_access_token(api: str):
    # Given the website's discovery fetch from its own origin
    status, headers, body = fetch(f"{api}/.well-known/openid-configuration", Origin=SITE)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    metadata = json.loads(body)
    assert metadata["issuer"] == ISSUER.issuer and metadata["token_endpoint"] == f"{api}/token"
    # When it sends the browser to the sign-in page with a PKCE challenge, a state and a nonce
    verifier, state, nonce = secrets.token_urlsafe(48), secrets.token_hex(16), secrets.token_hex(16)
    request = {"client_id": CLIENT_ID, "redirect_uri": CALLBACK, "response_type": "code"}
    request |= {"scope": "openid profile email", "state": state, "nonce": nonce}
    request |= {"code_challenge": code_challenge(verifier), "code_challenge_method": "S256"}
    status, headers, body = fetch(f"{metadata['authorization_endpoint']}?{urlencode(request)}")
    assert status == 200 and headers["X-Frame-Options"] == "DENY"
    page = body.decode()
    assert "<title>Local sign-in (development only)</title>" in page
    action = re.search(r'<form method="post" action="([^"]+)">', page)
    assert action is not None
    # And the person types a name and signs in
    form = hidden_fields(page) | {"username": "alice", "ttl": "3600"}
    status, headers, _ = fetch(urljoin(api, unescape(action.group(1))), method="POST", data=form)
    # Then the browser is sent back to the callback with a code and the same state
    assert status == 302
    back = urlsplit(headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    returned = parse_qs(back.query)
    assert returned["state"] == [state] and len(returned["code"]) == 1
    # When the website (another origin) exchanges the code with its verifier, after a preflight
    status, headers, _ = fetch(
        metadata["token_endpoint"], method="OPTIONS", Origin=SITE, **{"Access-Control-Request-Method": "POST"}
    )
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    exchange = {"grant_type": "authorization_code", "code": returned["code"][0], "redirect_uri": CALLBACK}
    exchange |= {"client_id": CLIENT_ID, "code_verifier": verifier}
    status, headers, body = fetch(metadata["token_endpoint"], method="POST", data=exchange, Origin=SITE)
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == "*" and headers["Cache-Control"] == "no-store"
    tokens = json.loads(body)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    # Then the authorizer's verification, with the keys from the served JWKS, accepts the access token
    keys = KeyRing(lambda: json.loads(fetch(metadata["jwks_uri"])[2]))
    identity = Verifier(keys, TokenPolicy(issuer=ISSUER.issuer, audience=ISSUER.audience)).verify(
        tokens["access_token"]
    )
    assert identity.sub == ISSUER.subject("alice") and identity.username == "alice"
    # And the ID token is the website's: its audience, the nonce it sent, the same subject
    claims = jwt.decode(tokens["id_token"], keys.key(ISSUER.kid), algorithms=["RS256"], audience=CLIENT_ID)
    assert claims["nonce"] == nonce and claims["iss"] == ISSUER.issuer and claims["sub"] == identity.sub
    # And the code is spent
    status, _, body = fetch(metadata["token_endpoint"], method="POST", data=exchange, Origin=SITE)
    assert status == 400 and json.loads(body)["error"] == "invalid_grant"
    # And userinfo and sign-out answer as the discovery document says
    status, _, body = fetch(metadata["userinfo_endpoint"], Authorization=f"Bearer {tokens['access_token']}")
    assert status == 200 and json.loads(body)["sub"] == identity.sub
    signout = {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": f"{SITE}/", "state": "bye"}
    status, headers, _ = fetch(f"{metadata['end_session_endpoint']}?{urlencode(signout)}")
    assert status == 302 and headers["Location"] == f"{SITE}/?state=bye"


def test_an_unregistered_redirect_uri_gets_a_page_over_http_and_no_redirect(api: str):
    request = {"client_id": CLIENT_ID, "redirect_uri": "http://127.0.0.1:9999/callback", "response_type": "code"}
    request |= {"scope": "openid", "code_challenge": code_challenge(secrets.token_urlsafe(48))}
    status, headers, body = fetch(f"{api}/authorize?{urlencode(request | {'code_challenge_method': 'S256'})}")
    assert status == 400 and "Location" not in headers
    assert "This sign-in request is refused" in body.decode()


def test_the_documents_and_the_404_of_the_api_are_unchanged_beside_the_pages(api: str):
    status, _, body = fetch(f"{api}/.well-known/jwks.json")
    assert status == 200 and json.loads(body) == ISSUER.jwks()
    assert fetch(f"{api}/authorize/more")[0] == 404  # a page is its exact path only


def test_the_local_stack_registers_each_site_origins_callback_and_serves_the_pages():
    # Given a local stack (not started) told about the website's origin
    local = LocalStack(site_origins=[SITE])
    # Then the website may sign in to return to its /callback, and sign out to its root
    assert [(c.client_id, c.redirect_uris, c.post_logout_redirect_uris) for c in local.oidc.clients] == [
        (CLIENT_ID, (CALLBACK,), (f"{SITE}/",))
    ]
    request = {"client_id": CLIENT_ID, "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid"}
    request |= {"code_challenge": code_challenge(secrets.token_urlsafe(48)), "code_challenge_method": "S256"}
    page = local.gateway.handle("GET", f"/authorize?{urlencode(request)}", {}, b"")
    assert page.status == 200 and b"Sign in</button>" in page.body
    # And without one, no redirect URI is registered
    assert LocalStack().oidc.clients[0].redirect_uris == ()


def test_devstack_up_refuses_a_site_origin_that_is_not_one_before_building_the_website(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    # (a build rewrites services/web/dist, which the shared stack serves to the browser tests beside this one)
    monkeypatch.setattr("tools.website.build", lambda *_, **__: pytest.fail("built the website for a refused command"))
    with pytest.raises(SystemExit) as exited:
        main(["up", "--site-origin", "http://127.0.0.1:5173/app"])
    assert exited.value.code == 2 and "is not a site origin" in capsys.readouterr().err
