"""SQS (subscribed to the `uploads` topic) -> transcode each uploaded video."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdakit import read_uploads
from transcode.logic.ports import SourceSuperseded
from transcode.logic.transcode import TranscodeConfig, TranscodeDeps, transcode_upload
from transcode.observability import logger, processor
from transcode.settings import get_settings


@cache
def get_deps() -> TranscodeDeps:
    import boto3

    from lambdakit.sns import SnsPublisher
    from transcode.adapters.aws import S3Storage
    from transcode.adapters.media import FfmpegMedia

    settings = get_settings()
    return TranscodeDeps(
        storage=S3Storage(boto3.client("s3")),
        publisher=SnsPublisher(boto3.client("sns"), settings.video_events_topic_arn),
        media=FfmpegMedia(
            preset=settings.ffmpeg_preset,
            max_duration=settings.max_duration_seconds,
            encode_timeout=settings.encode_timeout_seconds,
        ),
        config=TranscodeConfig(
            output_bucket=settings.transcoded_bucket, work_dir=settings.work_dir, limits=settings.limits
        ),
    )


def record_handler(record: SQSRecord) -> None:
    for upload in read_uploads(record.body, bucket=get_settings().uploads_bucket, logger=logger):
        logger.set_correlation_id(upload.correlation_id)
        try:
            outcome = transcode_upload(upload, get_deps())
        except SourceSuperseded:
            logger.info("the key was written again since this event; skipped", extra={"key": upload.key})
            continue
        if outcome is None:
            logger.info("already transcoded; duplicate delivery skipped", extra={"key": upload.key})
        else:
            logger.info(outcome.event_type, extra={"video_id": outcome.video_id, "key": upload.key})


@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
