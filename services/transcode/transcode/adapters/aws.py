"""S3 and SNS behind the small interfaces the logic asks for."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from transcode.logic.ports import SourceMissing, SourceSuperseded

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_SUPERSEDED = {"412", "PreconditionFailed"}


class S3Storage:
    def __init__(self, client: Any) -> None:
        self._s3 = client

    def download(
        self, bucket: str, key: str, dest: Path, *, etag: str | None = None, version: str | None = None
    ) -> int:
        try:
            if version:
                self._s3.download_file(bucket, key, str(dest), ExtraArgs={"VersionId": version})
            else:
                if etag:  # the transfer manager takes no IfMatch: check first (a write in between is not caught)
                    quoted = '"' + etag.strip('"') + '"'
                    self._s3.head_object(Bucket=bucket, Key=key, IfMatch=quoted)
                self._s3.download_file(bucket, key, str(dest))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in _SUPERSEDED:
                raise SourceSuperseded(f"s3://{bucket}/{key} was written again since this event") from None
            if code in _MISSING:
                raise SourceMissing(f"s3://{bucket}/{key} does not exist") from None
            raise
        return dest.stat().st_size

    def upload(self, path: Path, bucket: str, key: str, content_type: str) -> None:
        self._s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})

    def read_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        document = json.loads(body)
        return document if isinstance(document, dict) else None

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        return delete_prefix(self._s3, bucket, prefix)

    def write_json(self, bucket: str, key: str, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def delete_prefix(s3: Any, bucket: str, prefix: str) -> int:
    """Delete every object under a prefix; returns how many there were (0 when already gone)."""
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


class DynamoTombstones:
    """The deleted-videos table: one item per deleted video, removed by DynamoDB's TTL on `expires_at`."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def mark(self, video_id: str, *, deleted_at: datetime, expires_at: datetime) -> None:
        self._table.put_item(
            Item={"video_id": video_id, "deleted_at": deleted_at.isoformat(), "expires_at": int(expires_at.timestamp())}
        )

    def marked(self, video_id: str) -> bool:
        return "Item" in self._table.get_item(Key={"video_id": video_id}, ConsistentRead=True)
