"""CloudFront signed URLs with a custom policy: what lets a playback link outlive the function's own credentials."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from botocore.signers import CloudFrontSigner


def rsa_signer(private_key_pem: bytes) -> Callable[[bytes], bytes]:
    """RSA-SHA1 with PKCS#1 v1.5 padding: what CloudFront verifies a signed URL's signature with."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the CloudFront signing key must be an RSA private key")
    return lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # CloudFront verifies SHA-1


class CloudFrontUrlSigner:
    """Signed URLs of the distribution over the transcoded bucket (the one bucket stream packages are in); each
    names its one object and ends at its expiry."""

    def __init__(
        self, domain: str, key_pair_id: str, private_key_pem: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self._domain, self._clock = domain, clock
        self._signer = CloudFrontSigner(key_pair_id, rsa_signer(private_key_pem))

    def url(self, bucket: str, key: str, expires_in: int) -> str:
        url = f"https://{self._domain}/{quote(key)}"
        expires = datetime.fromtimestamp(int(self._clock()) + expires_in, UTC)
        policy = self._signer.build_policy(url, expires)
        return str(self._signer.generate_presigned_url(url, policy=policy))
