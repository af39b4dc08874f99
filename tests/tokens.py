"""The tests' token forge: an RSA key, its JWKS, and RS256 tokens with any claims and headers.

The local stack's issuer (devstack) issues a user's access token and nothing else; the
forge signs whatever a test asks for, hostile cases included (no kid, another key's kid,
wrong issuer, expired, claims missing). For the end-to-end tests it loads the running
stack's issuer key, so its tokens are the ones the stack's authorizer trusts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.video24.test/"
AUDIENCE = "video24-api"


class Forge:
    def __init__(
        self, key: rsa.RSAPrivateKey, *, kid: str | None = None, issuer: str = ISSUER, audience: str = AUDIENCE
    ) -> None:
        self.key, self.issuer, self.audience = key, issuer, audience
        self.public_jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        self.kid = kid or f"forge-{self.public_jwk['n'][:12]}"  # the stack's issuer names its key: pass its kid

    @classmethod
    def generate(cls, **names: str) -> Forge:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), **names)

    @classmethod
    def from_pem(cls, path: Path, **names: str) -> Forge:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey), f"{path} holds no RSA key"
        return cls(key, **names)

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def claims(self, user: str = "alice", **changes: Any) -> dict[str, Any]:
        """A valid access token's claims for `user`, with `changes` (a None removes a claim)."""
        now = int(time.time())
        valid = {"iss": self.issuer, "aud": self.audience, "sub": f"sub-{user}", "username": user}
        valid |= {"email": f"{user}@example.com", "token_use": "access", "iat": now, "exp": now + 600}
        return {name: value for name, value in (valid | changes).items() if value is not None}

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        """Exactly these claims, signed RS256 with this key; headers add to or replace `kid` (None drops it)."""
        fields = {name: value for name, value in ({"kid": self.kid} | headers).items() if value is not None}
        return jwt.encode(claims, self.key, algorithm="RS256", headers=fields)

    def token(self, user: str = "alice", **changes: Any) -> str:
        """A valid access token for `user`, or one with claims changed or removed."""
        return self.sign(self.claims(user, **changes))
