"""SQS (subscribed to the auth service's `profile-events`) -> who wants e-mail about their videos, and where."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from contracts import MailPreferenceChanged
from lambdakit.sqs import batch_handler, read_video_event
from push import deps
from push.logic.mail import remember
from push.observability import logger


def record_handler(record: SQSRecord) -> None:
    event = read_video_event(record.body, logger=logger)  # an unknown type or version is UnreadableMessage
    if not isinstance(event, MailPreferenceChanged):
        logger.info("not for this consumer; skipped", extra={"event_type": event.event_type})
        return
    applied = remember(event, deps.preferences())
    logger.info(
        "mail preference kept" if applied else "an older mail preference; ignored",
        extra={"sub": event.sub, "enabled": event.enabled, "version": event.version},
    )


handler = batch_handler(record_handler, logger=logger)
