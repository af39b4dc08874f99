"""The auth service's settings, read once from the environment (stdlib only: the authorizer stays light)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache

from identity.logic.keys import KeyRing, http_fetch
from identity.logic.tokens import TokenPolicy


class SettingsError(Exception):
    pass


def policy_from_env(environ: Mapping[str, str]) -> TokenPolicy:
    issuer = environ.get("JWT_ISSUER", "")
    try:
        return TokenPolicy(
            issuer=issuer,
            audience=environ.get("JWT_AUDIENCE") or None,
            client_id=environ.get("JWT_CLIENT_ID") or None,
            token_use=environ.get("JWT_TOKEN_USE") or None,
            leeway_seconds=int(environ.get("JWT_LEEWAY_SECONDS", "30")),
        )
    except ValueError as exc:
        raise SettingsError(f"JWT settings: {exc}") from None


@cache
def get_policy() -> TokenPolicy:
    return policy_from_env(os.environ)


@cache
def get_keyring() -> KeyRing:
    url = os.environ.get("JWKS_URL")
    if not url:
        raise SettingsError("JWKS_URL is not set")
    return KeyRing(http_fetch(url, timeout=float(os.environ.get("JWKS_TIMEOUT_SECONDS", "2"))))
