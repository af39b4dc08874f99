"""The upload service's settings: every variable it knows, each read when a function first uses it."""

from __future__ import annotations

from functools import cache

from lambdakit.settings import Setting, Settings, positive

SINGLE_POST_LIMIT = 5 * 1024**3  # S3 takes at most 5 GiB in one POST
MULTIPART_THRESHOLD = 100 * 1024**2  # above it a browser sends parts in parallel, and can resume


def _at_most_one_post(value: int) -> None:
    positive(value)
    if value > SINGLE_POST_LIMIT:
        raise ValueError(f"must be at most S3's single-POST limit of {SINGLE_POST_LIMIT} bytes")


class UploadSettings(Settings):
    uploads_bucket = Setting("UPLOADS_BUCKET")
    upload_events_topic_arn = Setting("UPLOAD_EVENTS_TOPIC_ARN")  # where createUpload tells UploadStarted
    max_upload_bytes = Setting("MAX_UPLOAD_BYTES", int, default=SINGLE_POST_LIMIT, check=positive)
    # above this a form becomes a multipart upload; never above S3's single-POST limit
    multipart_threshold_bytes = Setting(
        "MULTIPART_THRESHOLD_BYTES", int, default=MULTIPART_THRESHOLD, check=_at_most_one_post
    )


@cache
def settings() -> UploadSettings:
    return UploadSettings()
