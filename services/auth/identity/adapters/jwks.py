"""The issuer's JWKS over HTTPS, with PyJWKClient's client (short timeout, no redirects)."""

from __future__ import annotations

import jwt

from identity.logic.keys import Fetch


def http_fetch(url: str, *, timeout: float = 2.0) -> Fetch:
    client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
    return client.fetch_data
