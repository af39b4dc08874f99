"""The user `make smoke` acts as: an access token from the deployment's issuer, for a configured test user.

- A deployed stage: a real account of the real issuer, named by SMOKE_USERNAME and SMOKE_PASSWORD (the
  GitHub workflow's secrets), signed in with the app client SMOKE_CLIENT_ID (default: the client the auth
  stack's Issuer output names; SMOKE_CLIENT_SECRET if the client has one). A Cognito user pool is asked
  with InitiateAuth (USER_PASSWORD_AUTH, which the app client must allow); any other issuer with the OAuth
  password grant at its discovery document's token endpoint (Auth0: the Password grant type, enabled).
- The local stack: its description carries the local issuer's key, so the token is made with it
  (tests/tokens.py) for a user of the run's own (`smoke-<random>`): nobody else's videos are touched.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from infra.deployment import Deployment
from tests.tokens import Forge

COGNITO = re.compile(r"^https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[\w-]+)/?$")
REFRESH_BEFORE = 60  # seconds before its expiry a token is fetched again


class SmokeUserError(Exception):
    """No test user can be signed in: the message says what to set."""


@dataclass
class Forged:
    """A local stack's user: tokens made with its issuer's key."""

    forge: Forge
    name: str = field(default_factory=lambda: f"smoke-{uuid.uuid4().hex[:8]}")

    def token(self) -> str:
        return self.forge.token(self.name)


@dataclass
class SignedIn:
    """A real user of a real issuer, signed in again when the token is about to expire."""

    fetch: Any  # () -> (access token, lifetime in seconds)
    _token: str = ""
    _until: float = 0.0

    def token(self) -> str:
        if time.monotonic() > self._until - REFRESH_BEFORE:
            self._token, lifetime = self.fetch()
            self._until = time.monotonic() + lifetime
        return self._token


def cognito_sign_in(region: str, client_id: str, username: str, password: str, secret: str | None) -> Any:
    import base64
    import hashlib
    import hmac

    import boto3

    def fetch() -> tuple[str, int]:
        parameters = {"USERNAME": username, "PASSWORD": password}
        if secret:  # a client with a secret wants its HMAC of the user name and client id
            digest = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
            parameters["SECRET_HASH"] = base64.b64encode(digest).decode()
        client = boto3.client("cognito-idp", region_name=region)
        answer = client.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=parameters)
        if "AuthenticationResult" not in answer:
            raise SmokeUserError(f"Cognito wants a challenge ({answer.get('ChallengeName')}) for {username}")
        result = answer["AuthenticationResult"]
        return result["AccessToken"], int(result.get("ExpiresIn", 3600))

    return fetch


def password_grant(issuer: str, client_id: str, username: str, password: str, secret: str | None, audience: str) -> Any:
    def fetch() -> tuple[str, int]:
        discovery = requests.get(f"{issuer.rstrip('/')}/.well-known/openid-configuration", timeout=10)
        discovery.raise_for_status()
        form = {"grant_type": "password", "username": username, "password": password, "client_id": client_id}
        form |= {"scope": "openid profile email"} | ({"audience": audience} if audience else {})
        if secret:
            form["client_secret"] = secret
        answer = requests.post(discovery.json()["token_endpoint"], data=form, timeout=10)
        if answer.status_code != 200:
            raise SmokeUserError(f"the issuer refused the test user {username}: {answer.status_code} {answer.text}")
        body = answer.json()
        return body["access_token"], int(body.get("expires_in", 3600))

    return fetch


def smoke_user(description: Mapping[str, Any], env: Mapping[str, str]) -> Forged | SignedIn:
    """The test user for a deployment description, from the environment (see the module's docstring)."""
    deployment = Deployment.from_json(description)
    issuer = deployment.issuer
    username, password = env.get("SMOKE_USERNAME"), env.get("SMOKE_PASSWORD")
    if username:
        if not password:
            raise SmokeUserError("SMOKE_USERNAME is set but SMOKE_PASSWORD is not")
        client_id = env.get("SMOKE_CLIENT_ID") or issuer.client_id
        if not client_id:
            raise SmokeUserError(f"set SMOKE_CLIENT_ID: the app client of {issuer.issuer} the test user signs in with")
        secret = env.get("SMOKE_CLIENT_SECRET") or None
        if found := COGNITO.match(issuer.issuer):
            return SignedIn(cognito_sign_in(found["region"], client_id, username, password, secret))
        return SignedIn(password_grant(issuer.issuer, client_id, username, password, secret, issuer.audience))
    local = description.get("issuer", {})
    if local.get("key_file"):
        key = Path(local["key_file"])
        return Forged(Forge.from_pem(key, kid=local["kid"], issuer=issuer.issuer, audience=issuer.audience))
    raise SmokeUserError(
        f"set SMOKE_USERNAME and SMOKE_PASSWORD: a test user of {issuer.issuer} (see tests/smoke_user.py)"
    )
