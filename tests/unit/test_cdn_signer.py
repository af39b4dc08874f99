"""The CloudFront signer: a custom policy naming exactly one object until its expiry, signed with the key pair."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from catalog.adapters.cdn import CloudFrontUrlSigner

pytestmark = pytest.mark.service("metadata")


def _cloudfront_b64decode(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def test_a_signed_url_names_one_object_until_its_expiry_and_verifies_with_the_public_key():
    # Given a key pair (as `openssl genrsa 2048` makes it) and the distribution's signer
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    signer = CloudFrontUrlSigner("d111.cloudfront.net", "K2JCJMDEHXQW5F", pem, clock=lambda: 1_800_000_000.5)

    # When a segment is signed for an hour
    url = signer.url("transcoded", "videos/abc/stream/t/720p/c00000.mp4", 3600)

    # Then the URL is of that object, with a custom policy, the key pair id and a valid signature
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.path) == (
        "https",
        "d111.cloudfront.net",
        "/videos/abc/stream/t/720p/c00000.mp4",
    )
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert set(query) == {"Policy", "Signature", "Key-Pair-Id"} and query["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    policy = _cloudfront_b64decode(query["Policy"])
    [statement] = json.loads(policy)["Statement"]
    assert statement["Resource"] == f"https://d111.cloudfront.net{parts.path}"
    assert statement["Condition"]["DateLessThan"]["AWS:EpochTime"] == 1_800_003_600
    key.public_key().verify(_cloudfront_b64decode(query["Signature"]), policy, padding.PKCS1v15(), hashes.SHA1())


def test_the_signing_key_must_be_rsa():
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="RSA"):
        CloudFrontUrlSigner("d111.cloudfront.net", "K", pem)
