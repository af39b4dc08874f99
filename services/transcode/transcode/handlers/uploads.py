"""SQS (subscribed to the `uploads` topic) -> transcode each uploaded video."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambdakit.sqs import batch_handler, read_uploads
from transcode import deps
from transcode.logic.transcode import Skipped, transcode_upload
from transcode.observability import logger


def record_handler(record: SQSRecord) -> None:
    work = deps.transcode()
    for upload in read_uploads(record.body, bucket=work.config.uploads_bucket, logger=logger):
        logger.set_correlation_id(upload.correlation_id)
        result = transcode_upload(upload, work)
        if isinstance(result, Skipped):
            logger.info(result.value, extra={"video_id": upload.video_id, "key": upload.key})
        else:
            logger.info(result.event_type, extra={"video_id": result.video_id, "key": upload.key})


handler = batch_handler(record_handler, logger=logger)
