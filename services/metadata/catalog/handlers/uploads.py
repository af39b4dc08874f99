"""SQS (subscribed to the `uploads` topic) -> a catalog item per upload, status UPLOADED."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog.deps import get_deps
from catalog.logic.records import record_upload
from catalog.observability import logger, processor
from catalog.settings import get_settings
from lambdakit import read_uploads


def record_handler(record: SQSRecord) -> None:
    for upload in read_uploads(record.body, bucket=get_settings().uploads_bucket, logger=logger):
        logger.set_correlation_id(upload.correlation_id)
        video_id = record_upload(upload, get_deps())
        logger.info("upload recorded", extra={"video_id": video_id, "key": upload.key})


@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
