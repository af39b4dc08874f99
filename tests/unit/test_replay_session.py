"""The replay tool signs with the local stack's dummy credentials only on a loopback endpoint, and only when
nothing else is configured; against AWS a missing credential stays missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra import LOCAL_CREDENTIALS
from replay.session import is_loopback, session_for

pytestmark = pytest.mark.service("tools")

LOCAL_KEY = LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
NOT_LOOPBACK = [
    None,
    "https://sqs.us-east-1.amazonaws.com",
    "http://10.0.0.5:4566",
    "http://192.168.1.20:4566",
    "http://127.0.0.1.evil.example:4566",
    "http://localhost.evil.example:4566",
    "http://example.com/http://127.0.0.1:4566",
]
LOOPBACK = ["http://127.0.0.1:4566", "http://127.0.0.2:4566", "http://[::1]:4566", "http://localhost:4566"]


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A machine with no AWS configuration at all (and no instance metadata service to ask)."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize("endpoint", NOT_LOOPBACK)
def test_a_non_loopback_endpoint_never_gets_dummy_credentials(endpoint):
    # Given no credentials configured; When the tool builds its session for AWS or another host
    session = session_for(endpoint, None)
    # Then it has none (the SDK will refuse to sign), rather than the local stack's
    assert not is_loopback(endpoint)
    assert session.get_credentials() is None


@pytest.mark.parametrize("endpoint", LOOPBACK)
def test_a_loopback_endpoint_without_credentials_gets_the_local_stacks(endpoint):
    session = session_for(endpoint, None)
    assert is_loopback(endpoint)
    assert session.get_credentials().access_key == LOCAL_KEY
    assert session.region_name == LOCAL_CREDENTIALS["AWS_REGION"]


def test_configured_credentials_win_even_on_loopback(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACONFIGURED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "configured-secret")
    assert session_for("http://127.0.0.1:4566", "eu-west-1").get_credentials().access_key == "AKIACONFIGURED"
    assert session_for("http://127.0.0.1:4566", "eu-west-1").region_name == "eu-west-1"
