"""The auth service's collaborators: one cached builder per function (named after it), given only what that
function uses. The authorizer's stays on PyJWT and the standard library: no boto3, pydantic or Powertools."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from identity.settings import settings

if TYPE_CHECKING:
    from identity.logic.profiles import Profiles, UpdateDeps
    from identity.logic.tokens import Verifier


@cache
def authorizer() -> Verifier:
    from identity.adapters.jwks import http_fetch
    from identity.logic.keys import KeyRing
    from identity.logic.tokens import TokenPolicy, Verifier
    from lambdakit.settings import SettingsError

    config = settings()
    try:
        policy = TokenPolicy(
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            client_id=config.jwt_client_id,
            token_use=config.jwt_token_use,
            leeway_seconds=config.jwt_leeway_seconds,
        )
    except ValueError as exc:
        raise SettingsError(f"JWT settings: {exc}") from None
    return Verifier(KeyRing(http_fetch(config.jwks_url, timeout=config.jwks_timeout_seconds)), policy)


@cache
def _profiles() -> Profiles:
    import boto3

    from identity.adapters.profiles import DynamoProfiles

    return DynamoProfiles(boto3.resource("dynamodb").Table(settings().profiles_table))


def get_me() -> Profiles:
    return _profiles()


@cache
def put_me() -> UpdateDeps:
    import boto3

    from identity.logic.profiles import UpdateDeps
    from lambdakit.sns import SnsPublisher

    return UpdateDeps(
        profiles=_profiles(), publisher=SnsPublisher(boto3.client("sns"), settings().profile_events_topic_arn)
    )
