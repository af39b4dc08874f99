"""SQS (subscribed to the `uploads` topic) -> a catalog item per upload, status UPLOADED."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog import deps
from catalog.logic.records import record_upload
from catalog.observability import logger
from lambdakit.sqs import batch_handler, read_uploads


def record_handler(record: SQSRecord) -> None:
    recording = deps.record_upload()
    for upload in read_uploads(record.body, bucket=recording.uploads_bucket, logger=logger):
        logger.set_correlation_id(upload.correlation_id)
        record_upload(upload, recording)
        logger.info("upload recorded", extra={"video_id": upload.video_id, "key": upload.key})


handler = batch_handler(record_handler, logger=logger)
