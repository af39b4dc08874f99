"""The upload service's collaborators: one cached builder per function (named after it), given only what that
function uses. Clients are made on first use, so importing a handler costs no boto3."""

from __future__ import annotations

from functools import cache
from typing import Any

from intake.logic.ports import MultipartUploads
from intake.logic.uploads import CompleteDeps, DeleteDeps, StartDeps, UploadLimits
from intake.settings import settings


@cache
def _s3() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))  # signed URLs that say how long they last


@cache
def create_upload() -> StartDeps:
    from intake.adapters.s3 import PresignedPosts, S3MultipartUploads

    bucket = settings().uploads_bucket
    return StartDeps(
        forms=PresignedPosts(_s3(), bucket),
        multipart=S3MultipartUploads(_s3(), bucket),
        limits=UploadLimits(settings().max_upload_bytes, settings().multipart_threshold_bytes),
        publisher=_publisher(),
    )


def _publisher() -> Any:
    import boto3

    from lambdakit.sns import SnsPublisher

    return SnsPublisher(boto3.client("sns"), settings().upload_events_topic_arn)


@cache
def complete_upload() -> CompleteDeps:
    from intake.adapters.s3 import S3MultipartUploads

    return CompleteDeps(S3MultipartUploads(_s3(), settings().uploads_bucket), max_size=settings().max_upload_bytes)


@cache
def resume_upload() -> MultipartUploads:
    from intake.adapters.s3 import S3MultipartUploads

    return S3MultipartUploads(_s3(), settings().uploads_bucket)


@cache
def abort_upload() -> MultipartUploads:
    from intake.adapters.s3 import S3MultipartUploads

    return S3MultipartUploads(_s3(), settings().uploads_bucket)


@cache
def delete_source() -> DeleteDeps:
    from intake.adapters.s3 import S3SourceObjects

    return DeleteDeps(S3SourceObjects(_s3()), uploads_bucket=settings().uploads_bucket)
