"""SQS (subscribed to `catalog-events`, VideoDeleted only) -> remove the uploaded source object."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contracts import VideoDeleted
from intake import deps
from intake.logic.uploads import delete_source
from intake.observability import logger
from lambdakit.sqs import batch_handler, read_video_event


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)
    if not isinstance(event, VideoDeleted):
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})
        return
    key = delete_source(event, deps.delete_source())
    if key is None:
        logger.warning("no source object of ours to delete", extra={"video_id": event.video_id})
    else:
        logger.info("source deleted", extra={"video_id": event.video_id, "key": key})


handler = batch_handler(record_handler, logger=logger)
