from __future__ import annotations

from typing import Any

from intake.logic.forms import FORM_EXPIRES_SECONDS, UploadPlan


class PresignedPosts:
    """S3 presigned POST forms whose policy pins the bucket, key, content type and size range."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3, self._bucket = s3, bucket

    def form(self, plan: UploadPlan, *, max_size: int) -> dict[str, Any]:
        # boto3 adds the {"bucket": ...} and {"key": ...} (exact match) conditions itself.
        return self._s3.generate_presigned_post(
            self._bucket,
            plan.key,
            Fields={"Content-Type": plan.content_type},
            Conditions=[{"Content-Type": plan.content_type}, ["content-length-range", 1, max_size]],
            ExpiresIn=FORM_EXPIRES_SECONDS,
        )
