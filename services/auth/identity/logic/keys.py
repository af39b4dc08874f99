"""The issuer's signing keys (JWKS), cached with the rules a Lambda authorizer needs.

- Known keys are served from memory: a valid token never waits for the network.
- A token with an unknown `kid` may trigger a fetch, but at most one fetch attempt
  per `min_interval` (a minute), however many such tokens arrive and whether the
  fetch succeeds or not: a flood of made-up kids cannot hammer the issuer.
- When the JWKS endpoint fails, the last good keys stay in use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import jwt

Fetch = Callable[[], dict[str, Any]]


class UnknownKey(Exception):
    """No signing key with that id, even after the refetch the rules allowed."""


def rsa_signing_keys(jwks: dict[str, Any]) -> dict[str, Any]:
    """kid -> public key, for the RSA signature keys of a JWKS (anything else is ignored)."""
    wanted = [
        key
        for key in jwks.get("keys", [])
        if isinstance(key, dict) and key.get("kty") == "RSA" and key.get("use", "sig") == "sig" and key.get("kid")
    ]
    if not wanted:
        raise ValueError("the JWKS holds no RSA signing key")
    return {jwk.key_id: jwk.key for jwk in jwt.PyJWKSet.from_dict({"keys": wanted}).keys if jwk.key_id}


class KeyRing:
    def __init__(
        self,
        fetch: Fetch,
        *,
        min_interval: float = 60.0,
        max_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch, self._clock = fetch, clock
        self._min_interval, self._max_age = min_interval, max_age
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # last success
        self._attempted_at: float | None = None  # last attempt, success or not
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> Any:
        with self._lock:
            stale = self._fetched_at is None or self._clock() - self._fetched_at > self._max_age
            if kid not in self._keys or stale:
                self._refresh()
            if kid not in self._keys:
                raise UnknownKey(kid)
            return self._keys[kid]

    def _refresh(self) -> None:
        now = self._clock()
        if self._attempted_at is not None and now - self._attempted_at < self._min_interval:
            return
        self._attempted_at = now
        self.fetches += 1
        try:
            keys = rsa_signing_keys(self._fetch())
        except Exception:  # an outage or a bad answer: keep serving the last good keys
            return
        self._keys, self._fetched_at = keys, now
