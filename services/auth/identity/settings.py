"""The auth service's settings: every variable it knows, each read when a function first uses it.

Standard library only (through lambdakit.settings): the authorizer runs before every API call.
"""

from __future__ import annotations

from functools import cache

from lambdakit.settings import Setting, Settings, not_negative, positive


class AuthSettings(Settings):
    jwt_issuer = Setting("JWT_ISSUER")
    jwt_audience = Setting("JWT_AUDIENCE", str, default=None)  # OIDC/Auth0: the API's audience
    jwt_client_id = Setting("JWT_CLIENT_ID", str, default=None)  # Cognito: the app client
    jwt_token_use = Setting("JWT_TOKEN_USE", str, default=None)  # Cognito: "access"
    jwt_leeway_seconds = Setting("JWT_LEEWAY_SECONDS", int, default=30, check=not_negative)
    jwks_url = Setting("JWKS_URL")
    jwks_timeout_seconds = Setting("JWKS_TIMEOUT_SECONDS", float, default=2.0, check=positive)
    profiles_table = Setting("PROFILES_TABLE")
    profile_events_topic_arn = Setting("PROFILE_EVENTS_TOPIC_ARN")  # where PUT /me tells of e-mail preferences


@cache
def settings() -> AuthSettings:
    return AuthSettings()
