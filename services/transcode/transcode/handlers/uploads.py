"""SQS (subscribed to the `uploads` topic) -> transcode each uploaded video."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contracts import UnreadableMessage, open_s3_event
from transcode.logic.transcode import TranscodeConfig, TranscodeDeps, transcode_upload
from transcode.observability import logger, processor
from transcode.settings import get_settings


@cache
def get_deps() -> TranscodeDeps:
    import boto3

    from transcode.adapters.aws import S3Storage, SnsPublisher
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
    logger.set_correlation_id(None)
    try:
        event = open_s3_event(record.body)
    except UnreadableMessage as exc:
        logger.error("unreadable message", extra={"failure": {"code": "UNREADABLE_MESSAGE", "message": str(exc)}})
        raise
    if event is None:
        logger.info("s3:TestEvent acknowledged and skipped")
        return
    for s3_record in event.records:
        logger.set_correlation_id(s3_record.correlation_id)
        if not s3_record.is_object_created or s3_record.bucket != get_settings().uploads_bucket:
            logger.warning("ignored", extra={"event_name": s3_record.event_name, "bucket": s3_record.bucket})
            continue
        outcome = transcode_upload(s3_record, get_deps())
        if outcome is None:
            logger.info("already transcoded; duplicate delivery skipped", extra={"key": s3_record.key})
        else:
            logger.info(outcome.event_type, extra={"video_id": outcome.video_id, "key": s3_record.key})


@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
