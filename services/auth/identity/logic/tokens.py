"""Verify an access token: RS256 only, against the issuer's keys, with every claim we rely on checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from identity.logic.keys import KeyRing, UnknownKey

ALGORITHMS = ["RS256"]  # hard-coded: the token's header never chooses the algorithm
REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub"]


class Refused(Exception):
    """The token does not prove who the caller is. The reason is for logs, never for the caller; the `code`, one
    of a few, is what the metric AuthorizerRefusals counts by."""

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.code = code


# PyJWT's refusals of a well-formed, well-signed-or-not token, by what they mean; any other is INVALID_CLAIMS
JWT_CODES = {
    "ExpiredSignatureError": "EXPIRED",
    "ImmatureSignatureError": "NOT_YET_VALID",
    "InvalidSignatureError": "BAD_SIGNATURE",
    "InvalidAudienceError": "WRONG_AUDIENCE",
    "InvalidIssuerError": "WRONG_ISSUER",
    "MissingRequiredClaimError": "MISSING_CLAIM",
    "DecodeError": "MALFORMED",
}


@dataclass(frozen=True)
class TokenPolicy:
    issuer: str
    audience: str | None = None  # OIDC/Auth0: the API's audience
    client_id: str | None = None  # Cognito access tokens carry client_id instead of aud
    token_use: str | None = None  # Cognito: "access" (an ID token is refused)
    leeway_seconds: int = 30

    def __post_init__(self) -> None:
        if not self.issuer or not (self.audience or self.client_id):
            raise ValueError("an issuer and an audience or client id are required")


@dataclass(frozen=True)
class Identity:
    """What a verified token proves, and nothing else."""

    sub: str
    email: str | None
    username: str | None
    exp: int  # until when (epoch seconds): a WebSocket opened with the token gets pushes until then, no longer

    def context(self) -> dict[str, str]:
        proved = (("sub", self.sub), ("email", self.email), ("username", self.username), ("exp", str(self.exp)))
        return {k: v for k, v in proved if v}


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Refused("no Authorization header", code="NO_TOKEN")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused("not a Bearer token", code="NO_TOKEN")
    return token.strip()


@dataclass(frozen=True)
class Verifier:
    """The issuer's keys and what its tokens must say: all the authorizer needs."""

    keys: KeyRing
    policy: TokenPolicy

    def verify(self, token: str) -> Identity:
        return verify(token, self.keys, self.policy)


def verify(token: str, keys: KeyRing, policy: TokenPolicy) -> Identity:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Refused(f"malformed token: {exc}", code="MALFORMED") from None
    if header.get("alg") not in ALGORITHMS:
        raise Refused(f"algorithm {header.get('alg')!r} is not accepted", code="ALGORITHM")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Refused("no key id", code="UNKNOWN_KEY")
    try:
        key = keys.key(kid)
    except UnknownKey:
        raise Refused(f"unknown key id {kid!r}", code="UNKNOWN_KEY") from None
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=ALGORITHMS,
            issuer=policy.issuer,
            audience=policy.audience,
            leeway=policy.leeway_seconds,
            options={"require": REQUIRED_CLAIMS, "verify_aud": policy.audience is not None},
        )
    except jwt.PyJWTError as exc:
        kind = type(exc).__name__
        raise Refused(f"{kind}: {exc}", code=JWT_CODES.get(kind, "INVALID_CLAIMS")) from None
    if policy.client_id is not None and claims.get("client_id") != policy.client_id:
        raise Refused("issued to another app client", code="WRONG_AUDIENCE")
    if policy.token_use is not None and claims.get("token_use") != policy.token_use:
        raise Refused(f"token_use {claims.get('token_use')!r}, {policy.token_use!r} required", code="WRONG_TOKEN_USE")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise Refused("empty subject", code="MISSING_CLAIM")
    username = claims.get("username") or claims.get("cognito:username") or claims.get("preferred_username")
    email = claims.get("email")
    if claims.get("email_verified") in (False, "false"):  # an address the issuer has not checked is not theirs
        email = None
    return Identity(
        sub=claims["sub"],
        email=email if isinstance(email, str) else None,
        username=username if isinstance(username, str) else None,
        exp=int(claims["exp"]),  # (PyJWT has checked that it is a number)
    )
