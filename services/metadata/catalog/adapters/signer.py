from __future__ import annotations

from typing import Any

from botocore.config import Config

SIGV4 = Config(signature_version="s3v4")  # signed URLs say how long they last (X-Amz-Expires)


class S3UrlSigner:
    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def url(self, bucket: str, key: str, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )
