"""The edge every SQS handler shares: open a message, set the correlation id, say what was skipped.

A message that cannot be opened raises UnreadableMessage; the batch processor
(`lambdakit.failures.RecordingBatchProcessor`) then logs its failure record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from contracts import DomainEvent, S3EventRecord, open_video_event, uploaded_objects

T = TypeVar("T")


class Logger(Protocol):  # the part of Powertools' Logger used here
    def set_correlation_id(self, value: str | None) -> None: ...

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None: ...


def _read(logger: Logger, opener: Callable[[], T]) -> T:
    logger.set_correlation_id(None)
    return opener()


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
