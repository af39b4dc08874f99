"""The edge every SQS handler shares: open a message, log a failure record when it can't, say what was skipped.

A failure record is one structured log line (`failure.code`, `failure.message`, plus
the correlation id) written when a handler gives up on a message, so that what
later sits in a DLQ can be explained from the logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from contracts import DomainEvent, S3EventRecord, UnreadableMessage, open_video_event, uploaded_objects

T = TypeVar("T")


class Logger(Protocol):  # the part of Powertools' Logger used here
    def set_correlation_id(self, value: str | None) -> None: ...

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None: ...

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None: ...


def _read(logger: Logger, opener: Callable[[], T]) -> T:
    logger.set_correlation_id(None)
    try:
        return opener()
    except UnreadableMessage as exc:
        logger.error("unreadable message", extra={"failure": {"code": "UNREADABLE_MESSAGE", "message": str(exc)}})
        raise


def read_uploads(body: str, *, bucket: str, logger: Logger) -> list[S3EventRecord]:
    """The uploads (ObjectCreated in `bucket`) in an SQS body; the rest is logged as skipped."""
    uploads, skipped = _read(logger, lambda: uploaded_objects(body, bucket=bucket))
    for note in skipped:
        logger.info(note)
    return uploads


def read_video_event(body: str, *, logger: Logger) -> DomainEvent:
    event = _read(logger, lambda: open_video_event(body))
    logger.set_correlation_id(event.correlation_id)
    return event
