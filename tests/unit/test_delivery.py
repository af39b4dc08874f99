"""open_delivery: one model for one message, whatever wrapping it arrives in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import (
    FailureReason,
    S3Event,
    S3TestEvent,
    SourceObject,
    UnreadableMessage,
    VideoTranscodeFailed,
    open_delivery,
    open_s3_event,
    open_video_event,
)
from contracts.delivery import MAX_MESSAGE_BYTES
from tests.unit.shapes import lambda_sns_event, s3_event, s3_record, s3_test_event, sns_envelope, wrappings

pytestmark = pytest.mark.service("shared")

S3_DOCUMENT = s3_event(s3_record("uploads/alice/vid00001/my+clip.mp4", etag="etag-1"))
FAILED = VideoTranscodeFailed(
    event_id="6f1c8c0e-0000-4000-8000-000000000001",
    occurred_at=datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC),
    correlation_id="C3D13FE58DE4C810",
    video_id="vid00001",
    owner="alice",
    source=SourceObject(bucket="uploads", key="uploads/alice/vid00001/my clip.mp4", version="etag-1", size_bytes=3),
    reason_code=FailureReason.NO_VIDEO_STREAM,
    reason="the file has no video stream",
)
FAILED_DOCUMENT = json.loads(FAILED.model_dump_json())

SAMPLES = {
    "S3 event": (S3_DOCUMENT, S3Event.model_validate(S3_DOCUMENT)),
    "VideoTranscodeFailed": (FAILED_DOCUMENT, FAILED),
}
WRAPPING_NAMES = list(wrappings({}))


@pytest.mark.parametrize("wrapping", WRAPPING_NAMES)
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_every_wrapping_opens_to_the_same_model(sample: str, wrapping: str) -> None:
    # Given one message in one of the wrappings it can arrive in
    document, expected = SAMPLES[sample]
    message = wrappings(document)[wrapping]

    # When it is opened
    opened = open_delivery(message)

    # Then it is the same model as the unwrapped message
    assert type(opened) is type(expected)
    assert opened == expected


def test_the_s3_event_opens_with_its_decoded_key() -> None:
    # Given an S3 event wrapped as SNS-in-SQS
    body = wrappings(S3_DOCUMENT)["SNS-in-SQS body"]

    # When it is opened as an S3 event
    event = open_s3_event(body)

    # Then its one record names the real object
    assert event is not None
    assert [r.key for r in event.records] == ["uploads/alice/vid00001/my clip.mp4"]


@pytest.mark.parametrize("wrapping", ["raw JSON string", "dict", "SNS envelope", "SNS-in-SQS body", "Lambda SNS event"])
def test_s3_test_event_opens_and_is_skipped(wrapping: str) -> None:
    # Given the s3:TestEvent S3 sends when a notification is configured
    message = wrappings(s3_test_event())[wrapping]

    # When it is opened
    opened = open_delivery(message)
    as_s3_event = open_s3_event(message)

    # Then it is recognised as the test event, and consumers of S3 events get None
    assert isinstance(opened, S3TestEvent)
    assert opened.bucket == "uploads"
    assert as_s3_event is None


def _without_object_key() -> dict[str, Any]:
    record = s3_record()
    del record["s3"]["object"]["key"]
    return s3_event(record)


def _oversized_but_otherwise_valid() -> str:
    document = s3_event(s3_record())
    document["padding"] = "x" * MAX_MESSAGE_BYTES
    return json.dumps(document)


UNREADABLE = {
    "not JSON": "this is not JSON {",
    "a JSON list": json.dumps([S3_DOCUMENT]),
    "an empty object": "{}",
    "S3 event with no records": json.dumps({"Records": []}),
    "record without s3.object.key": json.dumps(_without_object_key()),
    "unknown event_type": json.dumps(FAILED_DOCUMENT | {"event_type": "VideoDeleted"}),
    "schema_version 3 (a future one)": json.dumps(FAILED_DOCUMENT | {"schema_version": 3}),
    "a v2 body that says v1": json.dumps(FAILED_DOCUMENT | {"schema_version": 1}),
    "domain event with an extra field": json.dumps(FAILED_DOCUMENT | {"retries": 3}),
    "body over 256 KiB": _oversized_but_otherwise_valid(),
}


@pytest.mark.parametrize("message", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_unreadable_messages_raise_unreadable_message(message: str) -> None:
    # Given a message this system cannot understand
    # When it is opened
    # Then UnreadableMessage is raised (any other exception type fails this test)
    with pytest.raises(UnreadableMessage):
        open_delivery(message)


@pytest.mark.parametrize("wrap", [json.dumps, lambda d: json.dumps(sns_envelope(json.dumps(d)))], ids=["raw", "SNS"])
def test_unreadable_inside_an_sns_envelope_is_still_unreadable(wrap) -> None:
    # Given a domain event of an unknown version, raw or inside an SNS envelope
    message = wrap(FAILED_DOCUMENT | {"schema_version": 3})

    # When it is opened
    # Then UnreadableMessage is raised
    with pytest.raises(UnreadableMessage):
        open_delivery(message)


def test_open_video_event_refuses_an_s3_event() -> None:
    # Given an S3 notification delivered to a consumer of video events
    body = json.dumps(sns_envelope(json.dumps(S3_DOCUMENT)))

    # When it is opened as a video event
    # Then it is unreadable for that consumer
    with pytest.raises(UnreadableMessage, match="expected a video event"):
        open_video_event(body)


def test_open_s3_event_refuses_a_domain_event() -> None:
    # Given a domain event delivered to a consumer of S3 events
    body = FAILED.model_dump_json()

    # When it is opened as an S3 event
    # Then it is unreadable for that consumer
    with pytest.raises(UnreadableMessage, match="expected an S3 event"):
        open_s3_event(body)


# Hostile shapes beyond the list above: the contract is "UnreadableMessage, never another exception type".
HOSTILE = {
    "SNS envelope whose Message is a number": json.dumps(sns_envelope("x") | {"Message": 5}),
    "SNS envelope whose Message is null": json.dumps(sns_envelope("x") | {"Message": None}),
    "Lambda SNS record whose Sns is a string": json.dumps({"Records": [{"EventSource": "aws:sns", "Sns": "oops"}]}),
    "JSON nested 100 000 deep (under 256 KiB)": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("message", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_shapes_raise_unreadable_message_not_a_crash(message: str) -> None:
    # Given a malformed delivery that is small enough to reach a consumer
    assert len(message.encode()) <= MAX_MESSAGE_BYTES

    # When it is opened
    # Then UnreadableMessage is raised, not TypeError, AttributeError or RecursionError
    with pytest.raises(UnreadableMessage):
        open_delivery(message)


def test_size_limit_counts_utf8_bytes_not_characters() -> None:
    # Given a valid S3 event whose body is over 256 KiB in UTF-8 but has fewer characters than that
    body = json.dumps(s3_event(s3_record("uploads/alice/vid00001/" + "日" * 90_000 + ".mp4")), ensure_ascii=False)
    assert len(body) < MAX_MESSAGE_BYTES < len(body.encode())

    # When it is opened
    # Then it is refused like any other message over the SNS/SQS limit
    with pytest.raises(UnreadableMessage, match="exceeds"):
        open_delivery(body)


def test_lambda_sns_event_with_an_s3_test_event_is_skipped() -> None:
    # Given the S3 test event published to a topic that invokes a Lambda directly
    event = lambda_sns_event(sns_envelope(json.dumps(s3_test_event())))

    # When it is opened as an S3 event
    opened = open_s3_event(event)

    # Then it is skipped
    assert opened is None
