from __future__ import annotations

from typing import Any


class S3UrlSigner:
    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def url(self, bucket: str, key: str, expires_in: int) -> str:
        return str(
            self._s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in)
        )
