"""SQS (subscribed to the `uploads` topic, and to UploadStarted on `upload-events`) -> a catalog item per upload,
status UPLOADED, titled with the file name as its uploader typed it."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog import deps
from catalog.logic.records import record_upload
from catalog.logic.sharing import record_title
from catalog.observability import logger
from lambdakit.sqs import batch_handler, read_upload_started, read_uploads


def record_handler(record: SQSRecord) -> None:
    recording = deps.record_upload()
    if started := read_upload_started(record.body, logger=logger):
        titled = record_title(started, recording.store)
        logger.info("titled" if titled else "titled already, or deleted; skipped", extra={"video_id": started.video_id})
        return
    for upload in read_uploads(record.body, bucket=recording.uploads_bucket, logger=logger):
        logger.set_correlation_id(upload.correlation_id)
        record_upload(upload, recording)
        logger.info("upload recorded", extra={"video_id": upload.video_id, "key": upload.key})


handler = batch_handler(record_handler, logger=logger)
