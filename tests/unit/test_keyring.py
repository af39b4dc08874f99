"""The JWKS cache: last good keys survive an outage; unknown kids cost at most one fetch a minute."""

from __future__ import annotations

import pytest

from identity.logic.keys import KeyRing, UnknownKey
from tests.tokens import Forge

pytestmark = pytest.mark.service("auth")

FIRST, SECOND = Forge.generate(), Forge.generate()


class Endpoint:
    """A JWKS endpoint that can go down and can rotate keys (it publishes every key in `issuers`)."""

    def __init__(self, *issuers: Forge) -> None:
        self.issuers, self.down, self.calls = list(issuers), False, 0

    def __call__(self) -> dict:
        self.calls += 1
        if self.down:
            raise ConnectionError("JWKS endpoint unreachable")
        return {"keys": [key for issuer in self.issuers for key in issuer.jwks()["keys"]]}


def of(issuer: Forge):
    """The public key a ring must hand out for `issuer`'s kid (compared by its numbers)."""
    return issuer.key.public_key().public_numbers()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_known_keys_are_served_from_memory():
    endpoint, clock = Endpoint(FIRST), Clock()
    ring = KeyRing(endpoint, clock=clock)
    for _ in range(100):
        assert ring.key(FIRST.kid).public_numbers() == of(FIRST)
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


def test_a_rotated_key_is_picked_up_by_the_refetch_and_the_retired_one_is_dropped():
    # Given the issuer rotates to a new key (and stops publishing the old one) a while after we cached the old one
    endpoint, clock = Endpoint(FIRST), Clock()
    ring = KeyRing(endpoint, clock=clock)
    ring.key(FIRST.kid)
    endpoint.issuers = [SECOND]
    clock.now += 61
    # When a token with the new kid arrives
    key = ring.key(SECOND.kid)
    # Then the one refetch found it, and the kid names the new key, not the old one
    assert endpoint.calls == 2
    assert key.public_numbers() == of(SECOND) != of(FIRST)
    # And the old kid, no longer in the issuer's JWKS, is refused from then on
    with pytest.raises(UnknownKey):
        ring.key(FIRST.kid)


def test_during_a_rotation_both_keys_verify_until_the_old_one_is_retired_and_the_keys_expire():
    # Given the issuer publishes its old and its new key side by side (the overlap of a rotation)
    endpoint, clock = Endpoint(FIRST, SECOND), Clock()
    ring = KeyRing(endpoint, clock=clock, max_age=3600)
    # Then each kid gives its own key, from one fetch
    assert ring.key(FIRST.kid).public_numbers() == of(FIRST)
    assert ring.key(SECOND.kid).public_numbers() == of(SECOND)
    assert endpoint.calls == 1
    # When the issuer retires the old key
    endpoint.issuers = [SECOND]
    # Then tokens already out with the old kid still verify while the cached keys are fresh (no fetch)
    clock.now += 3599
    assert ring.key(FIRST.kid).public_numbers() == of(FIRST)
    assert endpoint.calls == 1
    # And once the keys are older than max_age, the next lookup refetches: the old kid is refused, the new one kept
    clock.now += 2
    with pytest.raises(UnknownKey):
        ring.key(FIRST.kid)
    assert endpoint.calls == 2
    assert ring.key(SECOND.kid).public_numbers() == of(SECOND)
    assert endpoint.calls == 2


def test_last_good_keys_stay_in_use_when_the_endpoint_is_down():
    # Given cached keys, then an outage lasting past the keys' normal lifetime
    endpoint, clock = Endpoint(FIRST), Clock()
    ring = KeyRing(endpoint, clock=clock, max_age=3600)
    ring.key(FIRST.kid)
    endpoint.down = True
    clock.now += 7200
    # Then known keys keep working, and the failing endpoint is not hammered
    for _ in range(50):
        assert ring.key(FIRST.kid).public_numbers() == of(FIRST)
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
    assert ring.key(FIRST.kid).public_numbers() == of(FIRST)
