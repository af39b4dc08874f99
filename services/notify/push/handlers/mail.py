"""SQS (subscribed to `catalog-events`: VideoStatusChanged to READY or FAILED) -> one e-mail to an opted-in owner."""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contracts import VideoStatusChanged, VideoStatusChangedV1
from lambdakit.sqs import batch_handler, read_video_event
from push import deps
from push.logic.mail import is_final
from push.observability import logger


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    change = read_video_event(record.body, logger=logger)  # an unknown type or version is UnreadableMessage
    if not isinstance(change, VideoStatusChanged | VideoStatusChangedV1) or not is_final(change):
        logger.info("not a final status of an owned video; skipped", extra={"event_type": change.event_type})
        return
    mail_once = deps.mail()
    if mail_once is None:
        logger.info("no mail sender configured (stage param mailSender); skipped", extra={"video_id": change.video_id})
        return
    outcome = mail_once(change, lambda_context)  # a duplicate of a change already told gets the first outcome
    logger.info("told the owner", extra={"video_id": change.video_id, "status": change.status, **outcome})


handler = batch_handler(record_handler, logger=logger)
