"""The edge every SQS handler shares: open a message into a contracts value, set the correlation id, say what
was skipped, and report partial batch failures.

A message that cannot be opened raises UnreadableMessage; the batch processor
(`lambdakit.failures.RecordingBatchProcessor`) then logs its failure record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from contracts import (
    AnyVideoEvent,
    UnreadableMessage,
    Upload,
    UploadStarted,
    open_delivery,
    open_uploads,
    open_video_event,
)
from lambdakit.failures import RecordingBatchProcessor

QueueHandler = Callable[[dict[str, Any], LambdaContext], PartialItemFailureResponse]


def read_uploads(body: str, *, bucket: str, logger: Logger) -> list[Upload]:
    """The uploads (ObjectCreated in `bucket`) in an SQS body; the rest is logged as skipped."""
    logger.set_correlation_id(None)
    uploads, skipped = open_uploads(body, bucket=bucket)
    for note in skipped:
        logger.info(note)
    return uploads


def read_upload_started(body: str, *, logger: Logger) -> UploadStarted | None:
    """The UploadStarted a message holds (the upload API's, on a queue that also gets the uploads bucket's S3
    notifications), in any wrapping; None for anything else (`read_uploads` opens S3 notifications)."""
    try:
        opened = open_delivery(body)
    except UnreadableMessage:
        return None  # (read_uploads says why)
    if not isinstance(opened, UploadStarted):
        return None
    logger.set_correlation_id(opened.correlation_id)
    return opened


def read_video_event(body: str, *, logger: Logger) -> AnyVideoEvent:
    logger.set_correlation_id(None)
    event = open_video_event(body)
    logger.set_correlation_id(event.correlation_id)
    return event


RecordHandler = Callable[[SQSRecord], None] | Callable[[SQSRecord, LambdaContext], None]


def batch_handler(record_handler: RecordHandler, *, logger: Logger) -> QueueHandler:
    """A Lambda handler for an SQS event source: each record on its own, failures reported per message.

    `record_handler(record)`, or `record_handler(record, lambda_context)` to be given the invocation's context.
    """
    processor = RecordingBatchProcessor(logger)

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    return handler
