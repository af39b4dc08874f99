"""SQS (subscribed to `catalog-events`, VideoDeleted only) -> remove the video's renditions and poster."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contracts import VideoDeleted
from lambdakit.sqs import batch_handler, read_video_event
from transcode import deps
from transcode.logic.deletion import delete_outputs
from transcode.observability import logger


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)
    if not isinstance(event, VideoDeleted):
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})
        return
    removed = delete_outputs(event, deps.delete_renditions())
    logger.info("renditions deleted", extra={"video_id": event.video_id, "objects": removed})


handler = batch_handler(record_handler, logger=logger)
