"""The transcode service's collaborators: one cached builder per function (named after it), given only what
that function uses."""

from __future__ import annotations

from functools import cache
from typing import Any

from transcode.logic.deletion import DeletionDeps
from transcode.logic.transcode import TranscodeConfig, TranscodeDeps
from transcode.settings import settings


@cache
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


@cache
def _tombstones() -> Any:
    import boto3

    from transcode.adapters.aws import DynamoTombstones

    return DynamoTombstones(boto3.resource("dynamodb").Table(settings().deleted_videos_table))


@cache
def transcode() -> TranscodeDeps:
    import boto3

    from lambdakit.sns import SnsPublisher
    from transcode.adapters.aws import S3Storage
    from transcode.adapters.media import FfmpegMedia

    config = settings()
    return TranscodeDeps(
        storage=S3Storage(_s3()),
        publisher=SnsPublisher(boto3.client("sns"), config.video_events_topic_arn),
        media=FfmpegMedia(
            preset=config.ffmpeg_preset,
            max_duration=config.max_duration_seconds,
            encode_timeout=config.encode_timeout_seconds,
        ),
        tombstones=_tombstones(),
        config=TranscodeConfig(
            uploads_bucket=config.uploads_bucket,
            output_bucket=config.transcoded_bucket,
            work_dir=config.work_dir,
            limits=config.limits(),
        ),
    )


@cache
def delete_renditions() -> DeletionDeps:
    from transcode.adapters.aws import S3Storage

    return DeletionDeps(storage=S3Storage(_s3()), tombstones=_tombstones(), output_bucket=settings().transcoded_bucket)
