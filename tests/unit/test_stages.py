"""A stage changes every resource name, so stages of one account never collide."""

from __future__ import annotations

import pytest

from infra import load

pytestmark = pytest.mark.service("upload", "transcode", "metadata", "auth")


def test_every_resource_and_function_name_carries_the_stage():
    dev, prod = load("dev"), load("prod")
    for service in dev.services:
        for logical_id, name in dev.services[service].resources.items():
            other = prod.services[service].resources[logical_id]
            assert name != other and "-dev-" in name and "-prod-" in other, (service, logical_id, name)
    assert {f.arn for f in dev.invocables.values()}.isdisjoint(f.arn for f in prod.invocables.values())
    assert set(dev.exports).isdisjoint(prod.exports)
