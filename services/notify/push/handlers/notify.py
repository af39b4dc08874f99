"""SQS (subscribed to `catalog-events`, VideoStatusChanged only) -> a StatusPush to each of the owner's sockets."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contracts import VideoStatusChanged, VideoStatusChangedV1
from lambdakit.sqs import batch_handler, read_video_event
from push import deps
from push.logic.notify import push_change
from push.observability import logger


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)  # an unknown type or version is UnreadableMessage
    if not isinstance(event, VideoStatusChanged | VideoStatusChangedV1):
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})
        return
    delivery = push_change(event, deps.notify())  # DeliveryFailed: this message is a batch item failure
    logger.info(
        "pushed",
        extra={
            "video_id": event.video_id,
            "sent": len(delivery.sent),
            "gone": len(delivery.gone),
            "expired": len(delivery.expired),
            "unclosed": delivery.unclosed,
        },
    )


handler = batch_handler(record_handler, logger=logger)
