"""SQS (subscribed to `catalog-events`, VideoDeleted only) -> remove the video's renditions and poster."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contracts import VideoDeleted
from contracts.keys import video_prefix
from lambdakit import read_video_event
from transcode.handlers.uploads import get_deps
from transcode.observability import logger, processor


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)
    if not isinstance(event, VideoDeleted):
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})
        return
    deps = get_deps()
    removed = deps.storage.delete_prefix(deps.config.output_bucket, video_prefix(event.video_id))
    logger.info("renditions deleted", extra={"video_id": event.video_id, "objects": removed})


@logger.inject_lambda_context
def handler(event: dict, context: object) -> dict:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
