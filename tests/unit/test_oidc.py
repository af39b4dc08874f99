"""The local issuer's sign-in (devstack/oidc.py, devstack/signin.py): PKCE, one-time codes, redirects, escaping."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.gateway import Response
from devstack.issuer import Issuer
from devstack.oidc import (
    CLIENT_ID,
    AuthorizationError,
    AuthorizationRequest,
    Client,
    NotRedirectable,
    Provider,
    SignInRefused,
    TokenError,
    code_challenge,
    parse,
    site_origin,
    web_client,
)
from devstack.signin import pages

pytestmark = pytest.mark.service("tools")

ISSUER = Issuer(rsa.generate_private_key(public_exponent=65537, key_size=2048))
STRANGER = Issuer(rsa.generate_private_key(public_exponent=65537, key_size=2048))  # another key, same names
SITE = "http://127.0.0.1:5173"
CALLBACK = f"{SITE}/callback"
API = "http://127.0.0.1:8080"
FORM = {"content-type": "application/x-www-form-urlencoded;charset=UTF-8"}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(clock: Clock) -> Provider:
    return Provider(ISSUER, [web_client([SITE])], base_url=API, clock=clock)


def verifier() -> str:
    return secrets.token_urlsafe(48)


def authorize_params(challenge: str, **changes: str | None) -> dict[str, list[str]]:
    params: dict[str, str | None] = {
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid profile email",
        "state": "state-1",
        "nonce": "nonce-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return {name: [value] for name, value in (params | changes).items() if value is not None}


def signed_in(provider: Provider, secret: str, user: str = "alice", ttl: str = "3600", **changes: str | None) -> str:
    """The code from a sign-in whose challenge is `secret`'s."""
    request = provider.authorization_request(authorize_params(code_challenge(secret), **changes))
    location = provider.sign_in(request, user, ttl)
    return parse_qs(urlsplit(location).query)["code"][0]


def token_form(code: str, secret: str | None, /, **changes: str | None) -> dict[str, list[str]]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": CLIENT_ID}
    form |= {"code_verifier": secret} | changes
    return {name: [value] for name, value in form.items() if value is not None}


def refused(provider: Provider, form: dict[str, list[str]]) -> TokenError:
    with pytest.raises(TokenError) as raised:
        provider.exchange(form)
    return raised.value


# -- PKCE and the one-time code ------------------------------------------------------------
def test_s256_is_base64url_of_sha256_of_the_verifier_as_rfc_7636_appendix_b_computes_it():
    rfc_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(rfc_verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_the_right_verifier_gets_tokens_for_the_user_who_signed_in(provider: Provider):
    # Given alice signed in with a challenge
    secret = verifier()
    code = signed_in(provider, secret)
    # When the client exchanges the code with the verifier
    tokens = provider.exchange(token_form(code, secret))
    # Then it gets a Bearer access token from the issuer for alice, and an ID token for the client
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["scope"] == "openid profile email"
    access = jwt.decode(tokens["access_token"], ISSUER.private_key.public_key(), ["RS256"], audience="video24-api")
    assert access["sub"] == ISSUER.subject("alice") and access["username"] == "alice"
    # both signed by the issuer's key, under the kid its JWKS publishes for that key
    assert jwt.get_unverified_header(tokens["access_token"])["kid"] == ISSUER.kid
    assert jwt.get_unverified_header(tokens["id_token"])["kid"] == ISSUER.kid
    assert [key["kid"] for key in ISSUER.jwks()["keys"]] == [ISSUER.kid]
    identity = jwt.decode(tokens["id_token"], ISSUER.private_key.public_key(), ["RS256"], audience=CLIENT_ID)
    assert identity["iss"] == ISSUER.issuer and identity["sub"] == access["sub"]
    assert identity["nonce"] == "nonce-1" and identity["preferred_username"] == "alice"
    assert identity["email"] == access["email"] == "alice@example.com"


@pytest.mark.parametrize(
    "verifier_sent",
    ["another-verifier-of-enough-length-0123456789abcdefghij", None, "too-short", "x" * 129, "bad verifier " * 5],
)
def test_a_wrong_missing_or_malformed_verifier_is_invalid_grant(provider: Provider, verifier_sent: str | None):
    code = signed_in(provider, verifier())
    problem = refused(provider, token_form(code, verifier_sent))
    assert (problem.status, problem.error) == (400, "invalid_grant")


def test_a_code_works_once_even_when_the_first_attempt_failed(provider: Provider):
    # Given a code that was exchanged once
    secret = verifier()
    code = signed_in(provider, secret)
    provider.exchange(token_form(code, secret))
    # When it is exchanged again, it is refused
    assert refused(provider, token_form(code, secret)).error == "invalid_grant"
    # And a code whose first exchange had a wrong verifier is gone too (no guessing the verifier)
    other = signed_in(provider, secret)
    assert refused(provider, token_form(other, verifier())).error == "invalid_grant"
    assert refused(provider, token_form(other, secret)).error == "invalid_grant"


def test_a_code_expires_after_a_minute(provider: Provider, clock: Clock):
    secret = verifier()
    code = signed_in(provider, secret)
    clock.now += 60
    problem = refused(provider, token_form(code, secret))
    assert problem.error == "invalid_grant" and "expired" in problem.description


def test_a_code_just_before_its_minute_is_good(provider: Provider, clock: Clock):
    secret = verifier()
    code = signed_in(provider, secret)
    clock.now += 59
    assert provider.exchange(token_form(code, secret))["access_token"]


def test_a_code_exchanged_with_another_redirect_uri_is_invalid_grant(provider: Provider):
    secret = verifier()
    code = signed_in(provider, secret)
    assert refused(provider, token_form(code, secret, redirect_uri=f"{SITE}/other")).error == "invalid_grant"
    code = signed_in(provider, secret)
    assert refused(provider, token_form(code, secret, redirect_uri=None)).error == "invalid_grant"


def test_a_code_issued_to_one_client_is_refused_to_another(clock: Clock):
    # Given two registered clients, and a code issued to the website
    other = Client("another-app", (CALLBACK,))
    provider = Provider(ISSUER, [web_client([SITE]), other], base_url=API, clock=clock)
    secret = verifier()
    code = signed_in(provider, secret)
    # When the other client presents it, it is refused
    assert refused(provider, token_form(code, secret, client_id="another-app")).error == "invalid_grant"


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"client_id": None}, 400, "invalid_request"),
        ({"grant_type": "refresh_token"}, 400, "unsupported_grant_type"),
        ({"grant_type": None}, 400, "invalid_request"),
        ({"code": None}, 400, "invalid_request"),
        ({"code": "made-up"}, 400, "invalid_grant"),
    ],
)
def test_token_request_errors_follow_rfc_6749(provider: Provider, changes: dict, status: int, error: str):
    secret = verifier()
    problem = refused(provider, token_form(signed_in(provider, secret), secret, **changes))
    assert (problem.status, problem.error) == (status, error)
    assert problem.body()["error"] == error


def test_a_parameter_sent_twice_is_invalid_request(provider: Provider):
    secret = verifier()
    form = token_form(signed_in(provider, secret), secret)
    form["code_verifier"] = [secret, secret]
    assert refused(provider, form).error == "invalid_request"


def test_the_token_lifetime_chosen_at_sign_in_is_the_access_tokens(provider: Provider):
    secret = verifier()
    tokens = provider.exchange(token_form(signed_in(provider, secret, ttl="5"), secret))
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert tokens["expires_in"] == 5 and access["exp"] - access["iat"] == 5


# -- the authorization request ---------------------------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"client_id": "nobody"},
        {"client_id": None},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": f"{CALLBACK}/"},
        {"redirect_uri": f"{CALLBACK}?x=1"},
        {"redirect_uri": None},
    ],
)
def test_an_unknown_client_or_redirect_uri_is_never_redirected_to(provider: Provider, changes: dict):
    with pytest.raises(NotRedirectable):
        provider.authorization_request(authorize_params(code_challenge(verifier()), **changes))


def test_an_unknown_redirect_uri_gets_a_page_and_no_location(provider: Provider):
    # Given a request for a hostile redirect URI
    query = urlencode({k: v[0] for k, v in authorize_params(code_challenge(verifier())).items()})
    query = query.replace(urlencode({"redirect_uri": CALLBACK}), urlencode({"redirect_uri": "https://evil.example/"}))
    # When the browser asks for the sign-in page, or posts the form with it
    for method, q, body in (("GET", query, b""), ("POST", "", query.encode())):
        response = pages(provider)["/authorize"](method, q, FORM, body)
        # Then it gets an error page, and no redirect anywhere
        assert response.status == 400 and "location" not in response.headers
        assert "This sign-in request is refused" in response.body.decode()


def test_without_site_origins_no_redirect_uri_is_registered(clock: Clock):
    provider = Provider(ISSUER, [web_client()], base_url=API, clock=clock)
    with pytest.raises(NotRedirectable):
        provider.authorization_request(authorize_params(code_challenge(verifier())))


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"prompt": "none"}, "login_required"),
    ],
)
def test_a_bad_request_from_a_known_client_goes_back_to_it_with_the_error(
    provider: Provider, changes: dict, error: str
):
    with pytest.raises(AuthorizationError) as raised:
        provider.authorization_request(authorize_params(code_challenge(verifier()), **changes))
    back = urlsplit(raised.value.location)
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    assert parse_qs(back.query)["error"] == [error] and parse_qs(back.query)["state"] == ["state-1"]


@pytest.mark.parametrize("user", ["", "a" * 65, "al ice", "<script>", "alice@example.com", "-alice", "ålice"])
def test_a_user_name_outside_the_rule_is_refused(provider: Provider, user: str):
    request = provider.authorization_request(authorize_params(code_challenge(verifier())))
    with pytest.raises(SignInRefused):
        provider.sign_in(request, user, "3600")


@pytest.mark.parametrize("ttl", ["", "0", "-5", "86401", "1e3", "60.5", "soon"])
def test_a_token_lifetime_outside_1_to_86400_seconds_is_refused(provider: Provider, ttl: str):
    request = provider.authorization_request(authorize_params(code_challenge(verifier())))
    with pytest.raises(SignInRefused):
        provider.sign_in(request, "alice", ttl)


def test_the_same_user_name_gets_the_same_sub_as_a_make_token_token(provider: Provider):
    secret = verifier()
    tokens = provider.exchange(token_form(signed_in(provider, secret, user="bob"), secret))
    made = jwt.decode(ISSUER.token("bob"), options={"verify_signature": False})
    assert jwt.decode(tokens["access_token"], options={"verify_signature": False})["sub"] == made["sub"]


# -- the pages -------------------------------------------------------------------------------
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def page(provider: Provider, path: str, method: str = "GET", query: str = "", body: bytes = b"") -> Response:
    return pages(provider)[path](method, query, FORM if method == "POST" else {}, body)


def authorize_query(challenge: str, **changes: str | None) -> str:
    return urlencode({name: values[0] for name, values in authorize_params(challenge, **changes).items()})


def test_the_sign_in_page_is_a_plain_form_with_labels_and_a_default_lifetime(provider: Provider):
    response = page(provider, "/authorize", query=authorize_query(code_challenge(verifier())))
    html = response.body.decode()
    assert response.status == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>Local sign-in (development only)</title>" in html
    assert '<label for="username">User name</label>' in html and 'id="username" name="username"' in html
    assert '<label for="ttl">Token lifetime (seconds)</label>' in html and 'value="3600"' in html
    assert '<button type="submit">Sign in</button>' in html
    assert '<form method="post" action="/authorize">' in html


def test_the_sign_in_page_runs_no_script_and_is_never_framed(provider: Provider):
    response = page(provider, "/authorize", query=authorize_query(code_challenge(verifier())))
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert f"form-action 'self' {SITE};" in policy  # Chrome checks the redirect after the POST as well
    assert "frame-ancestors 'none'" in policy and response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    html = response.body.decode()
    assert "<script" not in html.lower() and not re.search(r"\son\w+\s*=", html)  # no script, no handlers
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy  # the page's one style, by its hash


def test_every_request_value_on_the_page_is_escaped(provider: Provider):
    # Given hostile state and nonce values (a known client and redirect URI, so the form is shown)
    query = authorize_query(code_challenge(verifier()), state=HOSTILE, nonce=HOSTILE)
    # When the sign-in page is rendered
    html = page(provider, "/authorize", query=query).body.decode()
    # Then they appear only escaped, inside attribute values
    assert "<script" not in html and "<img" not in html
    escaped = "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert f'name="state" value="{escaped}"' in html and f'name="nonce" value="{escaped}"' in html


def test_a_hostile_redirect_uri_is_escaped_on_the_error_page(provider: Provider):
    query = authorize_query(code_challenge(verifier()), redirect_uri=HOSTILE, client_id=HOSTILE)
    response = page(provider, "/authorize", query=query)
    html = response.body.decode()
    assert response.status == 400 and "location" not in response.headers
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html


def test_a_refused_user_name_shows_the_form_again_with_a_message_and_what_was_typed(provider: Provider):
    # When the form comes back with a hostile user name
    form = authorize_query(code_challenge(verifier())) + "&" + urlencode({"username": HOSTILE, "ttl": "60"})
    response = page(provider, "/authorize", "POST", body=form.encode())
    # Then the form is shown again, with an alert, what was typed (escaped) and the chosen lifetime
    html = response.body.decode()
    assert response.status == 400 and "location" not in response.headers
    assert 'role="alert">The user name must be 1 to 64 characters' in html
    assert "<script" not in html and 'value="&quot;&gt;&lt;script&gt;' in html and 'value="60"' in html


def test_posting_the_form_redirects_to_the_callback_with_a_code_and_the_state(provider: Provider):
    secret = verifier()
    form = authorize_query(code_challenge(secret), state=HOSTILE) + "&username=alice&ttl=120"
    response = page(provider, "/authorize", "POST", body=form.encode())
    assert response.status == 302 and response.headers["cache-control"] == "no-store"
    back = urlsplit(response.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    query = parse_qs(back.query)
    assert query["state"] == [HOSTILE]  # URL-encoded by the redirect, exactly as sent
    assert provider.exchange(token_form(query["code"][0], secret))["expires_in"] == 120


def test_the_form_fields_are_checked_again_when_posted(provider: Provider):
    form = authorize_query(code_challenge(verifier()), redirect_uri="https://evil.example/cb") + "&username=alice"
    response = page(provider, "/authorize", "POST", body=form.encode())
    assert response.status == 400 and "location" not in response.headers


def test_the_token_endpoint_answers_json_that_is_never_cached_and_any_origin_may_read(provider: Provider):
    secret = verifier()
    form = urlencode({k: v[0] for k, v in token_form(signed_in(provider, secret), secret).items()})
    response = page(provider, "/token", "POST", body=form.encode())
    assert response.status == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store" and response.headers["access-control-allow-origin"] == "*"
    assert set(json.loads(response.body)) == {"access_token", "id_token", "token_type", "expires_in", "scope"}
    again = page(provider, "/token", "POST", body=form.encode())
    assert again.status == 400 and json.loads(again.body)["error"] == "invalid_grant"
    assert again.headers["access-control-allow-origin"] == "*"  # so the site can read why


def test_the_token_endpoint_wants_a_form_post(provider: Provider):
    assert json.loads(pages(provider)["/token"]("POST", "", {"Content-Type": "application/json"}, b"{}").body) == {
        "error": "invalid_request",
        "error_description": "the token request is application/x-www-form-urlencoded",
    }
    assert page(provider, "/token", "GET").status == 405


def test_preflights_are_answered_for_the_endpoints_the_site_fetches(provider: Provider):
    for path in ("/.well-known/openid-configuration", "/token", "/userinfo"):
        response = page(provider, path, "OPTIONS")
        assert response.status == 204 and response.headers["access-control-allow-origin"] == "*"
        assert "content-type" in response.headers["access-control-allow-headers"]


def test_the_discovery_document_names_the_endpoints_on_the_api(provider: Provider):
    response = page(provider, "/.well-known/openid-configuration")
    document: dict[str, Any] = json.loads(response.body)
    assert response.headers["access-control-allow-origin"] == "*"
    assert document["issuer"] == ISSUER.issuer
    assert document["authorization_endpoint"] == f"{API}/authorize"
    assert document["token_endpoint"] == f"{API}/token"
    assert document["jwks_uri"] == f"{API}/.well-known/jwks.json"
    assert document["end_session_endpoint"] == f"{API}/logout"
    assert document["userinfo_endpoint"] == f"{API}/userinfo"
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["grant_types_supported"] == ["authorization_code"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]


def test_userinfo_needs_this_issuers_access_token(provider: Provider):
    def userinfo(token: str | None) -> Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return pages(provider)["/userinfo"]("GET", "", headers, b"")

    answer = userinfo(ISSUER.token("carol"))
    assert answer.status == 200 and json.loads(answer.body)["sub"] == ISSUER.subject("carol")
    assert json.loads(answer.body)["preferred_username"] == "carol"
    for token in (None, "garbage", STRANGER.token("carol"), ISSUER.token("carol", ttl=-60)):
        refused_answer = userinfo(token)
        assert refused_answer.status == 401 and refused_answer.headers["www-authenticate"].startswith("Bearer")


# -- sign-out --------------------------------------------------------------------------------
def test_sign_out_returns_only_to_a_registered_address(provider: Provider):
    # A registered address: back there, with the state
    back = page(provider, "/logout", query=urlencode({"post_logout_redirect_uri": f"{SITE}/", "state": "s"}))
    assert back.status == 302 and back.headers["location"] == f"{SITE}/?state=s"
    # Anything else, or nothing: a plain page, no redirect, the address escaped
    for query in ({"post_logout_redirect_uri": "https://evil.example/"}, {"post_logout_redirect_uri": HOSTILE}, {}):
        response = page(provider, "/logout", query=urlencode(query))
        assert response.status == 200 and "location" not in response.headers
        html = response.body.decode()
        assert "Signed out" in html and "<script" not in html
        assert response.headers["x-frame-options"] == "DENY"


def test_sign_out_with_an_id_token_hint_uses_its_client(provider: Provider):
    secret = verifier()
    id_token = provider.exchange(token_form(signed_in(provider, secret), secret))["id_token"]
    ask = {"post_logout_redirect_uri": f"{SITE}/", "id_token_hint": id_token}
    assert page(provider, "/logout", query=urlencode(ask)).status == 302
    ask["id_token_hint"] = jwt.encode({"iss": ISSUER.issuer, "aud": CLIENT_ID}, STRANGER.private_key, "RS256")
    assert page(provider, "/logout", query=urlencode(ask)).status == 200
    assert page(provider, "/logout", query=urlencode(ask | {"client_id": "nobody"})).status == 200


# -- configuration ---------------------------------------------------------------------------
def test_a_site_origin_gives_its_callback_and_its_root():
    client = web_client(["http://127.0.0.1:5173/", "HTTP://LOCALHOST:5173", "http://127.0.0.1:5173"])
    assert client.client_id == "video24-web"
    assert client.redirect_uris == ("http://127.0.0.1:5173/callback", "http://localhost:5173/callback")
    assert client.post_logout_redirect_uris == ("http://127.0.0.1:5173/", "http://localhost:5173/")


@pytest.mark.parametrize(
    "origin", ["127.0.0.1:5173", "ftp://host", "http://host/app", "http://host?x", "http://u:p@host", "http://a b"]
)
def test_what_is_not_a_site_origin_is_refused(origin: str):
    with pytest.raises(ValueError):
        site_origin(origin)


def test_parse_keeps_every_value_so_duplicates_can_be_refused():
    assert parse("a=1&a=2&b=") == {"a": ["1", "2"], "b": [""]}


def test_the_form_carries_the_request_as_it_was_checked():
    request = AuthorizationRequest(CLIENT_ID, CALLBACK, "openid email", "c" * 43, state=None, nonce="n")
    assert request.fields() == {
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid email",
        "code_challenge": "c" * 43,
        "code_challenge_method": "S256",
        "nonce": "n",
    }
    assert request.granted_scopes == ("openid", "email")
