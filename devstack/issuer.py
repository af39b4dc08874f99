"""A local OIDC-style token issuer: an RSA key, its JWKS, and signed access tokens.

It stands in for Cognito or Auth0 on the local stack, so the authorizer runs the same
code path as in AWS (RS256, JWKS fetched over HTTP). The key lives in `.demo/issuer/`
so `make token` and a running `make up` agree on it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra import ROOT

ISSUER = "https://issuer.video24.local/"
AUDIENCE = "video24-api"
KEY_FILE = ROOT / ".demo" / "issuer" / "private.pem"


class Issuer:
    """The local stack's issuer: one key, and a user's access token on request."""

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        *,
        key_file: Path | None = None,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
    ) -> None:
        self.private_key, self.key_file, self.issuer, self.audience = private_key, key_file, issuer, audience
        public = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(public).hexdigest()[:16]

    @classmethod
    def load(cls, path: Path = KEY_FILE) -> Issuer:
        """The local issuer's key, created on first use (readable by this user only)."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            path.touch(mode=0o600)
            path.write_bytes(pem)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        return cls(loaded, key_file=path)

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def subject(self, user: str) -> str:
        """The `sub` of a user name: the same name always gets the same one."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}{user}"))

    def token(self, user: str, *, ttl: int = 3600) -> str:
        """A signed access token for `user` (its sub is stable per user name)."""
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": self.subject(user),
            "username": user,
            "email": f"{user}@example.com",
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "token_use": "access",
        }
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})
