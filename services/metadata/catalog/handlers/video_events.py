"""SQS (subscribed to `video-events`) -> PROCESSING with progress, READY with metadata, or FAILED with the reason."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog import deps
from catalog.logic.records import record_failed, record_progress, record_transcoded
from catalog.observability import logger
from contracts import (
    VideoTranscoded,
    VideoTranscodedV1,
    VideoTranscodeFailed,
    VideoTranscodeFailedV1,
    VideoTranscodeProgress,
    VideoTranscodeProgressV1,
)
from lambdakit.sqs import batch_handler, read_video_event


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)  # an unknown type or version is UnreadableMessage
    if isinstance(event, VideoTranscodeProgress | VideoTranscodeProgressV1):
        moved = record_progress(event, deps.record_video_event())
        logger.info("progress" if moved else "not newer, or final; skipped", extra={"video_id": event.video_id})
    elif isinstance(event, VideoTranscoded | VideoTranscodedV1):
        ready = record_transcoded(event, deps.record_video_event())
        logger.info("ready" if ready else "already final; skipped", extra={"video_id": event.video_id})
    elif isinstance(event, VideoTranscodeFailed | VideoTranscodeFailedV1):
        moved = record_failed(event, deps.record_video_event())
        logger.info("failed" if moved else "already final; skipped", extra={"video_id": event.video_id})
    else:
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})


handler = batch_handler(record_handler, logger=logger)
