"""The AWS session the replay tool uses: the configured credentials, or the local stack's dummy ones."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import boto3
import botocore.session

from infra import REGION, local_session


def is_loopback(endpoint: str | None) -> bool:
    """Whether an endpoint URL points at this machine (127.0.0.0/8, ::1, localhost): the local stack."""
    host = urlsplit(endpoint).hostname if endpoint else None
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session_for(endpoint: str | None, region: str | None) -> boto3.session.Session:
    """A session for the endpoint; on a loopback endpoint with no credentials configured, the local stack's.

    Against AWS (any other endpoint, or none) the SDK's own credential chain decides,
    and a missing credential stays an error.
    """
    region = region or REGION
    if not is_loopback(endpoint):
        return boto3.session.Session(region_name=region)
    core = botocore.session.Session()
    core.get_component("credential_provider").remove("iam-role")  # EC2's metadata service never signs for loopback
    session = boto3.session.Session(botocore_session=core, region_name=region)
    if session.get_credentials() is not None:
        return session
    return local_session(region)
