"""One way to open any delivery of an event into a contract model.

A message reaches a consumer in several wrappings: a raw S3 notification, an SNS
envelope, SNS-in-SQS, raw-delivery SQS, or a replayed copy of any of these. Each
opens into the same model here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from contracts.events import VIDEO_EVENT, AnyVideoEvent
from contracts.readable import operator_message
from contracts.s3 import S3Event, S3TestEvent
from contracts.uploads import Upload, upload_of

MAX_MESSAGE_BYTES = 256 * 1024  # the SNS and SQS limit

Opened = S3Event | S3TestEvent | AnyVideoEvent


class UnreadableMessage(ValueError):
    """The message is not a delivery this system understands. Retrying will not help."""


def _as_document(message: object) -> dict[str, Any]:
    if isinstance(message, Mapping):
        return dict(message)
    if not isinstance(message, str | bytes):
        raise UnreadableMessage(f"expected a JSON document, got {type(message).__name__}")
    size = len(message.encode("utf-8", "surrogatepass") if isinstance(message, str) else message)
    if size > MAX_MESSAGE_BYTES:
        raise UnreadableMessage(f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        document = json.loads(message)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise UnreadableMessage(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise UnreadableMessage(f"expected a JSON object, got {type(document).__name__}")
    return document


def _unwrap(document: dict[str, Any]) -> dict[str, Any]:
    """Peel SNS wrappings (Lambda's SNS record, or the SNS envelope in an SQS body)."""
    records = document.get("Records")
    if isinstance(records, list) and len(records) == 1 and isinstance(records[0], dict) and "Sns" in records[0]:
        document = records[0]
    if "Sns" in document:
        document = _as_document(document["Sns"])
    if document.get("Type") == "Notification" and "Message" in document:
        return _as_document(document["Message"])
    return document


def open_delivery(message: str | bytes | Mapping[str, Any]) -> Opened:
    """Open a message in any wrapping into an S3 event, the S3 test event or a domain event."""
    document = _unwrap(_as_document(message))
    try:
        if document.get("Event") == "s3:TestEvent":
            return S3TestEvent.model_validate(document)
        if "Records" in document:
            return S3Event.model_validate(document)
        if "event_type" in document:
            return VIDEO_EVENT.validate_python(document)
    except ValidationError as exc:
        raise UnreadableMessage(_summarise(exc)) from None
    raise UnreadableMessage(f"unknown message shape with fields {sorted(document)[:10]}")


def open_s3_event(message: str | bytes | Mapping[str, Any]) -> S3Event | None:
    """An S3 notification, or None for the `s3:TestEvent` (acknowledge and skip it)."""
    opened = open_delivery(message)
    if isinstance(opened, S3TestEvent):
        return None
    if not isinstance(opened, S3Event):
        raise UnreadableMessage(f"expected an S3 event, got {type(opened).__name__}")
    return opened


def open_video_event(message: str | bytes | Mapping[str, Any]) -> AnyVideoEvent:
    opened = open_delivery(message)
    if isinstance(opened, S3Event | S3TestEvent):
        raise UnreadableMessage(f"expected a video event, got {type(opened).__name__}")
    return opened


def describe(message: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """What a message is about, for people: event type, key and video id, correlation id.

    Never raises: anything unreadable is described as `unreadable` with why.
    """
    try:
        opened = open_delivery(message)
    except UnreadableMessage as exc:
        return {"event": "unreadable", "detail": str(exc)[:200]}
    if isinstance(opened, S3TestEvent):
        return {"event": "s3:TestEvent"}
    if isinstance(opened, S3Event):
        record = opened.records[0]
        upload = upload_of(record)
        return {
            "event": record.event_name,
            "key": upload.key,
            "video_id": upload.video_id,
            "correlation_id": upload.correlation_id,
        }
    about = {"video_id": opened.video_id} if hasattr(opened, "video_id") else {"sub": getattr(opened, "sub", None)}
    return {"event": opened.event_type, **about, "correlation_id": opened.correlation_id}


def _summarise(exc: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
    return f"invalid {exc.title}: " + "; ".join(problems)


def sns_message(event: AnyVideoEvent) -> dict[str, Any]:
    """The SNS Publish arguments for a domain event (subscribers can filter on event_type).

    An event that reads well in words (`contracts.readable.operator_message`) is published with a message per
    protocol: e-mail subscribers get the subject and the text, every other subscriber (SQS) the same JSON as
    ever.
    """
    body = event.model_dump_json()
    attributes = {"event_type": {"DataType": "String", "StringValue": event.event_type}}
    readable = operator_message(event)
    if readable is None:
        return {"Message": body, "MessageAttributes": attributes}
    return {
        "Message": json.dumps({"default": body, "email": readable.text}),
        "MessageStructure": "json",
        "Subject": readable.subject,
        "MessageAttributes": attributes,
    }


def message_for(publish: Mapping[str, Any], protocol: str = "sqs") -> str:
    """The message a subscriber of `protocol` receives from an SNS Publish with these arguments."""
    if publish.get("MessageStructure") != "json":
        return str(publish["Message"])
    per_protocol = json.loads(publish["Message"])
    return str(per_protocol.get(protocol) or per_protocol["default"])


def published_event(publish: Mapping[str, Any]) -> dict[str, Any]:
    """The event (as JSON data) in the arguments of an SNS Publish that `sns_message` made."""
    return dict(json.loads(message_for(publish)))


def open_uploads(message: str | bytes | Mapping[str, Any], *, bucket: str) -> tuple[list[Upload], list[str]]:
    """The uploads (ObjectCreated in `bucket`) a delivery announces, and a note for each thing skipped.

    The `s3:TestEvent`, other event types and other buckets' objects are skipped, not
    failed: retrying them would never help. An unreadable message raises UnreadableMessage.
    """
    event = open_s3_event(message)
    if event is None:
        return [], ["s3:TestEvent acknowledged and skipped"]
    wanted, skipped = [], []
    for record in event.records:
        if not record.is_object_created:
            skipped.append(f"skipped {record.event_name} for s3://{record.bucket}/{record.key}")
        elif record.bucket != bucket:
            skipped.append(f"skipped s3://{record.bucket}/{record.key}: not the uploads bucket {bucket}")
        else:
            wanted.append(upload_of(record))
    return wanted, skipped
