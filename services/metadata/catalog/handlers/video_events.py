"""SQS (subscribed to `video-events`) -> READY with rendition metadata, or FAILED with the reason."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog.deps import get_deps
from catalog.logic.records import record_failed, record_transcoded
from catalog.observability import logger, processor
from contracts import VideoTranscoded, VideoTranscodeFailed
from lambdakit import read_video_event


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)
    if isinstance(event, VideoTranscoded):
        ready = record_transcoded(event, get_deps())
        logger.info("ready" if ready else "already final; skipped", extra={"video_id": event.video_id})
    elif isinstance(event, VideoTranscodeFailed):
        moved = record_failed(event, get_deps())
        logger.info("failed" if moved else "already final; skipped", extra={"video_id": event.video_id})
    else:
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})


@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
