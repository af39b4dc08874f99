"""S3 behind the upload logic's ports: presigned forms, multipart uploads, source objects.

S3's errors become the logic's own exceptions here; the logic never sees botocore.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from intake.logic.ports import PartsRefused, SignedForm, StoredPart, UploadGone, UploadPlan


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


class PresignedPosts:
    """S3 presigned POST forms whose policy pins the bucket, key, content type and size range."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self._bucket = s3, bucket

    def form(self, plan: UploadPlan, *, max_size: int, expires_in: int) -> SignedForm:
        # boto3 adds the {"bucket": ...} and {"key": ...} (exact match) conditions itself.
        signed = self._s3.generate_presigned_post(
            self._bucket,
            plan.key,
            Fields={"Content-Type": plan.content_type},
            Conditions=[{"Content-Type": plan.content_type}, ["content-length-range", 1, max_size]],
            ExpiresIn=expires_in,
        )
        return SignedForm(url=signed["url"], fields=signed["fields"])


class S3MultipartUploads:
    """S3 multipart uploads for files above the single-POST limit, addressed by presigned part URLs."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self._bucket = s3, bucket

    def start(self, plan: UploadPlan) -> str:
        started = self._s3.create_multipart_upload(Bucket=self._bucket, Key=plan.key, ContentType=plan.content_type)
        return str(started["UploadId"])

    def part_urls(self, key: str, upload_id: str, numbers: Sequence[int], expires_in: int) -> list[str]:
        return [
            self._s3.generate_presigned_url(
                "upload_part",
                Params={"Bucket": self._bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
                ExpiresIn=expires_in,
            )
            for number in numbers
        ]

    def find(self, prefix: str, upload_id: str) -> str | None:
        for page in self._s3.get_paginator("list_multipart_uploads").paginate(Bucket=self._bucket, Prefix=prefix):
            for upload in page.get("Uploads", []):
                if upload["UploadId"] == upload_id and upload["Key"].startswith(prefix):
                    return str(upload["Key"])
        return None

    def parts(self, key: str, upload_id: str) -> list[StoredPart]:
        pages = self._s3.get_paginator("list_parts").paginate(Bucket=self._bucket, Key=key, UploadId=upload_id)
        try:
            return sorted(
                (
                    StoredPart(number=int(part["PartNumber"]), etag=str(part["ETag"]), size=int(part["Size"]))
                    for page in pages
                    for part in page.get("Parts", [])
                ),
                key=lambda part: part.number,
            )
        except ClientError as exc:
            if _code(exc) == "NoSuchUpload":
                raise UploadGone(upload_id) from None
            raise

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        try:
            self._s3.complete_multipart_upload(
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts)]},
            )
        except ClientError as exc:
            if _code(exc) == "NoSuchUpload":
                raise UploadGone(upload_id) from None
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500) < 500:
                raise PartsRefused(_code(exc)) from None
            raise  # S3 itself failed: a retry may work, the caller sees a 500

    def abort(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if _code(exc) == "NoSuchUpload":
                raise UploadGone(upload_id) from None
            raise


class S3SourceObjects:
    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def delete(self, bucket: str, key: str) -> None:
        self._s3.delete_object(Bucket=bucket, Key=key)  # deleting a missing key is not an error in S3
