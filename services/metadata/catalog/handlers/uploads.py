"""SQS (subscribed to the `uploads` topic) -> a catalog item per upload, status UPLOADED."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog.deps import get_deps
from catalog.logic.records import record_upload
from catalog.observability import logger, processor
from catalog.settings import get_settings
from contracts import UnreadableMessage, open_s3_event


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
        video_id = record_upload(s3_record, get_deps())
        logger.info("upload recorded", extra={"video_id": video_id, "key": s3_record.key})


@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
