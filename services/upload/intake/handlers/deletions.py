"""SQS (subscribed to `catalog-events`, VideoDeleted only) -> remove the uploaded source object."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contracts import VideoDeleted, parse_upload_key
from intake.settings import get_settings
from lambdakit import read_video_event
from lambdakit.failures import RecordingBatchProcessor

logger = Logger(service="upload")
processor = RecordingBatchProcessor(logger)


@cache
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)
    if not isinstance(event, VideoDeleted):
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})
        return
    source = event.source
    # Only ever the object this video was uploaded as, in our own bucket.
    if (
        source is None
        or source.bucket != get_settings().uploads_bucket
        or parse_upload_key(source.key).video_id != event.video_id
    ):
        logger.warning("no source object of ours to delete", extra={"video_id": event.video_id})
        return
    _s3().delete_object(Bucket=source.bucket, Key=source.key)  # deleting a missing key is not an error
    logger.info("source deleted", extra={"video_id": event.video_id, "key": source.key})


@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
