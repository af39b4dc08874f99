"""The JWKS cache: last good keys survive an outage; unknown kids cost at most one fetch a minute."""

from __future__ import annotations

import pytest

from identity.logic.keys import KeyRing, UnknownKey
from tests.tokens import Forge

pytestmark = pytest.mark.service("auth")

FIRST, SECOND = Forge.generate(), Forge.generate()


class Endpoint:
    """A JWKS endpoint that can go down and can rotate keys."""

    def __init__(self, issuer: Forge) -> None:
        self.issuer, self.down, self.calls = issuer, False, 0

    def __call__(self) -> dict:
        self.calls += 1
        if self.down:
            raise ConnectionError("JWKS endpoint unreachable")
        return self.issuer.jwks()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_known_keys_are_served_from_memory():
    endpoint, clock = Endpoint(FIRST), Clock()
    ring = KeyRing(endpoint, clock=clock)
    for _ in range(100):
        ring.key(FIRST.kid)
    assert endpoint.calls == 1


def test_unknown_kids_fetch_at_most_once_a_minute():
    # Given a ring with the issuer's keys
    endpoint, clock = Endpoint(FIRST), Clock()
    ring = KeyRing(endpoint, clock=clock)
    ring.key(FIRST.kid)
    clock.now += 61
    # When a flood of tokens with made-up kids arrives within a minute
    for n in range(500):
        with pytest.raises(UnknownKey):
            ring.key(f"made-up-{n}")
    # Then the endpoint was asked once more, not 500 times
    assert endpoint.calls == 2
    # And after the minute, one more fetch is allowed
    clock.now += 60
    with pytest.raises(UnknownKey):
        ring.key("made-up-again")
    assert endpoint.calls == 3


def test_a_rotated_key_is_picked_up_by_the_refetch():
    # Given the issuer rotates to a new key a while after we cached the old one
    endpoint, clock = Endpoint(FIRST), Clock()
    ring = KeyRing(endpoint, clock=clock)
    ring.key(FIRST.kid)
    endpoint.issuer = SECOND
    clock.now += 61
    # Then a token with the new kid finds it
    assert ring.key(SECOND.kid) is not None


def test_last_good_keys_stay_in_use_when_the_endpoint_is_down():
    # Given cached keys, then an outage lasting past the keys' normal lifetime
    endpoint, clock = Endpoint(FIRST), Clock()
    ring = KeyRing(endpoint, clock=clock, max_age=3600)
    ring.key(FIRST.kid)
    endpoint.down = True
    clock.now += 7200
    # Then known keys keep working, and the failing endpoint is not hammered
    for _ in range(50):
        assert ring.key(FIRST.kid) is not None
    assert endpoint.calls == 2


def test_no_keys_at_all_refuses_rather_than_crashes():
    endpoint = Endpoint(FIRST)
    endpoint.down = True
    with pytest.raises(UnknownKey):
        KeyRing(endpoint, clock=Clock()).key(FIRST.kid)


def test_non_rsa_keys_in_the_jwks_are_ignored():
    jwks = FIRST.jwks()
    jwks["keys"].append({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"})
    ring = KeyRing(lambda: jwks, clock=Clock())
    with pytest.raises(UnknownKey):
        ring.key("hmac")
    assert ring.key(FIRST.kid) is not None
