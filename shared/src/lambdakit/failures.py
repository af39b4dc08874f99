"""Failure records: one structured log line each time a handler gives up on an SQS message.

The record carries what an operator needs when the message later sits in a DLQ:
an error code, the error's message, the SQS message id (SQS keeps it when it moves
the message to the DLQ), the receive count, and what the message was about (event
type, key, video id, correlation id). `make replay ARGS="peek QUEUE"` finds the
records in the consumers' log groups by the message id and shows the latest one.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from botocore.exceptions import BotoCoreError, ClientError

from contracts import UnreadableMessage, describe

FAILURE_RECORD = "failure_record"  # the log message; peek searches the logs for it
MAX_MESSAGE_CHARS = 500


def _client_error(exc: BaseException) -> ClientError | None:
    """The AWS error behind an exception, also when a library wrapped it (boto3's S3 transfers do)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ClientError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def failure_code(exc: BaseException) -> str:
    """A short, stable code: `UNREADABLE_MESSAGE`, `AWS.<error code>`, or the exception's class name."""
    if isinstance(exc, UnreadableMessage):
        return "UNREADABLE_MESSAGE"
    aws_error = _client_error(exc)
    if aws_error is not None:
        return f"AWS.{aws_error.response.get('Error', {}).get('Code') or 'Unknown'}"
    if isinstance(exc, BotoCoreError):
        return f"AWS.{type(exc).__name__}"
    return type(exc).__name__


def failure_record(*, message_id: str, body: str, receive_count: int, error: BaseException) -> dict[str, Any]:
    about = describe(body)
    about.pop("detail", None)  # an unreadable message's detail is the error message itself
    return {
        "code": failure_code(error),
        "message": (str(error) or type(error).__name__)[:MAX_MESSAGE_CHARS],
        "message_id": message_id,
        "receive_count": receive_count,
        **{name: value for name, value in about.items() if value is not None},
    }


class RecordingBatchProcessor(BatchProcessor):
    """Powertools' SQS batch processor that logs a failure record for every message it reports as failed."""

    def __init__(self, logger: Any) -> None:
        super().__init__(event_type=EventType.SQS)
        self._failure_logger = logger

    def failure_handler(self, record: Any, exception: Any) -> Any:
        self._failure_logger.error(
            FAILURE_RECORD,
            extra={
                "failure": failure_record(
                    message_id=record.message_id,
                    body=record.body,
                    receive_count=int(record.attributes.approximate_receive_count or 0),
                    error=exception[1],
                )
            },
        )
        return super().failure_handler(record, exception)
