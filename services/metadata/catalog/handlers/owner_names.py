"""SQS (subscribed to the auth service's `profile-events`) -> the names owners chose, for the public pages."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from catalog import deps
from catalog.logic.sharing import record_owner_name
from catalog.observability import logger
from contracts import DisplayNameChanged
from lambdakit.sqs import batch_handler, read_video_event


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)  # an unknown type or version is UnreadableMessage
    if not isinstance(event, DisplayNameChanged):
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})
        return
    kept = record_owner_name(event, deps.record_owner_name())
    logger.info("display name kept" if kept else "an older display name; ignored", extra={"version": event.version})


handler = batch_handler(record_handler, logger=logger)
