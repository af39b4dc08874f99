"""The stream package's text files (playlists, thumbnails track), read from S3."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

MAX_TEXT_BYTES = 8 * 1024 * 1024  # a 4 h rung's playlist is well under 1 MiB: anything far larger is not ours


class S3PackageFiles:
    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def text(self, bucket: str, key: str) -> str | None:
        try:
            response = self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return str(response["Body"].read(MAX_TEXT_BYTES).decode("utf-8", "replace"))
