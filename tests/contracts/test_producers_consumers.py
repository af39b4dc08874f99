"""Every producer's sample opens in every consumer, in every wrapping it is delivered in, reaches it through its
subscription's filter, and means something to it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from catalog.logic.ports import Status
from catalog.logic.records import CatalogDeps, record_failed, record_progress, record_transcoded
from contracts import (
    ChunkRef,
    DomainEvent,
    VideoReady,
    VideoTranscoded,
    VideoTranscodedV1,
    VideoTranscodeFailed,
    VideoTranscodeFailedV1,
    VideoTranscodeProgress,
    open_s3_event,
    open_video_event,
)
from contracts.delivery import message_for, sns_message
from infra import load
from tests.unit import shapes
from tests.unit.fakes import FakeCatalog, FakeProber, FakePublisher
from tests.unit.shapes import sns_envelope

KEY = "uploads/alice/vid00001/my holiday vidéo.mp4"
ENCODED_KEY = "uploads/alice/vid00001/my+holiday+vid%C3%A9o.mp4"
MOTO_ENCODED_KEY = "uploads%2Falice%2Fvid00001%2Fmy+holiday+vid%C3%A9o.mp4"
VIDEO_ID = "vid00001"
FILENAME = "my holiday vidéo.mp4"

# What the transcode workflow publishes on `video-events`, in every version still in flight (v1 messages may wait
# in a DLQ for 14 days). These are the contract's samples; the rebuilt transcoder's own output belongs here too.
TRANSCODER_EVENTS: dict[str, DomainEvent] = {
    "VideoTranscodeProgress": shapes.progress(VIDEO_ID, 1, 3, filename=FILENAME),
    "VideoTranscoded v2": shapes.transcoded_v2(VIDEO_ID, filename=FILENAME),
    "VideoTranscoded v2 without downloads": shapes.transcoded_v2(VIDEO_ID, downloads=[], filename=FILENAME),
    "VideoTranscoded v1": shapes.transcoded_v1(VIDEO_ID, filename=FILENAME),
    "VideoTranscodeFailed v2": shapes.failed(
        VIDEO_ID, chunk=ChunkRef(index=0, start_seconds=0, end_seconds=4), filename=FILENAME
    ),
    "VideoTranscodeFailed v1": shapes.failed(VIDEO_ID, version=1, filename=FILENAME),
}


def _workflow_failure() -> DomainEvent:
    """What the transcode workflow's own `fail` task publishes when a chunk gave up (no media tool involved)."""
    from pathlib import Path

    from contracts import S3EventRecord, upload_of
    from tests.unit.fakes import FakeStorage, FakeTombstones
    from transcode.logic.assembly import fail
    from transcode.logic.workflow import WorkflowConfig, WorkflowDeps

    upload = upload_of(S3EventRecord.model_validate(shapes.s3_record(ENCODED_KEY)))
    publisher = FakePublisher()
    deps = WorkflowDeps(FakeStorage(), publisher, None, FakeTombstones(), WorkflowConfig("out", Path("/nonexistent")))  # type: ignore[arg-type]
    chunk = {"index": 2, "start_seconds": 120, "end_seconds": 180}
    fail(upload, {"reason_code": "TRANSCODE_FAILED", "detail": "Conversion failed!", "chunk": chunk}, deps)
    (event,) = publisher.published
    return event


TRANSCODER_EVENTS["VideoTranscodeFailed (the workflow's fail task)"] = _workflow_failure()


def _catalog_output(transcoded: VideoTranscoded | VideoTranscodedV1) -> list[DomainEvent]:
    publisher = FakePublisher()
    deps = CatalogDeps(store=FakeCatalog(), prober=FakeProber(), publisher=publisher)
    record_transcoded(transcoded, deps)
    return list(publisher.published)


def _catalog_status_changes() -> dict[str, DomainEvent]:
    """What the catalog publishes as VideoStatusChanged: PROCESSING with progress, FAILED with its reason."""
    changes: dict[str, DomainEvent] = {}
    for name in ("VideoTranscodeProgress", "VideoTranscodeFailed v2"):
        publisher = FakePublisher()
        deps = CatalogDeps(store=FakeCatalog(), prober=FakeProber(), publisher=publisher)
        event = TRANSCODER_EVENTS[name]
        (record_progress if isinstance(event, VideoTranscodeProgress) else record_failed)(event, deps)  # type: ignore[operator]
        (change,) = publisher.published
        changes[f"VideoStatusChanged (from {name})"] = change
    return changes


def _produced() -> dict[str, DomainEvent]:
    produced = dict(TRANSCODER_EVENTS)
    for name, e in TRANSCODER_EVENTS.items():
        if isinstance(e, VideoTranscoded | VideoTranscodedV1):
            for out in _catalog_output(e):
                label = f"{out.event_type} {getattr(out, 'status', '')}".strip()
                produced[f"{label} (from {name})"] = out
    return produced | _catalog_status_changes()


PRODUCED = _produced()
DELIVERIES = {
    "SNS raw delivery (SQS body = message)": lambda message: message,
    "SNS envelope (SQS body = envelope)": lambda message: json.dumps(sns_envelope(message, topic="video-events")),
}


@pytest.mark.parametrize("delivery", list(DELIVERIES))
@pytest.mark.parametrize("sample", list(PRODUCED))
def test_domain_events_open_in_their_consumers(sample: str, delivery: str) -> None:
    # Given an event as its producer publishes it to SNS
    event = PRODUCED[sample]
    body = DELIVERIES[delivery](message_for(sns_message(event)))

    # When a consumer opens the SQS body
    opened = open_video_event(body)

    # Then it gets an equal model of the same version
    assert type(opened) is type(event)
    assert opened == event


def _catalog_subscription_filter() -> dict[str, list[str]]:
    topology = load("test")
    topic = topology.physical("transcode", "VideoEventsTopic")
    (subscription,) = [
        s
        for s in topology.subscriptions
        if s.topic_arn == topic and s.endpoint.endswith(":video24-metadata-test-video-events")
    ]
    return json.loads(subscription.attributes.get("FilterPolicy", "{}"))


def _catalog_events_subscriptions() -> dict[str, dict[str, list[str]]]:
    """Each subscription to `catalog-events` (queue name or e-mail) -> its filter policy."""
    topology = load("test")
    topic = topology.physical("metadata", "CatalogEventsTopic")
    return {
        s.endpoint.rsplit(":", 1)[-1]: json.loads(s.attributes.get("FilterPolicy", "{}"))
        for s in topology.subscriptions
        if s.topic_arn == topic
    }


# The consumers of catalog-events, by queue, and the event types each reads.
CATALOG_EVENTS_CONSUMERS = {
    "video24-upload-test-deletions": {"VideoDeleted"},
    "video24-transcode-test-deletions": {"VideoDeleted"},
    "video24-notify-test-notifier": {"VideoStatusChanged"},
    "video24-notify-test-mail": {"VideoStatusChanged"},  # READY and FAILED only (filtered on the message body)
}


def test_each_catalog_events_subscriber_gets_only_the_events_it_reads() -> None:
    # Given every subscription to catalog-events and the catalog's events
    subscriptions = _catalog_events_subscriptions()
    published = {e.event_type for e in PRODUCED.values() if e.event_type.startswith(("VideoReady", "VideoStatus"))}
    published |= {"VideoDeleted"}

    # When SNS filters each of them on its event_type attribute
    passes = {
        queue: {t for t in published if t in policy.get("event_type", [t])} for queue, policy in subscriptions.items()
    }

    # Then each consumer gets exactly the types it reads (a consumer that cannot parse one never sees it)
    assert passes == CATALOG_EVENTS_CONSUMERS
    assert all(set(policy) == {"event_type"} for q, policy in subscriptions.items() if q != "video24-notify-test-mail")
    assert subscriptions["video24-notify-test-mail"] == {
        "event_type": ["VideoStatusChanged"],
        "status": ["READY", "FAILED"],
    }


@pytest.mark.parametrize("sample", list(TRANSCODER_EVENTS))
def test_every_transcoder_event_passes_the_catalog_subscription_filter(sample: str) -> None:
    # Given the filter policy of the catalog's subscription to `video-events` (from its serverless.yml)
    policy = _catalog_subscription_filter()

    # When the transcoder publishes an event (SNS filters on its event_type message attribute)
    attributes = sns_message(TRANSCODER_EVENTS[sample])["MessageAttributes"]

    # Then the filter lets it through to the catalog's queue
    assert set(policy) <= {"event_type"}
    assert attributes["event_type"]["StringValue"] in policy.get(
        "event_type", [attributes["event_type"]["StringValue"]]
    )


EXPECTED_STATUS = {
    VideoTranscodeProgress: Status.PROCESSING,
    VideoTranscoded: Status.READY,
    VideoTranscodedV1: Status.READY,
    VideoTranscodeFailed: Status.FAILED,
    VideoTranscodeFailedV1: Status.FAILED,
}


@pytest.mark.parametrize("sample", list(TRANSCODER_EVENTS))
def test_the_catalog_applies_every_transcoder_event_it_opens(sample: str) -> None:
    # Given a transcoder event as the catalog's queue delivers it (inside the SNS envelope)
    event = TRANSCODER_EVENTS[sample]
    opened = open_video_event(json.dumps(sns_envelope(message_for(sns_message(event)), topic="video-events")))
    store = FakeCatalog()
    deps = CatalogDeps(store=store, prober=FakeProber(), publisher=FakePublisher())

    # When the catalog logic applies it
    if isinstance(opened, VideoTranscodeProgress):
        record_progress(opened, deps)
    elif isinstance(opened, VideoTranscoded | VideoTranscodedV1):
        record_transcoded(opened, deps)
    elif isinstance(opened, VideoTranscodeFailed | VideoTranscodeFailedV1):
        record_failed(opened, deps)
    else:
        pytest.fail(f"the catalog has no use for {type(opened).__name__}")

    # Then the video has the status that event means, and the title its upload key gives
    item = store.get(VIDEO_ID)
    assert item is not None
    assert (item.status, item.title) == (EXPECTED_STATUS[type(event)], FILENAME)


def test_the_published_video_ready_is_the_one_the_catalog_returns() -> None:
    # Given the catalog's VideoReady for a v2 VideoTranscoded
    ready = PRODUCED["VideoReady (from VideoTranscoded v2)"]

    # When it is opened from the wire
    opened = open_video_event(message_for(sns_message(ready)))

    # Then it names the video the transcoder produced, and the rungs of its stream
    assert isinstance(opened, VideoReady)
    assert opened.video_id == TRANSCODER_EVENTS["VideoTranscoded v2"].video_id == VIDEO_ID
    assert opened.title == FILENAME
    assert opened.renditions == ["720p", "480p"]


MOTO_BODY = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2024-05-01T12:00:00.123Z",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "uploads",
                "bucket": {"name": "uploads", "arn": "arn:aws:s3:::uploads"},
                "object": {"key": MOTO_ENCODED_KEY, "size": 5, "eTag": "d41d8cd98f00b204e9800998ecf8427e"},
            },
        }
    ]
}

AWS_BODY = {
    "Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2024-05-01T12:00:00.123Z",
            "eventName": "ObjectCreated:CompleteMultipartUpload",
            "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.7"},
            "responseElements": {
                "x-amz-request-id": "C3D13FE58DE4C810",
                "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "uploads",
                "bucket": {
                    "name": "uploads",
                    "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                    "arn": "arn:aws:s3:::uploads",
                },
                "object": {
                    "key": ENCODED_KEY,
                    "size": 5,
                    "eTag": "d41d8cd98f00b204e9800998ecf8427e-2",
                    "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
                    "sequencer": "0055AED6DCD90281E5",
                },
            },
        }
    ]
}


@pytest.mark.parametrize("wrapped", [False, True], ids=["raw", "in SNS envelope"])
@pytest.mark.parametrize("body", [MOTO_BODY, AWS_BODY], ids=["moto", "aws"])
def test_s3_events_open_with_the_decoded_key(body: dict, wrapped: bool) -> None:
    # Given an S3 notification body, as moto or as AWS sends it, maybe inside the uploads topic's envelope
    message = json.dumps(body)
    if wrapped:
        message = json.dumps(sns_envelope(message))

    # When an upload consumer opens it
    event = open_s3_event(message)

    # Then its record names the real object key, created in the uploads bucket
    assert event is not None
    (record,) = event.records
    assert record.key == KEY
    assert record.bucket == "uploads"
    assert record.is_object_created
    assert record.event_time == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
