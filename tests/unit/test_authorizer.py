"""The JWT authorizer: every way a token can be wrong is refused as 401 ("Unauthorized"), never a 5xx."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest

from identity import deps
from identity.handlers import authorizer
from identity.logic.keys import KeyRing
from identity.logic.tokens import TokenPolicy, Verifier
from tests.tokens import AUDIENCE, ISSUER, Forge

pytestmark = pytest.mark.service("auth")

ISSUING = Forge.generate()
STRANGER = Forge.generate()  # another key pair


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with(secret: bytes, payload: dict, kid: str) -> str:
    """A token signed with HMAC, using `secret` (the public key!) as the shared secret."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = _b64(json.dumps(payload).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch):
    """The authorizer configured for the local issuer, with its JWKS served from memory."""
    verifier = Verifier(KeyRing(ISSUING.jwks), TokenPolicy(issuer=ISSUER, audience=AUDIENCE))
    monkeypatch.setattr(deps, "authorizer", lambda: verifier)


def call(authorization: str | None) -> dict:
    headers = {} if authorization is None else {"Authorization": authorization}
    return authorizer.handler({"version": "2.0", "type": "REQUEST", "routeKey": "GET /me", "headers": headers}, None)


def test_a_valid_token_is_authorized_with_only_what_it_proves():
    # Given a token from the issuer with an extra claim the API must not trust blindly
    exp = int(time.time()) + 300
    token = ISSUING.token("alice", admin=True, exp=exp)
    # When the authorizer checks it
    result = call(f"Bearer {token}")
    # Then it is authorized, and the context holds only sub, email, username and until when the token is valid
    assert result["isAuthorized"] is True
    assert set(result["context"]) == {"sub", "email", "username", "exp"}
    assert result["context"]["username"] == "alice" and result["context"]["email"] == "alice@example.com"
    assert result["context"]["exp"] == str(exp)  # (a string: API Gateway passes a WebSocket's context on as strings)


@pytest.mark.parametrize("verified", [False, "false"])
def test_an_address_the_issuer_has_not_verified_is_not_passed_on(verified):
    # Given a token whose email the issuer says it has not verified (a boolean, or Cognito's string)
    token = ISSUING.token("alice", email_verified=verified)
    # When the authorizer checks it
    result = call(f"Bearer {token}")
    # Then the user is authorized, but no address goes to the API (mail is never sent to it)
    assert result["isAuthorized"] is True and "email" not in result["context"]
    assert call(f"Bearer {ISSUING.token('alice', email_verified=True)}")["context"]["email"] == "alice@example.com"


def _tampered(token: str) -> str:
    head, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    return f"{head}.{_b64(json.dumps(claims | {'sub': 'someone-else'}).encode())}.{signature}"


def _wrong_signature(token: str) -> str:
    head, body, signature = token.split(".")
    return f"{head}.{body}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"


PUBLIC_PEM = ISSUING.public_pem
PUBLIC_JWK = json.dumps(ISSUING.jwks()["keys"][0]).encode()

REFUSED = {
    "no Authorization header": None,
    "not Bearer": f"Basic {_b64(b'alice:secret')}",
    "Bearer and nothing": "Bearer ",
    "garbage": "Bearer this-is-not-a-jwt",
    "three garbage parts": "Bearer a.b.c",
    "alg none": "Bearer " + jwt.encode(ISSUING.claims(), None, algorithm="none", headers={"kid": ISSUING.kid}),
    "HS256 with the public key (PEM)": "Bearer " + _hs256_with(PUBLIC_PEM, ISSUING.claims(), ISSUING.kid),
    "HS256 with the public key (JWK)": "Bearer " + _hs256_with(PUBLIC_JWK, ISSUING.claims(), ISSUING.kid),
    "wrong signature": "Bearer " + _wrong_signature(ISSUING.token("alice")),
    "other key, same kid": "Bearer " + STRANGER.sign(ISSUING.claims(), kid=ISSUING.kid),
    "unknown kid": "Bearer " + STRANGER.token("alice"),
    "no kid": "Bearer " + ISSUING.sign(ISSUING.claims(), kid=None),
    "expired": "Bearer " + ISSUING.token("alice", exp=int(time.time()) - 120),
    "nbf in the future": "Bearer " + ISSUING.token("alice", nbf=int(time.time()) + 600),
    "no exp": "Bearer " + ISSUING.token("alice", exp=None),
    "no iat": "Bearer " + ISSUING.token("alice", iat=None),
    "no sub": "Bearer " + ISSUING.token("alice", sub=None),
    "wrong iss": "Bearer " + ISSUING.token("alice", iss="https://evil.example/"),
    "iss prefix of the right one": "Bearer " + ISSUING.token("alice", iss=ISSUER[:-1]),
    "iss with a suffix": "Bearer " + ISSUING.token("alice", iss=ISSUER + "evil"),
    "wrong aud": "Bearer " + ISSUING.token("alice", aud="another-api"),
    "no aud": "Bearer " + ISSUING.token("alice", aud=None),
    "an ID token (aud is the app client)": "Bearer " + ISSUING.token("alice", aud="web-client", token_use="id"),
    "tampered payload": "Bearer " + _tampered(ISSUING.token("alice")),
}


@pytest.mark.parametrize("authorization", REFUSED.values(), ids=REFUSED.keys())
def test_bad_tokens_are_refused_with_unauthorized(authorization):
    # When the authorizer is given a token that proves nothing
    with pytest.raises(authorizer.Unauthorized) as refused:
        call(authorization)
    # Then it raises exactly "Unauthorized" (API Gateway's 401), nothing else
    assert str(refused.value) == "Unauthorized"


COGNITO = TokenPolicy(issuer=ISSUER, client_id="app-client-1", token_use="access")
COGNITO_CASES = {
    "an ID token where an access token is required": (False, {"token_use": "id", "client_id": "app-client-1"}),
    "a token from another app client": (False, {"client_id": "app-client-2"}),
    "no client_id": (False, {}),
    "the right client's access token": (True, {"client_id": "app-client-1"}),
}


@pytest.mark.parametrize(("accepted", "claims"), COGNITO_CASES.values(), ids=COGNITO_CASES.keys())
def test_cognito_access_tokens_need_the_client_id_and_token_use(monkeypatch, accepted, claims):
    # Given the authorizer set up for Cognito access tokens (no aud: client_id and token_use instead)
    verifier = Verifier(KeyRing(ISSUING.jwks), COGNITO)
    monkeypatch.setattr(deps, "authorizer", lambda: verifier)
    token = ISSUING.token("alice", **({"aud": None} | claims))
    # When the token is checked; Then only the right client's access token passes
    if accepted:
        assert call(f"Bearer {token}")["isAuthorized"] is True
    else:
        with pytest.raises(authorizer.Unauthorized):
            call(f"Bearer {token}")


def test_a_little_clock_skew_is_tolerated():
    # Given a token issued a few seconds "in the future" by a fast clock
    token = ISSUING.token("alice", iat=int(time.time()) + 10, nbf=int(time.time()) + 10)
    # Then it is accepted (leeway), while a minute late is not (see the nbf case above)
    assert call(f"Bearer {token}")["isAuthorized"] is True


def test_the_policy_needs_an_issuer_and_an_audience():
    with pytest.raises(ValueError):
        TokenPolicy(issuer="", audience="a")
    with pytest.raises(ValueError):
        TokenPolicy(issuer=ISSUER)


# The WebSocket API's $connect: a REQUEST authorizer with the token in the query string, answering an IAM policy.
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/ci/$connect"


def connect(query: dict | None) -> dict:
    event = {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "headers": {"Sec-WebSocket-Version": "13"},
        "queryStringParameters": query,
        "requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "c-1"},
    }
    return authorizer.handler(event, None)


def test_a_websocket_connect_with_a_valid_token_gets_a_policy_for_that_route_and_the_same_context():
    # Given a token from the issuer in the query string of a WebSocket $connect
    token = ISSUING.token("alice", admin=True)
    # When the authorizer checks it
    result = connect({"token": token})
    # Then it allows invoking exactly that route, for the token's subject, with the HTTP API's context
    assert result["principalId"] == result["context"]["sub"]
    assert result["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}],
    }
    assert result["context"] == call(f"Bearer {token}")["context"]
    assert "isAuthorized" not in result


WEBSOCKET_REFUSED = {
    "no query string": None,
    "no token": {"other": "x"},
    "empty token": {"token": " "},
    "a Bearer header instead": {},
    **{
        name: {"token": value.removeprefix("Bearer ")}
        for name, value in REFUSED.items()
        if value and value != "Bearer "
    },
}


@pytest.mark.parametrize("query", WEBSOCKET_REFUSED.values(), ids=WEBSOCKET_REFUSED.keys())
def test_a_websocket_connect_with_a_bad_token_is_refused_with_unauthorized(query):
    # When a $connect brings a token that proves nothing (or none)
    with pytest.raises(authorizer.Unauthorized) as refused:
        connect(query)
    # Then it raises exactly "Unauthorized": API Gateway refuses the connection with 401, nothing opens
    assert str(refused.value) == "Unauthorized"


def test_a_bearer_header_does_not_authorize_a_websocket_connect():
    # Given a $connect with a valid token only in an Authorization header (the route's identity is the query string)
    event = {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": {"Authorization": f"Bearer {ISSUING.token('a')}"}}
    # Then it is refused
    with pytest.raises(authorizer.Unauthorized):
        authorizer.handler(event, None)


def test_a_key_rotation_accepts_each_key_for_its_own_kid_and_the_old_one_until_it_is_retired(monkeypatch, capsys):
    # Given the issuer publishes its old key (ISSUING) and its new one (STRANGER) side by side
    published = [ISSUING, STRANGER]
    now = [1000.0]
    keys = KeyRing(lambda: {"keys": [forge.jwks()["keys"][0] for forge in published]}, clock=lambda: now[0])
    verifier = Verifier(keys, TokenPolicy(issuer=ISSUER, audience=AUDIENCE))
    monkeypatch.setattr(deps, "authorizer", lambda: verifier)

    def refusal(token: str) -> str:
        capsys.readouterr()
        with pytest.raises(authorizer.Unauthorized):
            call(f"Bearer {token}")
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reason"]

    # Then during the overlap a token signed by either key passes, each checked with the key its kid names:
    assert call(f"Bearer {ISSUING.token('alice')}")["context"]["username"] == "alice"
    assert call(f"Bearer {STRANGER.token('bob')}")["context"]["username"] == "bob"
    # a token signed by the old key under the new kid (or the other way round) fails its signature check
    assert refusal(ISSUING.sign(ISSUING.claims("mallory"), kid=STRANGER.kid)) == "BAD_SIGNATURE"
    assert refusal(STRANGER.sign(STRANGER.claims("mallory"), kid=ISSUING.kid)) == "BAD_SIGNATURE"
    # When the issuer retires the old key and the cached keys expire (max_age, an hour)
    published.remove(ISSUING)
    now[0] += 3601
    # Then the old key's tokens are refused as an unknown key, and the new key's still pass
    assert refusal(ISSUING.token("alice")) == "UNKNOWN_KEY"
    assert call(f"Bearer {STRANGER.token('bob')}")["context"]["username"] == "bob"
